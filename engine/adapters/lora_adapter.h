// A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) exactly as PEFT's
// save_pretrained writes it (ADAPTERS.md): read, checked against a base model, and written.
//
// Module paths are kept in the full model's naming (MusicgenForConditionalGeneration, the
// model.safetensors key minus ".weight"), whichever model PEFT was wrapped around.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "adapters/lora_config.h"
#include "tastemaker/error.h"
#include "tastemaker/tensorio.h"

namespace tmk {

// The live base-model tensor for a model.safetensors key ("decoder.lm_heads.0.weight"), or nullptr when the
// model has none. For the decoder: [&decoder](const std::string& name) { return decoder.parameter(name); }.
using ParameterLookup = std::function<at::Tensor*(const std::string& name)>;

enum class LoraKind {
    Linear, // nn.Linear weight [out, in]: delta = scale * B @ A
    Embedding, // nn.Embedding weight [num, dim]: delta = scale * (B @ A)^T
};

struct LoraModule {
    std::string path; // full-model path: "decoder.model.decoder.layers.0.fc1"
    std::string peftPath; // path inside the model PEFT wrapped, as in the file and for rank/alpha_pattern
    std::string keyA; // the tensor keys as in the file (fromModules: as the writer names them)
    std::string keyB;
    LoraKind kind = LoraKind::Linear;
    at::Tensor a; // float32, CPU. Linear: lora_A.weight [r, in]. Embedding: lora_embedding_A [r, num]
    at::Tensor b; // float32, CPU. Linear: lora_B.weight [out, r]. Embedding: lora_embedding_B [dim, r]
    DType storedDtype = DType::F32; // the file's dtype (F32, F16 or BF16), used again when written
    double alpha = 0.0; // after alpha_pattern
    double scale = 0.0; // alpha / r or alpha / sqrt(r)

    int64_t rank() const { return a.size(0); }
    std::string weightName() const { return path + ".weight"; }
    std::vector<int64_t> deltaShape() const; // Linear [out, in]; Embedding [num, dim]
    // scale * B @ A (Linear) or scale * (B @ A)^T (Embedding), float32 on A's device: [deltaShape]
    at::Tensor delta() const;
};

class LoraAdapter {
public:
    // Reads `dir` (or its one subfolder holding adapter_config.json, for adapters saved under a name other
    // than "default"). Refuses, naming the file and tensor: adapter_model.bin without safetensors (pickle is
    // never read), tensors other than lora_A/B.weight and lora_embedding_A/B (DoRA magnitudes, lora_B.bias,
    // modules_to_save copies, trained biases, ...), dtypes other than F32/F16/BF16, shapes that disagree
    // with each other or with the config's r, and every config setting LoraConfig::checkSupported refuses.
    static Expected<LoraAdapter> load(const std::filesystem::path& dir);

    // An adapter made in memory (the trainer, random banks). Modules take full-model paths and float32
    // tensors; peftPath, alpha and scale are filled in from `config` (rank_pattern/alpha_pattern apply).
    // The config's wrap becomes FullModel.
    static Expected<LoraAdapter> fromModules(LoraConfig config, std::vector<LoraModule> modules);

    // Writes adapter_config.json (LoraConfig::toJson) and adapter_model.safetensors (metadata
    // {"format": "pt"}, keys "base_model.model.<full-model path>.lora_A.weight", ...) into `dir`, creating
    // it. Both files are written atomically.
    Expected<void> save(const std::filesystem::path& dir) const;

    // Every module exists in the model and its delta shape equals the weight's shape; the error names the
    // adapter's tensor and the base weight. Modules of the T5 text encoder are refused (not mergeable here).
    Expected<void> checkAgainst(const ParameterLookup& model) const;

    const std::filesystem::path& dir() const { return m_dir; }
    const LoraConfig& config() const { return m_config; }
    PeftWrap wrap() const { return m_config.wrap; }
    const std::vector<LoraModule>& modules() const { return m_modules; }
    const LoraModule* findModule(const std::string& path) const;
    std::string modelFile() const; // adapter_model.safetensors' path, for messages
    std::string configFile() const; // adapter_config.json's path
    int64_t parameterCount() const; // A and B elements, all modules
    // The dtype save() writes every factor in (F32, F16 or BF16); the factors stay float32 in memory.
    void setStoredDtype(DType dtype);

private:
    LoraAdapter() = default;
    Expected<void> finishModules(const std::string& file); // fills alpha/scale, checks ranks against the config

    std::filesystem::path m_dir;
    LoraConfig m_config;
    std::vector<LoraModule> m_modules; // sorted by path
};

} // namespace tmk
