// Training a small EnCodec (Hugging Face EncodecConfig) on a folder of audio: the engine's own SEANet
// layout trained with L1 + multi-resolution log-mel + log-STFT + chroma losses and an EMA residual vector
// quantizer. Torch-free interface; see docs/codec-training.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

struct CodecShape {
    int64_t sampleRate = 16000;
    std::vector<int64_t> ratios = { 8, 5, 4, 2 }; // decoder order; hop = product (320: 50 frames/s)
    int64_t numFilters = 16;
    int64_t hiddenSize = 64; // = codebook_dim
    int64_t codebooks = 4;
    int64_t codebookSize = 256;
    int64_t lstmLayers = 2;
};

// The weights of the loss terms (docs/codec-training.md).
struct CodecLossMix {
    double waveformL1 = 0.1;
    double logMel = 1.0;
    double logStft = 1.0;
    double chroma = 4.0;
    double spectralConvergence = 2.0;
    double commitment = 1.0;
};

struct CodecTrainOptions {
    std::filesystem::path audioDir; // every *.wav in it is one song (or use worldDir)
    std::filesystem::path worldDir; // a world: tracks.csv (track_id column) + audio/<track_id>.wav
    std::filesystem::path outDir;
    CodecShape shape;
    int64_t steps = 1000;
    int64_t batch = 8;
    double seconds = 0.5; // crop length
    uint64_t seed = 0;
    bool resume = false;
    int threads = 0; // 0: leave the default
    double learningRate = 3e-4;
    int64_t warmupSteps = 200;
    double maxGradNorm = 1.0;
    CodecLossMix loss;
    bool dataDependentInit = true; // weight-norm data-dependent initialisation on the first batch
    // A fresh run starts from these weights instead (a codec folder or a model folder's model.safetensors
    // with the same shape, e.g. models/demo): parameters, EMA and codebooks; Adam starts afresh.
    std::filesystem::path initFrom;
    double weightEma = 0.999; // EMA of the weights (what is saved)
    // Adversarial training (docs/codec-training.md): with either weight > 0 a multi-scale STFT discriminator
    // trains alongside (hinge loss, Adam betas 0.5 / 0.9, its own learning rate), and the codec's loss adds
    // adversarialWeight x the hinge generator loss + featureMatchingWeight x the relative feature-matching L1.
    double adversarialWeight = 0.0;
    double featureMatchingWeight = 0.0;
    double discriminatorLearningRate = 3e-4;
    // Train the decoder only: the encoder and the codebooks keep the weights of initFrom (or the resumed
    // checkpoint), so every song's codes, and whatever was trained on them (a language model, adapters), stay
    // valid while the decoded audio improves. Needs initFrom or a resume.
    bool decoderOnly = false;
    double heldOutFraction = 0.1;
    int64_t checkpointEvery = 200;
    int64_t logEvery = 10;
    int64_t evalEvery = 0; // held-out loss every N steps (0: at checkpoints)
};

struct CodecTrainProgress {
    int64_t step = 0;
    int64_t totalSteps = 0;
    double loss = 0.0;
    double stepsPerSecond = 0.0;
    double etaSeconds = 0.0;
};

struct CodecTrainResult {
    int64_t steps = 0;
    int64_t trainSongs = 0;
    int64_t heldOutSongs = 0;
    double finalLoss = 0.0;
    double stepsPerSecond = 0.0; // of this run (not counting resumed steps)
    std::filesystem::path codecDir; // outDir/codec: config.json + model.safetensors
};

// Trains (or, with options.resume, continues from outDir/checkpoint.safetensors) and writes:
// outDir/checkpoint.safetensors every checkpointEvery steps and at the end (atomic), outDir/loss.csv,
// outDir/loss.png, and outDir/codec/{config.json, model.safetensors} from the EMA weights.
Expected<CodecTrainResult> trainCodec(
    const CodecTrainOptions& options, const std::function<void(const CodecTrainProgress&)>& progress = {});

// A trained codec, for measuring it: a codec folder (config.json + model.safetensors) or a run's
// checkpoint.safetensors (its EMA weights; the shape from its metadata), loaded as the engine's Encodec.
class TrainedCodec {
public:
    static Expected<TrainedCodec> load(const std::filesystem::path& folderOrCheckpoint);
    int sampleRate() const;

    struct RoundTrip {
        std::vector<float> audio; // the reconstruction, as long as the input
        double logMelDb = 0.0; // the log-mel distance to the input (below)
    };
    // Encodes `audio` (mono, at sampleRate()) with every codebook and decodes it again. The log-mel distance:
    // 64-band HTK mel power spectra (n_fft 1024, hop 256, Hann) of both signals in dB, each clamped at 80 dB
    // below the input's loudest band-frame, and the mean absolute difference over every band and frame.
    // `codebooks` > 0 uses only the first that many codebooks; `unquantized` decodes the encoder's latent
    // itself (no quantizer: what the codec's bitrate costs).
    struct RoundTripOptions {
        int codebooks = 0;
        bool unquantized = false;
    };
    Expected<RoundTrip> roundTrip(std::span<const float> audio, RoundTripOptions options) const;
    Expected<RoundTrip> roundTrip(std::span<const float> audio) const { return roundTrip(audio, {}); }
    int codebookCount() const;

    struct Impl;

private:
    explicit TrainedCodec(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

// The ids among `ids` that training with `seed` holds out (the same rule train-codec and train-lm split by).
std::vector<std::string> heldOutSongIds(const std::vector<std::string>& ids, uint64_t seed, double fraction = 0.1);

} // namespace tmk
