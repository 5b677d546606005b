// Text-conditioned code generation with MusicGen (Hugging Face `generate`, mono; CONVENTIONS.md §3):
// delay pattern, one decoder step per token with a KV cache, classifier-free guidance as one batched
// [cond; uncond] forward, then the sampler. A job: params in, codes out, progress through callbacks,
// cancellation polled at every step, every exception turned into an Error at this boundary.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lm/decoder.h"
#include "lm/sampler.h"
#include "tastemaker/cancel.h"
#include "tastemaker/error.h"

namespace tmk {

struct GenerateCallbacks {
    // After each decoder step: step in 1..totalSteps (totalSteps = frames + K - 1).
    std::function<void(int64_t step, int64_t totalSteps)> onStep;
    // As soon as all K codebooks of `frame` are final, in frame order, once per frame.
    // codes: [B*K] for that frame, entry b*K + k.
    std::function<void(int64_t frame, const std::vector<int64_t>& codes)> onFrame;
    const CancelToken* cancel = nullptr; // polled before every step; cancelling returns ErrorCode::Cancelled
};

enum class DecodePath {
    KvCache, // one token per step against the preallocated cache (the real path)
    Recompute, // slow reference: the whole prefix again every step without a cache (tests only)
};

// Debugging and test hooks; the defaults are the normal run.
struct GenerateTrace {
    DecodePath path = DecodePath::KvCache;
    // Per step, the scores the sampler sees: [B*K, V] float32 after CFG, on the model's device.
    std::function<void(int64_t step, const at::Tensor& scores)> onScores;
};

// The most frames one run can produce: max_position_embeddings - K + 1.
int64_t maxGenerationFrames(const DecoderConfig& config);

// t5States [B, S, Dt] (the T5 encoder's last hidden state), mask [B, S] (1 = token) ->
// codes [B, K, frames] int64 on the CPU with the delay undone.
Expected<at::Tensor> generateCodes(const MusicgenDecoder& decoder, const at::Tensor& t5States, const at::Tensor& mask,
    int64_t frames, const SamplingParams& params, const GenerateCallbacks& callbacks);
Expected<at::Tensor> generateCodes(const MusicgenDecoder& decoder, const at::Tensor& t5States, const at::Tensor& mask,
    int64_t frames, const SamplingParams& params, const GenerateCallbacks& callbacks, const GenerateTrace& trace);

} // namespace tmk
