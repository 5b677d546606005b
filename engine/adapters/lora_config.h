// adapter_config.json of a PEFT LoRA adapter (ADAPTERS.md §2 and §5): parsed with PEFT's defaults for
// missing keys, unknown keys ignored, and written back the way PEFT 0.11.1 writes it.
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

// Which transformers model PEFT was wrapped around; it decides the module paths (ADAPTERS.md §4).
enum class PeftWrap {
    Unknown, // no auto_mapping: decided from the tensor paths
    FullModel, // MusicgenForConditionalGeneration: "decoder.model.decoder.layers.0.fc1", "enc_to_dec_proj"
    DecoderOnly, // MusicgenForCausalLM: "model.decoder.layers.0.fc1", "lm_heads.0"
};

struct LoraConfig {
    int64_t r = 8;
    double loraAlpha = 8.0;
    bool useRslora = false;
    // Regex keys in file order (which PEFT writes sorted) with their values.
    std::vector<std::pair<std::string, int64_t>> rankPattern;
    std::vector<std::pair<std::string, double>> alphaPattern;
    // target_modules: a list of names or one regex string (informational: the tensors say what is there).
    std::vector<std::string> targetModules;
    std::optional<std::string> targetRegex;
    PeftWrap wrap = PeftWrap::Unknown; // from auto_mapping.base_model_class
    std::string baseModelClass; // auto_mapping.base_model_class as written ("" when absent)
    std::string taskType; // "" for null
    std::string baseModelNameOrPath;
    double loraDropout = 0.0;
    // Why the merge cannot represent this adapter ("" when it can); see checkSupported().
    std::string unsupported;

    // Parses `text` (the content of `file`): types checked, PEFT's defaults for missing keys, unknown keys
    // ignored, regexes compiled. peft_type must be LORA.
    static Expected<LoraConfig> parse(const std::string& text, const std::string& file);
    // Refuses, naming `file` and the key, what the merge cannot represent: use_dora, lora_bias, bias other
    // than "none", modules_to_save, layer_replication, pissa/olora/corda initialisation,
    // trainable_token_indices, target_parameters.
    Expected<void> checkSupported(const std::string& file) const;

    // PEFT >= 0.15: the first rank_pattern / alpha_pattern key k (file order) with
    // re.match(rf"(.*\.)?({k})$", module), else r / lora_alpha. `module` is the path in the wrapped model.
    int64_t rankFor(const std::string& module) const;
    double alphaFor(const std::string& module) const;
    // target_modules' test: a list entry t matches when module == t or ends with "." + t; a regex must match
    // the whole path. True when target_modules is empty (unknown).
    bool targets(const std::string& module) const;

    // PEFT 0.11.1's 24 keys, sorted, indent 2, no trailing newline; auto_mapping names
    // MusicgenForConditionalGeneration when wrap is FullModel (the writer's only wrap).
    std::string toJson() const;
};

// Scale of one module: alpha / r, or alpha / sqrt(r) with rsLoRA.
double loraScale(double alpha, int64_t rank, bool useRslora);

} // namespace tmk
