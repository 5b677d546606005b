// Dev tooling (tm_devtools; linked by the CLI and the tests, never by the app): the benchmarks behind
// `tastemaker-cli bench merge|train|stream` and the measurement they share with the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tastemaker/error.h"
#include "tastemaker/metrics.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/streaming.h"
#include "tastemaker/training.h"

namespace tmk {

// `tastemaker-cli bench merge`: the latency of slider moves on a model of `config`'s size, with random W0
// (only the merged modules are made, in `dtype` on `device`) and a random bank of rank `rank` (2 adapters
// per metric). Times are medians over `repeats` merges, device work included.
struct MergeBenchParams {
    std::filesystem::path config; // a config.json, or a folder holding one
    int64_t rank = 16;
    std::string device = "cpu"; // "cpu", "cuda" or "cuda:N"
    std::string dtype = "f32"; // "f32", "bf16" or "f16": the model's dtype
    int repeats = 5;
    uint64_t seed = 0;
};
struct MergeBenchResult {
    std::string device;
    std::string dtype;
    int64_t rank = 0;
    int adapters = 0;
    int modules = 0; // weights an adapter touches
    int64_t touchedParameters = 0; // their elements
    double oneSliderMs = 0.0; // one slider moves, the others at 0
    double oneSliderAllActiveMs = 0.0; // one slider moves while every slider is non-zero
    double allSlidersMs = 0.0; // every slider moves at once
    double resetMs = 0.0; // every slider back to 0 (W0 copied back)
    size_t baseBytes = 0; // memory the merge adds: the W0 copies
    size_t factorBytes = 0; //   the adapters' factors (float32)
    size_t scratchBytes = 0; //   and float32 work buffers (non-float32 models only)
    std::string toString() const; // a few readable lines
};
Expected<MergeBenchResult> benchmarkMerge(const MergeBenchParams& params, const std::vector<MetricInfo>& metrics);

// `tastemaker-cli bench train`: DPO steps on a random-weight model of `config`'s size with synthetic codes.
struct TrainBenchParams {
    std::filesystem::path config; // a config.json, or a folder holding one
    std::filesystem::path spieceModel; // the tokenizer for the made model
    std::string device = "cpu";
    int64_t steps = 3; // optimiser steps timed (after one warm-up step)
    int64_t frames = 500; // frames per sequence (10 s)
    int64_t batchSize = 1; // pairs per step
    std::string dtype = "f32"; // the frozen base's compute dtype ("f32", "bf16"); LoRA and AdamW stay f32
    bool checkpointLayers = false; // activation checkpointing (TrainOptions::checkpointLayers)
    LoraOptions lora;
    uint64_t seed = 0;
};
struct TrainBenchResult {
    std::string device, dtype;
    bool checkpointLayers = false;
    int64_t frames = 0, batchSize = 0, steps = 0;
    int64_t decoderParameters = 0, loraParameters = 0;
    double referenceSecondsPerPair = 0; // the reference pass (no grad), once per pair
    double secondsPerStep = 0; // forward + backward + AdamW, median
    double pairsPerSecond = 0; // batchSize / secondsPerStep
    double peakRssMiB = 0; // VmHWM
    std::string toString() const;
};
Expected<TrainBenchResult> benchmarkTraining(const TrainBenchParams& params);

// The process's resident memory now (VmRSS) and its peak (VmHWM), in MiB; 0 where /proc is missing.
double currentRssMiB();
double peakRssMiB();
// Resets the peak to the current RSS (Linux >= 4.0); harmless where unsupported.
void resetPeakRss();

// `tastemaker-cli bench load`: MusicgenModel::load of `dir` from a warm page cache (every file is read
// once first), timed by stage, with the peak RSS of the load against the weights' bytes in the compute
// dtype (the audio codec's in float32).
struct LoadBenchResult {
    std::string dtype;
    int64_t weightBytes = 0;
    double seconds = 0; // the whole load
    double tokenizerSeconds = 0, textEncoderSeconds = 0, decoderSeconds = 0, codecSeconds = 0;
    double rssBeforeMiB = 0; // the process before the load (libraries, allocator)
    double peakRssMiB = 0; // VmHWM during the load
    double rssAfterMiB = 0;
    std::string toString() const;
};
Expected<LoadBenchResult> benchmarkLoad(const std::filesystem::path& dir, const ModelOptions& options);

// `tastemaker-cli bench sliders`: a random bank of rank `rank` on the model in `modelDir`. The latency of a
// slider move by the run-time path (Steering::applyAtRuntime) and by the merge (Steering::apply), medians
// over `repeats`; and the decoding step against the number of sliders carried at run time.
struct SliderBenchParams {
    std::filesystem::path modelDir;
    ModelOptions options;
    int64_t rank = 16;
    int64_t frames = 24; // per generation timed
    int repeats = 3;
    bool bf16Bank = false; // the random bank's factors in bfloat16
};
struct SliderStepRow {
    int sliders = 0; // sliders at +0.5
    bool merged = false; // false: carried at run time
    double stepMs = 0; // median step (the lower of two interleaved passes)
    double ratio = 0; // against no slider
    size_t runtimeFactorBytes = 0; // what each step reads for the run-time terms
};
struct SliderBenchResult {
    std::string dtype;
    int64_t rank = 0;
    int64_t stepBytes = 0; // the plain step's weight bytes
    double runtimeOneMs = 0; // one slider moves from 0, run-time path
    double runtimeValueMs = 0; // the same slider moves again (only its coefficients change)
    double runtimeAllMs = 0; // all 13 move at once, run-time path
    double mergeOneMs = 0, mergeAllMs = 0; // the same by merging
    std::vector<SliderStepRow> steps;
};
Expected<SliderBenchResult> benchmarkSliders(const SliderBenchParams& params, const std::vector<MetricInfo>& metrics);

// Signal-to-noise ratio of `test` against `reference` in dB: 10 log10(Σ ref² / Σ (ref - test)²), over
// the common length; +inf when they are identical.
double signalToNoiseDb(std::span<const float> reference, std::span<const float> test);

// A generation with streaming decode of batch item 0, timed, and the streamed audio compared with the full
// decode of the same codes (request.decodeAudio is forced on).
struct StreamingBenchmark {
    int64_t frames = 0;
    double firstAudioSeconds = 0; // from the start of generate() to the first onAudio
    int64_t framesAtFirstAudio = 0;
    double generateSeconds = 0; // the whole generate(), streaming decode included, full decode excluded
    double streamDecodeSeconds = 0;
    int64_t decodeCalls = 0;
    double fullDecodeSeconds = 0;
    double snrDb = 0; // streamed vs. full decode
};

Expected<StreamingBenchmark> benchmarkStreaming(
    std::shared_ptr<const MusicgenModel> model, GenerationRequest request, const StreamingOptions& options = {});

} // namespace tmk
