// libFuzzer target: parseNpy on arbitrary bytes must never crash, and an accepted array must hold
// exactly numel * itemsize bytes. Built by run_fuzz.sh.
#include <cstddef>
#include <cstdint>

#include "tastemaker/tensorio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    tmk::Expected<tmk::NpyArray> array = tmk::parseNpy(bytes, "fuzz.npy");
    if (!array) {
        volatile size_t length = array.error().message.size();
        (void)length;
        return 0;
    }
    if (array->data.size() != static_cast<uint64_t>(array->numel()) * tmk::dtypeSize(array->dtype)) __builtin_trap();
    unsigned checksum = 0;
    for (std::byte b : array->data) checksum += static_cast<unsigned>(b);
    volatile unsigned sink = checksum;
    (void)sink;
    // What we read, we can write back, and read again to the same array.
    const std::vector<std::byte> encoded = tmk::encodeNpy(array->dtype, array->shape, array->data);
    if (!encoded.empty()) {
        tmk::Expected<tmk::NpyArray> again = tmk::parseNpy(encoded, "again.npy");
        if (!again || again->shape != array->shape || again->data != array->data) __builtin_trap();
    }
    return 0;
}
