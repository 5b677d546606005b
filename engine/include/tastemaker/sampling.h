// How MusicGen picks each code: greedy, or temperature -> top-k -> top-p (nucleus) -> a seeded draw, after
// classifier-free guidance. One struct, used by the model's defaults (generation_config.json), generation
// requests, the sampler and clip sidecars alike. No torch types here.
#pragma once

#include <cstdint>
#include <string>

#include "tastemaker/error.h"

namespace tmk {

struct SamplingParams {
    bool greedy = false; // argmax; the other fields but guidanceScale are ignored
    int64_t topK = 250; // 0: off (250 is audiocraft's default when generation_config.json sets none)
    double topP = 0.0; // nucleus mass in (0, 1); 0 or 1: off
    double temperature = 1.0; // > 0
    double guidanceScale = 3.0; // classifier-free guidance when > 1
    uint64_t seed = 0; // same seed, build and device give the same codes

    // Names the first field that is out of range.
    Expected<void> validate() const;
    // "top-k 250, top-p 0, temperature 1, seed 0, guidance 3" or "greedy, guidance 3".
    std::string toString() const;
    bool operator==(const SamplingParams&) const = default;
};

} // namespace tmk
