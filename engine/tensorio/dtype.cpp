// Element types shared by safetensors and .npy.
#include "tastemaker/tensorio.h"
#include "tensorio/tensor_math.h"

namespace tmk {

namespace {

struct DTypeEntry {
    DType dtype;
    const char* name;
    size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    { DType::F32, "F32", 4 },
    { DType::F16, "F16", 2 },
    { DType::BF16, "BF16", 2 },
    { DType::I64, "I64", 8 },
    { DType::I32, "I32", 4 },
    { DType::U8, "U8", 1 },
    { DType::Bool, "BOOL", 1 },
};

const DTypeEntry& entryOf(DType dtype)
{
    for (const DTypeEntry& entry : kDTypes) {
        if (entry.dtype == dtype) return entry;
    }
    return kDTypes[0]; // unreachable for valid enum values
}

int64_t numelOrZero(const std::vector<int64_t>& shape)
{
    int64_t numel = 0;
    return tensorio::checkedNumel(shape, &numel) ? numel : 0;
}

} // namespace

const char* dtypeName(DType dtype)
{
    return entryOf(dtype).name;
}

size_t dtypeSize(DType dtype)
{
    return entryOf(dtype).size;
}

bool parseDType(const std::string& name, DType* out)
{
    for (const DTypeEntry& entry : kDTypes) {
        if (name == entry.name) {
            *out = entry.dtype;
            return true;
        }
    }
    return false;
}

int64_t TensorInfo::numel() const
{
    return numelOrZero(shape);
}

int64_t NpyArray::numel() const
{
    return numelOrZero(shape);
}

} // namespace tmk
