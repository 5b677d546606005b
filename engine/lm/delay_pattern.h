// MusicGen's delay pattern (CONVENTIONS.md §3): codebook k is shifted right by k + 1 positions behind a
// bos/pad token, so that one decoder step predicts frame t of codebook 0 together with frame t - k of
// codebook k. Rows are b*K + k throughout. All functions work on any device and keep it.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"

namespace tmk {

// The pattern mask [B*K, maxLength] int64: -1 where the model's prediction is used, `padId` where the
// position is forced (positions 0..k of row k, and the last K - 1 - k positions). CPU.
at::Tensor buildDelayPatternMask(int64_t batch, int64_t numCodebooks, int64_t maxLength, int64_t padId);

// ids [B*K, L] with L <= mask.size(1) -> ids with the forced positions of `mask` written over them.
at::Tensor applyDelayPattern(const at::Tensor& ids, const at::Tensor& mask);

// ids [B*K, L] -> codes [B, K, frames]: every pad id removed from each row. Every row must hold the same
// number of pads (Mismatch otherwise, e.g. for a sequence that was not built with the delay pattern).
Expected<at::Tensor> undoDelayPattern(const at::Tensor& ids, int64_t numCodebooks, int64_t padId);

// Teacher-forcing input for known codes [B, K, T] -> ids [B*K, T + K], row k = [pad]*(k+1) + codes[k] +
// [pad]*(K-1-k) (bos = pad in MusicGen). Position s of row k then predicts codes[k][s - k].
at::Tensor delayCodesForTeacherForcing(const at::Tensor& codes, int64_t padId);

// The position of frame t of codebook k in a delayed row: t + k + 1.
inline int64_t delayedPosition(int64_t frame, int64_t codebook)
{
    return frame + codebook + 1;
}

} // namespace tmk
