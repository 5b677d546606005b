#include "lm/gemv.h"

#include <cstring>
#include <immintrin.h>

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

// Two accumulators a row, 64 weights a turn; the tail is widened and added in float32.
template <int R>
__attribute__((target("avx512f,avx512bf16"))) void dotKernel(
    const uint16_t* w, int64_t in, const uint16_t* const* x, float* const* y, int64_t first, int64_t last)
{
    for (int64_t j = first; j < last; ++j) {
        const uint16_t* row = w + j * in;
        __m512 acc[R][2];
        for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        int64_t k = 0;
        for (; k + 64 <= in; k += 64) {
            const __m512bh a = (__m512bh)_mm512_loadu_si512(row + k);
            const __m512bh b = (__m512bh)_mm512_loadu_si512(row + k + 32);
            for (int r = 0; r < R; ++r) {
                acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, (__m512bh)_mm512_loadu_si512(x[r] + k));
                acc[r][1] = _mm512_dpbf16_ps(acc[r][1], b, (__m512bh)_mm512_loadu_si512(x[r] + k + 32));
            }
        }
        for (int r = 0; r < R; ++r) {
            float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]));
            for (int64_t t = k; t < in; ++t) sum += widen(row[t]) * widen(x[r][t]);
            y[r][j] = sum;
        }
    }
}

} // namespace

bool hasBf16DotProduct()
{
    static const bool has = __builtin_cpu_supports("avx512bf16");
    return has;
}

void rowsTimesBf16Dot(
    const uint16_t* w, int64_t in, int rows, const uint16_t* const* x, float* const* y, int64_t first, int64_t last)
{
    switch (rows) {
    case 1:
        return dotKernel<1>(w, in, x, y, first, last);
    case 2:
        return dotKernel<2>(w, in, x, y, first, last);
    case 3:
        return dotKernel<3>(w, in, x, y, first, last);
    default:
        return dotKernel<4>(w, in, x, y, first, last);
    }
}

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
