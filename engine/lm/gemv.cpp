#include "lm/gemv.h"

#include <cstring>

// The 8-lane helpers below are always inlined into the target_clones kernels, so no vector crosses a call:
// GCC's warning about the AVX calling convention does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace tmk::gemv {

namespace {

constexpr int kLanes = 16;
using Floats = float __attribute__((vector_size(4 * kLanes)));
using Halves = uint16_t __attribute__((vector_size(2 * kLanes)));
using Words = uint32_t __attribute__((vector_size(4 * kLanes)));

[[gnu::always_inline]] inline Floats load(const float* p)
{
    Floats v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

[[gnu::always_inline]] inline Floats load(const uint16_t* p) // bfloat16 bits -> float32 (exact)
{
    Halves h;
    std::memcpy(&h, p, sizeof h);
    const Words words = __builtin_convertvector(h, Words) << 16;
    Floats v;
    std::memcpy(&v, &words, sizeof v);
    return v;
}

[[gnu::always_inline]] inline float widen(float v)
{
    return v;
}
[[gnu::always_inline]] inline float widen(uint16_t v)
{
    const uint32_t bits = static_cast<uint32_t>(v) << 16;
    float f = 0.0f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

template <typename T, int R>
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void kernel(
    const T* w, int64_t in, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    for (int64_t j = first; j < last; ++j) {
        const T* row = w + j * in;
        Floats acc[R][2] = {};
        int64_t k = 0;
        for (; k + 2 * kLanes <= in; k += 2 * kLanes) {
            const Floats a = load(row + k), b = load(row + k + kLanes);
            for (int r = 0; r < R; ++r) {
                acc[r][0] += a * load(x[r] + k);
                acc[r][1] += b * load(x[r] + k + kLanes);
            }
        }
        for (int r = 0; r < R; ++r) {
            const Floats both = acc[r][0] + acc[r][1];
            float sum = 0.0f;
            for (int lane = 0; lane < kLanes; ++lane) sum += both[lane];
            for (int64_t t = k; t < in; ++t) sum += widen(row[t]) * x[r][t];
            y[r][j] = sum;
        }
    }
}

template <typename T>
void dispatch(const T* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    switch (rows) {
    case 1:
        return kernel<T, 1>(w, in, x, y, first, last);
    case 2:
        return kernel<T, 2>(w, in, x, y, first, last);
    case 3:
        return kernel<T, 3>(w, in, x, y, first, last);
    default:
        return kernel<T, 4>(w, in, x, y, first, last);
    }
}

} // namespace

void rowsTimesF32(
    const float* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    dispatch(w, in, rows, x, y, first, last);
}

void rowsTimesBf16(
    const uint16_t* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    dispatch(w, in, rows, x, y, first, last);
}

} // namespace tmk::gemv
