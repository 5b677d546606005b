// The model side of LM training: the Hugging Face config.json of a MusicGen built from a trained codec and
// an LmShape, its initial weights (as transformers initialises them), and the exported checkpoint folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"
#include "tastemaker/lm_training.h"

namespace tmk::lmtrain {

// The whole config.json of MusicgenForConditionalGeneration: `audioEncoder` (the codec folder's
// "audio_encoder" section) with a T5 text encoder and a MusicGen decoder of `shape`; the T5 vocabulary is
// `pieces` sentencepiece pieces + 100 <extra_id_i>, rounded up to a multiple of 128 as t5-base's is.
nlohmann::json musicgenConfigJson(const nlohmann::json& audioEncoder, const LmShape& shape, int64_t pieces);

// generation_config.json: sampling with top-k 250, guidance 3, 10 s (500 frames + the delay).
nlohmann::json generationConfigJson(int64_t padTokenId, int64_t maxLength);

// Initial weights of every text_encoder.*, decoder.* and enc_to_dec_proj.* tensor the engine's loaders read
// (float32), drawn as transformers' _init_weights draws them: the decoder N(0, 0.02) with zero biases, T5
// per its initializer_factor rules, layer norms 1, the sinusoidal position table. Deterministic for `seed`.
Expected<std::map<std::string, at::Tensor>> initialWeights(const nlohmann::json& config, uint64_t seed);

// The starting weights of a fine-tune (train-lm --init-from): every tensor initialWeights draws, read from
// `modelDir`/model.safetensors and converted to float32. The model must have been made with this run's shape
// and tokenizer; an error names the file and the first tensor it lacks or holds in another shape.
Expected<std::map<std::string, at::Tensor>> weightsFromModel(
    const nlohmann::json& config, const std::filesystem::path& modelDir);

// Writes the tokenizer files save_pretrained writes for a T5Tokenizer with 100 extra ids next to
// spiece.model (copied from `spieceModel`): tokenizer_config.json, special_tokens_map.json and
// added_tokens.json, and the EncodecFeatureExtractor's preprocessor_config.json.
Expected<void> writeTokenizerFiles(
    const std::filesystem::path& dir, const std::filesystem::path& spieceModel, int64_t pieces, int64_t sampleRate);

} // namespace tmk::lmtrain
