#include "lm/sampler.h"

#include <cmath>
#include <limits>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/multinomial.h>

namespace tmk {

at::Tensor applyTopK(const at::Tensor& scores, int64_t topK)
{
    if (topK <= 0 || topK >= scores.size(-1)) return scores;
    at::Tensor kth = std::get<0>(scores.topk(topK, -1)).narrow(-1, topK - 1, 1); // [N, 1]
    return scores.masked_fill(scores < kth, -std::numeric_limits<float>::infinity());
}

at::Tensor applyTopP(const at::Tensor& scores, double topP)
{
    if (topP <= 0.0 || topP >= 1.0) return scores;
    auto [sorted, order] = scores.sort(-1, /*descending=*/false); // [N, V], ascending
    at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
    at::Tensor removeSorted = cumulative <= (1.0 - topP);
    removeSorted.narrow(-1, scores.size(-1) - 1, 1).fill_(false); // keep at least the best token
    at::Tensor remove = removeSorted.scatter(-1, order, removeSorted);
    return scores.masked_fill(remove, -std::numeric_limits<float>::infinity());
}

struct Sampler::Impl {
    SamplingParams params;
    at::Generator generator;
};

namespace {

at::Generator seededGenerator(uint64_t seed, const at::Device& device)
{
    if (device.is_cpu()) return at::make_generator<at::CPUGeneratorImpl>(seed);
    at::Generator global = at::globalContext().defaultGenerator(device); // shares the implementation
    at::Generator generator;
    {
        std::lock_guard<std::mutex> lock(global.mutex());
        generator = global.clone();
    }
    generator.set_current_seed(seed);
    return generator;
}

} // namespace

Sampler::Sampler(const SamplingParams& params, const at::Device& device)
    : m_impl(
        std::make_unique<Impl>(Impl { params, params.greedy ? at::Generator() : seededGenerator(params.seed, device) }))
{
}

Sampler::~Sampler() = default;
Sampler::Sampler(Sampler&&) noexcept = default;
Sampler& Sampler::operator=(Sampler&&) noexcept = default;

at::Tensor Sampler::sample(const at::Tensor& scores)
{
    const SamplingParams& p = m_impl->params;
    if (p.greedy) return scores.argmax(-1); // [N]
    at::Tensor x = scores.to(at::kFloat);
    if (p.temperature != 1.0) x = x / p.temperature;
    x = applyTopP(applyTopK(x, p.topK), p.topP);
    at::Tensor probs = x.softmax(-1); // [N, V]
    return at::multinomial(probs, 1, /*replacement=*/false, m_impl->generator).squeeze(-1); // [N]
}

} // namespace tmk
