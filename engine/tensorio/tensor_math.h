// Internal helpers of tensorio: overflow-checked tensor sizes and shape formatting for error messages.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tastemaker/tensorio.h"

namespace tmk::tensorio {

// The number of elements of `shape` ([] is a scalar: 1). False when a dimension is negative or the
// product does not fit in int64.
inline bool checkedNumel(const std::vector<int64_t>& shape, int64_t* numel)
{
    int64_t product = 1;
    for (int64_t dim : shape) {
        if (dim < 0 || __builtin_mul_overflow(product, dim, &product)) return false;
    }
    *numel = product;
    return true;
}

// numel * dtypeSize, checked; false on overflow (of int64 numel or of uint64 bytes).
inline bool checkedByteSize(const std::vector<int64_t>& shape, DType dtype, uint64_t* nbytes)
{
    int64_t numel = 0;
    if (!checkedNumel(shape, &numel)) return false;
    return !__builtin_mul_overflow(static_cast<uint64_t>(numel), static_cast<uint64_t>(dtypeSize(dtype)), nbytes);
}

// "[3, 2]", the safetensors/JSON spelling of a shape.
inline std::string shapeString(const std::vector<int64_t>& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) text += ", ";
        text += std::to_string(shape[i]);
    }
    return text + "]";
}

// Quotes a name from a file for an error message, shortened so a hostile file cannot make a huge one.
inline std::string quoted(const std::string& name)
{
    constexpr size_t kMaxShown = 120;
    if (name.size() <= kMaxShown) return "'" + name + "'";
    return "'" + name.substr(0, kMaxShown) + "...'";
}

} // namespace tmk::tensorio
