#include "lm/gemv.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>

// The vector helpers below are always inlined into the per-instruction-set kernels, so no vector crosses a call:
// GCC's warning about the AVX calling convention does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace tmk::gemv {

namespace {

constexpr int kLanes = 16; // the accumulators' lanes: 2 x 16 a row, the same on every instruction set

// Vectors of L lanes: 16 (AVX-512), 8 (AVX2) or 4 (SSE2). A 16-lane accumulator is held as 16 / L of them, so each
// lane sums the same products in the same order on every instruction set (gemv.h: Isa). (GCC lowers a 64-byte vector
// type on AVX2 through the stack: that kernel streamed weights at a third of the machine's read bandwidth.)
template <int L> struct Vec;
template <> struct Vec<16> {
    using Floats = float __attribute__((vector_size(64)));
    using Halves = uint16_t __attribute__((vector_size(32)));
    using Words = uint32_t __attribute__((vector_size(64)));
};
template <> struct Vec<8> {
    using Floats = float __attribute__((vector_size(32)));
    using Halves = uint16_t __attribute__((vector_size(16)));
    using Words = uint32_t __attribute__((vector_size(32)));
};
template <> struct Vec<4> {
    using Floats = float __attribute__((vector_size(16)));
    using Halves = uint16_t __attribute__((vector_size(8)));
    using Words = uint32_t __attribute__((vector_size(16)));
};

template <int L> [[gnu::always_inline]] inline typename Vec<L>::Floats load(const float* p)
{
    typename Vec<L>::Floats v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <int L> [[gnu::always_inline]] inline typename Vec<L>::Floats load(const uint16_t* p) // bf16 -> f32, exact
{
    typename Vec<L>::Halves h;
    std::memcpy(&h, p, sizeof h);
    const typename Vec<L>::Words words = __builtin_convertvector(h, typename Vec<L>::Words) << 16;
    typename Vec<L>::Floats v;
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

// y[r][j] for rows j in [first, last): two 16-lane accumulators a row of x (32 weights a turn), summed lane by lane
// and then across the lanes in order; the tail in float32. The turn's loops are unrolled so that the accumulators
// stay in registers (at -O2, GCC kept them in memory: 12 instead of 17 GB/s here).
template <int L, typename T, int R>
[[gnu::always_inline]] inline void body(
    const T* w, int64_t in, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    constexpr int P = kLanes / L; // vectors per accumulator
    for (int64_t j = first; j < last; ++j) {
        const T* row = w + j * in;
        typename Vec<L>::Floats acc[R][2][P] = {};
        int64_t k = 0;
        for (; k + 2 * kLanes <= in; k += 2 * kLanes)
#pragma GCC unroll 2
            for (int h = 0; h < 2; ++h)
#pragma GCC unroll 4
                for (int p = 0; p < P; ++p) {
                    const int64_t at = k + h * kLanes + p * L;
                    const typename Vec<L>::Floats a = load<L>(row + at);
#pragma GCC unroll 4
                    for (int r = 0; r < R; ++r) acc[r][h][p] += a * load<L>(x[r] + at);
                }
        for (int r = 0; r < R; ++r) {
            float sum = 0.0f;
            for (int p = 0; p < P; ++p) {
                const typename Vec<L>::Floats both = acc[r][0][p] + acc[r][1][p];
                for (int lane = 0; lane < L; ++lane) sum += both[lane];
            }
            for (int64_t t = k; t < in; ++t) sum += widen(row[t]) * x[r][t];
            y[r][j] = sum;
        }
    }
}

template <typename T, int R>
__attribute__((target("arch=x86-64-v4"))) void kernel512(
    const T* w, int64_t in, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    body<16, T, R>(w, in, x, y, first, last);
}
template <typename T, int R>
__attribute__((target("arch=x86-64-v3"))) void kernel256(
    const T* w, int64_t in, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    body<8, T, R>(w, in, x, y, first, last);
}
template <typename T, int R>
void kernel128(const T* w, int64_t in, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    body<4, T, R>(w, in, x, y, first, last);
}

template <typename T, int R>
void kernel(Isa isa, const T* w, int64_t in, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    switch (isa) {
    case Isa::Avx512:
        return kernel512<T, R>(w, in, x, y, first, last);
    case Isa::Avx2:
        return kernel256<T, R>(w, in, x, y, first, last);
    default:
        return kernel128<T, R>(w, in, x, y, first, last);
    }
}

template <typename T>
void dispatch(
    Isa isa, const T* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    switch (rows) {
    case 1:
        return kernel<T, 1>(isa, w, in, x, y, first, last);
    case 2:
        return kernel<T, 2>(isa, w, in, x, y, first, last);
    case 3:
        return kernel<T, 3>(isa, w, in, x, y, first, last);
    default:
        return kernel<T, 4>(isa, w, in, x, y, first, last);
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

bool widensBf16Products(bool bf16, bool onCpu)
{
    return bf16 && onCpu && !hasBf16DotProduct();
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

Isa bestIsa()
{
    static const Isa found = __builtin_cpu_supports("x86-64-v4") ? Isa::Avx512
        : __builtin_cpu_supports("x86-64-v3")                    ? Isa::Avx2
                                                                 : Isa::Baseline;
    return found;
}

void rowsTimesF32(
    Isa isa, const float* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    dispatch(std::min(isa, bestIsa()), w, in, rows, x, y, first, last);
}

void rowsTimesBf16(Isa isa, const uint16_t* w, int64_t in, int rows, const float* const* x, float* const* y,
    int64_t first, int64_t last)
{
    dispatch(std::min(isa, bestIsa()), w, in, rows, x, y, first, last);
}

void rowsTimesF32(
    const float* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    dispatch(bestIsa(), w, in, rows, x, y, first, last);
}

void rowsTimesBf16(
    const uint16_t* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last)
{
    dispatch(bestIsa(), w, in, rows, x, y, first, last);
}

} // namespace tmk::gemv
