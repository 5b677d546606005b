// libFuzzer target: SafetensorsFile::fromBuffer on arbitrary bytes must never crash, and every tensor
// it accepts must lie inside the buffer (ASan checks each byte read below). Built by run_fuzz.sh.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "tastemaker/tensorio.h"

namespace {

// What we read, we can write back (unless the writer refuses, e.g. an empty tensor name), and read again
// to the same tensors.
void roundTrip(const tmk::SafetensorsFile& file)
{
    std::vector<tmk::TensorView> views;
    for (const tmk::TensorInfo& info : file.tensors())
        views.push_back({ info.name, info.dtype, info.shape, file.data(info) });
    tmk::Expected<std::vector<std::byte>> encoded = tmk::encodeSafetensors(views, file.metadata());
    if (!encoded) return;
    tmk::Expected<tmk::SafetensorsFile> again = tmk::SafetensorsFile::fromBuffer(*encoded, "again.safetensors");
    if (!again || again->tensors().size() != file.tensors().size() || again->metadata() != file.metadata())
        __builtin_trap();
    for (const tmk::TensorInfo& info : file.tensors()) {
        const tmk::TensorInfo* copy = again->find(info.name);
        if (!copy || copy->dtype != info.dtype || copy->shape != info.shape) __builtin_trap();
        const std::span<const std::byte> a = file.data(info), b = again->data(*copy);
        if (!std::equal(a.begin(), a.end(), b.begin(), b.end())) __builtin_trap();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    tmk::Expected<tmk::SafetensorsFile> file = tmk::SafetensorsFile::fromBuffer(bytes, "fuzz.safetensors");
    if (!file) {
        volatile size_t length = file.error().message.size();
        (void)length;
        return 0;
    }
    unsigned checksum = 0;
    for (const tmk::TensorInfo& info : file->tensors()) {
        const std::span<const std::byte> tensor = file->data(info);
        if (tensor.size() != info.nbytes
            || static_cast<uint64_t>(info.numel()) * tmk::dtypeSize(info.dtype) != info.nbytes)
            __builtin_trap();
        if (file->find(info.name) == nullptr) __builtin_trap();
        for (std::byte b : tensor) checksum += static_cast<unsigned>(b);
    }
    volatile unsigned sink = checksum;
    (void)sink;
    roundTrip(*file);
    return 0;
}
