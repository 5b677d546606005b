// convertCheckpoint (tastemaker/tensorio.h): a checkpoint's floating matrices rewritten in another dtype.
#include <cstring>

#include "tastemaker/tensorio.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

bool isFloating(DType dtype)
{
    return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

float halfToFloat(uint16_t h)
{
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, bits = 0;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13); // inf, nan
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa != 0) { // subnormal: normalise
        exponent = 113;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --exponent;
        }
        bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    } else {
        bits = sign;
    }
    float value = 0.0f;
    std::memcpy(&value, &bits, 4);
    return value;
}

float readFloat(const std::byte* data, DType dtype, size_t i)
{
    if (dtype == DType::F32) {
        float value = 0.0f;
        std::memcpy(&value, data + 4 * i, 4);
        return value;
    }
    uint16_t half = 0;
    std::memcpy(&half, data + 2 * i, 2);
    if (dtype == DType::F16) return halfToFloat(half);
    const uint32_t bits = static_cast<uint32_t>(half) << 16;
    float value = 0.0f;
    std::memcpy(&value, &bits, 4);
    return value;
}

// float -> bfloat16 as c10::BFloat16 rounds: to nearest, ties to even; any NaN -> 0x7fc0.
uint16_t toBfloat16(float value)
{
    uint32_t u = 0;
    std::memcpy(&u, &value, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;
    return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

} // namespace

Expected<ConvertStats> convertCheckpoint(
    const fs::path& in, const fs::path& outFile, DType dtype, const std::vector<std::string>& keepPrefixes)
{
    if (dtype != DType::F32 && dtype != DType::BF16)
        return Error { ErrorCode::InvalidArgument, "A checkpoint can be converted to F32 or BF16 only." };
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(in);
    if (!checkpoint) return checkpoint.error();
    ConvertStats stats;
    std::vector<std::vector<std::byte>> converted; // owns the new bytes while they are written
    std::vector<TensorView> views;
    converted.reserve(checkpoint->names().size());
    for (const std::string& name : checkpoint->names()) {
        const SafetensorsCheckpoint::Entry entry = checkpoint->find(name);
        const TensorInfo& info = *entry.info;
        TensorView view { name, info.dtype, info.shape, entry.data() };
        bool keep = !isFloating(info.dtype) || info.shape.size() < 2 || info.dtype == dtype;
        for (const std::string& prefix : keepPrefixes) keep = keep || name.rfind(prefix, 0) == 0;
        stats.bytesIn += info.nbytes;
        if (!keep) {
            const auto count = static_cast<size_t>(info.numel());
            std::vector<std::byte> bytes(count * dtypeSize(dtype));
            for (size_t i = 0; i < count; ++i) {
                const float value = readFloat(entry.data().data(), info.dtype, i);
                if (dtype == DType::F32) {
                    std::memcpy(bytes.data() + 4 * i, &value, 4);
                } else {
                    const uint16_t half = toBfloat16(value);
                    std::memcpy(bytes.data() + 2 * i, &half, 2);
                }
            }
            converted.push_back(std::move(bytes));
            view.dtype = dtype;
            view.data = converted.back();
            ++stats.tensorsConverted;
        }
        stats.bytesOut += view.data.size();
        views.push_back(std::move(view));
    }
    std::map<std::string, std::string> metadata;
    if (!checkpoint->files().empty()) metadata = checkpoint->files().front().metadata();
    metadata["tastemaker_dtype"] = dtypeName(dtype);
    TMK_TRY(writeSafetensors(outFile, views, metadata));
    return stats;
}

} // namespace tmk
