// Dev tooling (tm_devtools; linked by the CLI and the tests, never by the app): random-weight MusicGen
// checkpoints in the exact Hugging Face layout, for tests, benchmarks and the bundled default model, and
// random adapter banks for them. The weights are untrained: the audio they make is noise-like.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "tastemaker/adapters.h"
#include "tastemaker/error.h"
#include "tastemaker/metrics.h"

namespace tmk {

struct MakeModelOptions {
    std::filesystem::path configJson; // a MusicGen config.json (any size)
    std::filesystem::path spieceModel; // the sentencepiece model to ship with it
    std::filesystem::path outDir;
    uint64_t seed = 0;
};

// Writes OUT/config.json, OUT/generation_config.json, OUT/spiece.model and OUT/model.safetensors
// (float32, every tensor the loaders need, named as Hugging Face names them). Deterministic for a seed.
Expected<void> makeRandomModel(const MakeModelOptions& options);

// `tastemaker-cli make-adapters`: writes a bank of random PEFT LoRA adapters for the model in `modelDir`
// (only its config.json is read), two per metric of `metrics`, each targeting q/k/v/out_proj of self- and
// cross-attention and fc1/fc2 of every decoder layer, plus bank.json. A ~ N(0, 1/in); B is drawn so that
// the delta at weight 1 has about `deltaRatio` times the standard deviation of a 1/sqrt(in) weight.
struct RandomBankParams {
    std::filesystem::path modelDir;
    std::filesystem::path outDir;
    int64_t rank = 16;
    double alpha = 16.0;
    uint64_t seed = 0;
    double deltaRatio = 0.35;
    bool bf16 = false; // write the factors in bfloat16 (as bank-export --dtype bf16 and the bundled bank do)
};
Expected<BankSummary> makeRandomAdapterBank(const RandomBankParams& params, const std::vector<MetricInfo>& metrics);

} // namespace tmk
