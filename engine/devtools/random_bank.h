// Random LoRA adapters for tests and benchmarks (makeRandomAdapterBank in tastemaker/devtools/model_maker.h
// writes them as a bank). Shapes come from the config alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adapters/lora_adapter.h"
#include "core/model_config.h"

namespace tmk {

// The modules a random adapter targets: q/k/v/out_proj of self_attn and encoder_attn, fc1 and fc2 of every
// decoder layer, as full-model paths ("decoder.model.decoder.layers.0.self_attn.q_proj"), with the weight
// shape [out, in] of each.
struct RandomTarget {
    std::string path;
    int64_t outFeatures = 0;
    int64_t inFeatures = 0;
};
std::vector<RandomTarget> randomAdapterTargets(const DecoderConfig& config);

// One random adapter: A [r, in] ~ N(0, 1/in), B [out, r] ~ N(0, sigma^2) with sigma chosen so that the delta at
// weight 1 has about `deltaRatio` / sqrt(in) standard deviation (deltaRatio times a default-initialised
// weight's). Deterministic for a seed (CPU generator).
Expected<LoraAdapter> makeRandomAdapter(const MusicgenConfig& config, int64_t rank, double alpha, uint64_t seed,
    double deltaRatio, const std::string& baseModelName);

} // namespace tmk
