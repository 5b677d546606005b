// MusicGen: load a Hugging Face checkpoint folder once (immutable, shareable), then run generation
// jobs on it. Each job owns its own KV cache and RNG. No torch types appear here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tastemaker/cancel.h"
#include "tastemaker/error.h"
#include "tastemaker/progress.h"
#include "tastemaker/sampling.h"

namespace tmk {

enum class DeviceKind { Cpu, Cuda };
enum class ComputeDType { F32, BF16, F16 };

Expected<DeviceKind> parseDeviceKind(const std::string& text); // "cpu", "cuda"
Expected<ComputeDType> parseComputeDType(const std::string& text); // "f32", "bf16", "f16"
const char* deviceKindName(DeviceKind device);
const char* computeDTypeName(ComputeDType dtype);

// Where a model's weights live (docs/performance.md, "Loading a checkpoint"):
//   Mapped: in place in the memory-mapped checkpoint where its dtype is the compute dtype (copy-on-write: a
//     merge changes only this process's pages). Loads in well under a second; the weights sit in 4 KiB
//     page-cache pages.
//   Copied: copied into 2 MiB-aligned memory advised to use huge pages. Loads in seconds; CPU steps were
//     30-40% faster on the development machine (fewer TLB misses), in float32 and in bf16.
//   Auto: Copied (the steps matter more than the load for a music app); Mapped is for quick inspection.
enum class WeightPlacement { Auto, Mapped, Copied };
Expected<WeightPlacement> parseWeightPlacement(const std::string& text); // "auto", "mapped", "copied"

struct ModelOptions {
    DeviceKind device = DeviceKind::Cpu;
    ComputeDType dtype = ComputeDType::F32; // of T5 and the decoder; EnCodec always runs in float32
    WeightPlacement weights = WeightPlacement::Auto;
};

struct ModelInfo {
    std::filesystem::path dir;
    std::string name; // the folder's name
    int64_t numCodebooks = 0; // K
    int64_t codebookSize = 0; // V
    int sampleRate = 0; // 32000
    int64_t frameRate = 0; // 50 frames per second
    int64_t hopLength = 0; // samples per frame
    int64_t maxFrames = 0; // the longest generation (positions limit)
    int64_t decoderParameters = 0;
    int64_t decoderBytes = 0; // all decoder weight bytes
    int64_t decoderStepBytes = 0; // weight bytes one cached decoding step reads (no embeddings, no cross K/V)
    SamplingParams sampling; // the checkpoint's generation_config.json (seed 0)
    ModelOptions options;
    bool untrained = false; // random weights written by make-model: noise-like sound
};

struct ModelAccess; // engine-internal (pipeline/model_access.h)

// A loaded model is immutable to its users: nothing public reaches its weights. The engine's own owners of
// weight changes (adapter merges, DPO training) go through pipeline/model_access.h.
class MusicgenModel {
public:
    // Loads and validates DIR (config.json, generation_config.json, safetensors, spiece.model).
    static Expected<std::shared_ptr<const MusicgenModel>> load(
        const std::filesystem::path& dir, const ModelOptions& options, const ProgressCallback& progress = {});
    ~MusicgenModel();
    const ModelInfo& info() const;

    struct Impl; // engine-internal (pipeline/model_impl.h)

private:
    friend struct ModelAccess;
    explicit MusicgenModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// Codes in row-major [batch, codebooks, frames] (delay pattern undone).
struct AudioCodes {
    int64_t batch = 0, codebooks = 0, frames = 0;
    std::vector<int64_t> values;
};

struct GenerationRequest {
    std::vector<std::string> prompts; // one batch item per prompt
    int64_t frames = 0; // audio frames after the delay is undone
    SamplingParams sampling; // guidanceScale <= 1 disables classifier-free guidance
    bool decodeAudio = true;

    static GenerationRequest defaultsFor(const ModelInfo& info);
    Expected<void> validate(const ModelInfo& info) const;
};

struct GenerationCallbacks {
    ProgressCallback onProgress; // stage "text encoder", "decoding" (per step), "audio decoder"
    // Called as soon as all codebooks of `frame` are final: codes[b * K + k].
    std::function<void(int64_t frame, std::span<const int64_t> codes)> onFrame;
    const CancelToken* cancel = nullptr;
};

struct GenerationResult {
    AudioCodes codes;
    int sampleRate = 0;
    std::vector<std::vector<float>> audio; // one mono signal per batch item (frames * hop samples)
    double textSeconds = 0, decodeSeconds = 0, codecSeconds = 0;
};

// A generation job. Runs on the calling thread; thread-safe against other jobs on the same model.
Expected<GenerationResult> generate(
    const MusicgenModel& model, const GenerationRequest& request, const GenerationCallbacks& callbacks = {});

// EnCodec: codes [B, K, T] -> one mono signal per batch item.
Expected<std::vector<std::vector<float>>> decodeCodes(const MusicgenModel& model, const AudioCodes& codes);
// EnCodec: a mono signal at the model's rate -> codes [1, K, ceil(L / hop)] with the model's codebook count.
Expected<AudioCodes> encodeAudio(const MusicgenModel& model, std::span<const float> audio);
// Teacher forcing: the log-likelihood in nats of `codes` [1, K, T] (every code, summed) under the decoder
// conditioned on each of `prompts` (the conditional branch alone: no guidance), one value per prompt, with
// the model's current weights (merged sliders included). What `eval-tags --likelihood` compares.
Expected<std::vector<double>> codesLogLikelihood(
    const MusicgenModel& model, const std::vector<std::string>& prompts, const AudioCodes& codes);

} // namespace tmk
