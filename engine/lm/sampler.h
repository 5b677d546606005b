// Token selection for MusicGen: greedy, or temperature -> top-k -> top-p (nucleus) -> softmax ->
// multinomial draw from a seeded generator owned by the sampler (one per run). The same seed, build and
// device give the same tokens. Classifier-free guidance is applied before this (generate.cpp).
#pragma once

#include <cstdint>
#include <memory>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"
#include "tastemaker/sampling.h"

namespace tmk {

class Sampler {
public:
    // A generator for `device` seeded with params.seed (CPU generator on the CPU, the device's own otherwise).
    Sampler(const SamplingParams& params, const at::Device& device);
    ~Sampler();
    Sampler(Sampler&&) noexcept;
    Sampler& operator=(Sampler&&) noexcept;

    // scores [N, V] (CFG already applied) -> token ids [N] int64 on the scores' device.
    at::Tensor sample(const at::Tensor& scores);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// The filtering steps, exposed for tests. Each takes and returns float scores [N, V]; removed entries -inf.
at::Tensor applyTopK(const at::Tensor& scores, int64_t topK);
at::Tensor applyTopP(const at::Tensor& scores, double topP);

} // namespace tmk
