// The decoding step's matrix-vector products on the CPU (torch-free): y[r] = W x[r] for 1-4 rows (CFG gives 2)
// over output rows [first, last), each row of W read once for all the x's. W is float32 or bfloat16 (bits),
// x and y float32; each dot product accumulates in float32 in 32 lanes, in a fixed order, so the result is the
// same on every run of one build on one CPU. Compiled for AVX-512, AVX2+FMA and the x86-64 baseline; the best the
// CPU has is used. docs/performance.md, "A step near the floor".
#pragma once

#include <cstdint>

namespace tmk::gemv {

constexpr int kMaxRows = 4;

// The instruction sets the kernels are compiled for, in order. All sum the same products in the same lanes and
// order; AVX2 and AVX-512 fuse each multiply-add, so they give the same bits, while the baseline rounds each
// product and may differ from them in the last bits.
enum class Isa { Baseline, Avx2, Avx512 };
Isa bestIsa(); // the best this CPU has: what the functions without an Isa use

// The same on a given instruction set (capped at bestIsa()), for tests that compare them.
void rowsTimesF32(
    Isa isa, const float* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last);
void rowsTimesBf16(Isa isa, const uint16_t* w, int64_t in, int rows, const float* const* x, float* const* y,
    int64_t first, int64_t last);

void rowsTimesF32(
    const float* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last);
void rowsTimesBf16(
    const uint16_t* w, int64_t in, int rows, const float* const* x, float* const* y, int64_t first, int64_t last);

// bf16 weights and bf16 rows (a bf16 model's activations) where the CPU has AVX-512-BF16: each pair of products
// is summed into float32 by one instruction (vdpbf16ps: exact products, round to nearest, denormals as zero).
// Call only when hasBf16DotProduct(); elsewhere widen the rows and use rowsTimesBf16.
bool hasBf16DotProduct();
// Whether bf16 weights of this dtype on this device should be multiplied with float32 activations: a bf16 model
// on a CPU without the bf16 dot product, where libtorch emulates bf16 arithmetic (the decoder's autocast, T5's
// widened products).
bool widensBf16Products(bool bf16, bool onCpu);
void rowsTimesBf16Dot(
    const uint16_t* w, int64_t in, int rows, const uint16_t* const* x, float* const* y, int64_t first, int64_t last);

} // namespace tmk::gemv
