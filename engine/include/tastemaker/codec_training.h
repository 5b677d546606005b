// Training a small EnCodec (Hugging Face EncodecConfig) on a folder of audio: the engine's own SEANet
// layout trained with L1 + multi-resolution log-mel + log-STFT + chroma losses and an EMA residual vector
// quantizer. Torch-free interface; see docs/codec-training.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
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
    double weightEma = 0.999; // EMA of the weights (what is saved)
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

} // namespace tmk
