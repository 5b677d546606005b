// Writes random-weight MusicGen checkpoints in the exact Hugging Face layout, for tests, benchmarks and
// the bundled default model. The weights are untrained: the audio they make is noise-like.
#pragma once

#include <cstdint>
#include <filesystem>

#include "tastemaker/error.h"

namespace tmk {

struct MakeModelOptions {
    std::filesystem::path configJson;    // a MusicGen config.json (any size)
    std::filesystem::path spieceModel;   // the sentencepiece model to ship with it
    std::filesystem::path outDir;
    uint64_t seed = 0;
};

// Writes OUT/config.json, OUT/generation_config.json, OUT/spiece.model and OUT/model.safetensors
// (float32, every tensor the loaders need, named as Hugging Face names them). Deterministic for a seed.
Expected<void> makeRandomModel(const MakeModelOptions& options);

}  // namespace tmk
