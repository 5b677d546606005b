// `bench`: speed and memory, reported as ratios measured in one run (see docs/performance.md).
//   bench generate --config CONFIG.json | --model DIR [--dtype ...] [--frames N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unistd.h>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/adapters.h"
#include "tastemaker/devtools/benchmarks.h"
#include "tastemaker/devtools/model_maker.h"
#include "tastemaker/streaming.h"

namespace tmk::cli {

int benchTrain(const Args& args); // cmd_bench_train.cpp

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Memory bandwidth in bytes/s from large copies (read + write counted), best of several runs.
double measureBandwidth()
{
    const size_t bytes = size_t(512) << 20;
    std::vector<char> a(bytes, 1), b(bytes, 2);
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    double best = 0;
    for (int run = 0; run < 6; ++run) {
        const unsigned parts = run % 2 == 0 ? 1 : threads; // single-threaded and all-core copies
        const size_t chunk = bytes / parts;
        auto start = Clock::now();
        std::vector<std::thread> workers;
        for (unsigned t = 0; t < parts; ++t)
            workers.emplace_back([&, t] { std::memcpy(b.data() + t * chunk, a.data() + t * chunk, chunk); });
        for (std::thread& worker : workers) worker.join();
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        best = std::max(best, 2.0 * static_cast<double>(chunk * parts) / seconds);
    }
    return best;
}

// Read-only bandwidth in bytes/s: all cores summing a large buffer (what a weight-streaming step does).
double measureReadBandwidth()
{
    const size_t words = (size_t(512) << 20) / sizeof(uint64_t);
    std::vector<uint64_t> data(words, 3);
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<uint64_t> sums(threads);
    double best = 0;
    for (int run = 0; run < 5; ++run) {
        const size_t chunk = words / threads;
        auto start = Clock::now();
        std::vector<std::thread> workers;
        for (unsigned t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                uint64_t sum = 0;
                for (size_t i = t * chunk; i < (t + 1) * chunk; ++i) sum += data[i];
                sums[t] = sum;
            });
        for (std::thread& worker : workers) worker.join();
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        best = std::max(best, static_cast<double>(chunk * threads * sizeof(uint64_t)) / seconds);
    }
    volatile uint64_t keep = sums[0];
    (void)keep;
    return best;
}

double percentile(std::vector<double> values, double p)
{
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const size_t index
        = std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5));
    return values[index];
}

// A temporary folder, removed by remove() or, on any other return path, when it goes out of scope.
class TempFolder {
public:
    TempFolder() = default;
    ~TempFolder() { remove(); }
    TempFolder(const TempFolder&) = delete;
    TempFolder& operator=(const TempFolder&) = delete;
    void set(fs::path path) { m_path = std::move(path); }
    const fs::path& path() const { return m_path; }
    void remove()
    {
        std::error_code ec;
        if (!m_path.empty()) fs::remove_all(m_path, ec);
        m_path.clear();
    }

private:
    fs::path m_path;
};

// The model to benchmark: --model DIR, or a random-weight model made from --config in `temp`.
Expected<fs::path> benchModelDir(const Args& args, TempFolder& temp)
{
    if (auto model = args.get("model")) return fs::path(*model);
    if (!args.has("config"))
        return Error { ErrorCode::InvalidArgument, "bench: give --model DIR or --config CONFIG.json" };
    temp.set(fs::temp_directory_path() / ("tastemaker-bench-" + std::to_string(::getpid())));
    MakeModelOptions make;
    make.configJson = *args.get("config");
    make.outDir = temp.path();
    make.spieceModel = defaultSpieceModel();
    std::cerr << "making a random-weight model from " << make.configJson.string() << " ...\n";
    TMK_TRY(makeRandomModel(make));
    return temp.path();
}

// --dtype, --device and --weights.
Expected<ModelOptions> modelOptions(const Args& args)
{
    Expected<ComputeDType> dtype = parseComputeDType(args.getOr("dtype", "f32"));
    if (!dtype) return dtype.error();
    Expected<DeviceKind> device = parseDeviceKind(args.getOr("device", "cpu"));
    if (!device) return device.error();
    Expected<WeightPlacement> placement = parseWeightPlacement(args.getOr("weights", "auto"));
    if (!placement) return placement.error();
    ModelOptions options;
    options.dtype = *dtype;
    options.device = *device;
    options.weights = *placement;
    return options;
}

int benchGenerate(const Args& args)
{
    TempFolder temp;
    Expected<fs::path> dir = benchModelDir(args, temp);
    if (!dir) return reportError(dir.error());
    Expected<ModelOptions> parsed = modelOptions(args);
    if (!parsed) return reportError(parsed.error());
    const ModelOptions& options = *parsed;
    resetPeakRss(); // the peak of writing a random checkpoint is not the load's
    const auto loadStart = Clock::now();
    auto model = MusicgenModel::load(*dir, options);
    const double loadSeconds = std::chrono::duration<double>(Clock::now() - loadStart).count();
    const double loadPeakMiB = peakRssMiB();
    temp.remove();
    if (!model) return reportError(model.error());
    const ModelInfo& info = (*model)->info();
    const std::string label
        = args.has("config") ? fs::path(*args.get("config")).stem().string() + " (random weights)" : info.name;
    Expected<long long> frames = args.integer("frames", 50);
    if (!frames) return reportError(frames.error());

    GenerationRequest request = GenerationRequest::defaultsFor(info);
    request.prompts = { "Classic Rock, electric guitar, keyboard, drums" };
    request.frames = *frames;
    request.sampling.greedy = false;
    std::vector<double> stepSeconds;
    auto last = Clock::now();
    GenerationCallbacks callbacks;
    callbacks.onProgress = [&](const Progress& p) {
        auto now = Clock::now();
        if (p.stage == ProgressStage::Decoding && p.done > 0)
            stepSeconds.push_back(std::chrono::duration<double>(now - last).count());
        last = now;
    };
    Expected<GenerationResult> result = generate(**model, request, callbacks);
    if (!result) return reportError(result.error());
    if (stepSeconds.size() > 2)
        stepSeconds.erase(stepSeconds.begin()); // the first step includes cross-attention set-up

    const double generatePeakMiB = peakRssMiB(); // before the bandwidth probes allocate their buffers
    const double bandwidth = measureBandwidth();
    const double floorSeconds = static_cast<double>(info.decoderStepBytes) / bandwidth;
    const double readBandwidth = measureReadBandwidth();
    const double readFloorSeconds = static_cast<double>(info.decoderStepBytes) / readBandwidth;
    const double median = percentile(stepSeconds, 0.5), p90 = percentile(stepSeconds, 0.9);
    const double audioSeconds = static_cast<double>(request.frames) / static_cast<double>(info.frameRate);
    const double total = result->textSeconds + result->decodeSeconds + result->codecSeconds;
    std::printf(
        "| model | device | dtype | decoder params | load (s) | load peak RSS (MiB) | step bytes | T5 (s) | step "
        "median (ms) | step p90 (ms) | bandwidth (GB/s) "
        "| floor (ms) | step / floor | read-only GB/s | step / read floor | EnCodec s per s audio | real-time "
        "factor | peak RSS (MiB) |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %s | %s | %.1fM | %.2f | %.0f | %.1f MB | %.3f | %.1f | %.1f | %.2f | %.1f | **%.2f** | %.2f | "
                "%.2f | %.3f | %.3f | %.0f |\n",
        label.c_str(), deviceKindName(options.device), computeDTypeName(options.dtype),
        static_cast<double>(info.decoderParameters) / 1e6, loadSeconds, loadPeakMiB,
        static_cast<double>(info.decoderStepBytes) / 1e6, result->textSeconds, median * 1e3, p90 * 1e3, bandwidth / 1e9,
        floorSeconds * 1e3, median / floorSeconds, readBandwidth / 1e9, median / readFloorSeconds,
        result->codecSeconds / audioSeconds, audioSeconds / total, generatePeakMiB);
    return kExitOk;
}

// Streaming: time to first audio and streamed-vs-full SNR (one prompt, CFG, default sampling).
int benchStream(const Args& args)
{
    TempFolder temp;
    Expected<fs::path> dir = benchModelDir(args, temp);
    if (!dir) return reportError(dir.error());
    ModelOptions options;
    Expected<ComputeDType> dtype = parseComputeDType(args.getOr("dtype", "f32"));
    if (!dtype) return reportError(dtype.error());
    options.dtype = *dtype;
    auto model = MusicgenModel::load(*dir, options);
    temp.remove();
    if (!model) return reportError(model.error());
    Expected<long long> frames = args.integer("frames", 250);
    if (!frames) return reportError(frames.error());
    GenerationRequest request = GenerationRequest::defaultsFor((*model)->info());
    request.prompts = { "Classic Rock, electric guitar, keyboard, drums" };
    request.frames = *frames;
    Expected<StreamingBenchmark> r = benchmarkStreaming(*model, request);
    if (!r) return reportError(r.error());
    std::printf("| dtype | frames | time to first audio (s) | frames at first audio | generate (s) | stream decode (s) "
                "| full decode (s) "
                "| stream / full decode | SNR streamed vs full (dB) |\n|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %lld | %.2f | %lld | %.2f | %.2f | %.2f | %.2f | %.1f |\n", computeDTypeName(options.dtype),
        static_cast<long long>(r->frames), r->firstAudioSeconds, static_cast<long long>(r->framesAtFirstAudio),
        r->generateSeconds, r->streamDecodeSeconds, r->fullDecodeSeconds,
        r->fullDecodeSeconds > 0 ? r->streamDecodeSeconds / r->fullDecodeSeconds : 0.0, r->snrDb);
    return kExitOk;
}

// Loading from a warm page cache: time by stage, and peak RSS against the weights in the compute dtype.
int benchLoad(const Args& args)
{
    TempFolder temp;
    Expected<fs::path> dir = benchModelDir(args, temp);
    if (!dir) return reportError(dir.error());
    Expected<ModelOptions> parsed = modelOptions(args);
    if (!parsed) return reportError(parsed.error());
    const ModelOptions& options = *parsed;
    Expected<LoadBenchResult> r = benchmarkLoad(*dir, options);
    temp.remove();
    if (!r) return reportError(r.error());
    const double weightsMiB = static_cast<double>(r->weightBytes) / 1048576.0;
    std::printf("| device | dtype | weights (MiB) | load (s) | tokenizer (s) | checkpoint + T5 (s) | decoder (s) | "
                "codec (s) | RSS before (MiB) | peak RSS (MiB) | **peak / weights** | RSS after (MiB) |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %s | %.0f | **%.2f** | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | **%.2f** | %.0f |\n",
        deviceKindName(options.device), r->dtype.c_str(), weightsMiB, r->seconds, r->tokenizerSeconds,
        r->textEncoderSeconds, r->decoderSeconds, r->codecSeconds, r->rssBeforeMiB, r->peakRssMiB,
        r->peakRssMiB / weightsMiB, r->rssAfterMiB);
    return kExitOk;
}

// Slider moves by the run-time path and by the merge, and the step against the sliders carried at run time.
int benchSliders(const Args& args)
{
    TempFolder temp;
    Expected<fs::path> dir = benchModelDir(args, temp);
    if (!dir) return reportError(dir.error());
    Expected<ComputeDType> dtype = parseComputeDType(args.getOr("dtype", "f32"));
    if (!dtype) return reportError(dtype.error());
    Expected<long long> rank = args.integer("rank", 16);
    Expected<long long> frames = args.integer("frames", 24);
    if (!rank) return reportError(rank.error());
    if (!frames) return reportError(frames.error());
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (!metrics) return reportError(metrics.error());
    SliderBenchParams params;
    params.modelDir = *dir;
    params.options.dtype = *dtype;
    params.rank = *rank;
    params.frames = *frames;
    const std::string bankDtype = args.getOr("bank-dtype", "f32");
    if (bankDtype != "f32" && bankDtype != "bf16")
        return reportError(Error { ErrorCode::InvalidArgument, "bench: --bank-dtype must be f32 or bf16" });
    params.bf16Bank = bankDtype == "bf16";
    Expected<SliderBenchResult> r = benchmarkSliders(params, *metrics);
    temp.remove();
    if (!r) return reportError(r.error());
    std::printf("| dtype | rank | one slider, run time (ms) | same slider again, run time (ms) | all 13, run time (ms) "
                "| one slider, merge (ms) | all 13, merge (ms) |\n|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %lld | **%.2f** | **%.2f** | **%.2f** | %.0f | %.0f |\n\n", r->dtype.c_str(),
        static_cast<long long>(r->rank), r->runtimeOneMs, r->runtimeValueMs, r->runtimeAllMs, r->mergeOneMs,
        r->mergeAllMs);
    std::printf("| sliders at +0.5 | path | run-time factor bytes per step (MB) | of the step's weights | step median "
                "(ms) | **step / no slider** |\n|---|---|---|---|---|---|\n");
    for (const SliderStepRow& row : r->steps)
        std::printf("| %d | %s | %.1f | %.1f%% | %.1f | **%.3f** |\n", row.sliders, row.merged ? "merged" : "run time",
            static_cast<double>(row.runtimeFactorBytes) / 1e6,
            100.0 * static_cast<double>(row.runtimeFactorBytes) / static_cast<double>(r->stepBytes), row.stepMs,
            row.ratio);
    return kExitOk;
}

int benchMerge(const Args& args)
{
    if (!args.has("config"))
        return reportError(Error { ErrorCode::InvalidArgument, "bench merge: --config CONFIG.json is required" });
    Expected<long long> rank = args.integer("rank", 16);
    if (!rank) return reportError(rank.error());
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (!metrics) return reportError(metrics.error());
    MergeBenchParams params;
    params.config = *args.get("config");
    params.rank = *rank;
    params.device = args.getOr("device", "cpu");
    params.dtype = args.getOr("dtype", "f32");
    Expected<MergeBenchResult> result = benchmarkMerge(params, *metrics);
    if (!result) return reportError(result.error());
    const MergeBenchResult& r = *result;
    std::printf("| device | dtype | rank | adapters | modules | one slider (ms) | one slider, all active (ms) | all 13 "
                "(ms) | reset (ms) "
                "| memory added (MiB) |\n|---|---|---|---|---|---|---|---|---|---|\n");
    std::printf(
        "| %s | %s | %lld | %d | %d | %.0f | %.0f | %.0f | %.0f | %.0f (W0 %.0f + factors %.0f + scratch %.0f) |\n",
        r.device.c_str(), r.dtype.c_str(), static_cast<long long>(r.rank), r.adapters, r.modules, r.oneSliderMs,
        r.oneSliderAllActiveMs, r.allSlidersMs, r.resetMs,
        static_cast<double>(r.baseBytes + r.factorBytes + r.scratchBytes) / 1048576.0,
        static_cast<double>(r.baseBytes) / 1048576.0, static_cast<double>(r.factorBytes) / 1048576.0,
        static_cast<double>(r.scratchBytes) / 1048576.0);
    return kExitOk;
}

} // namespace

Command benchCommand()
{
    Command command;
    command.name = "bench";
    command.summary = "Benchmarks: 'bench generate' (decoder step vs. the memory-bandwidth floor, T5, EnCodec, RTF, "
                      "RSS), 'bench load' (load time and peak RSS against the weights), 'bench merge' (slider-move "
                      "latency), 'bench sliders' (run-time slider moves and their step cost), 'bench stream' (time to "
                      "first audio, streaming SNR), "
                      "'bench train' (DPO pairs per second, peak RSS).";
    command.positional = { "WHAT" };
    command.minPositional = 1;
    command.options = {
        { "config", OptionKind::Value, "CONFIG.json", "benchmark a random-weight model of this configuration" },
        { "model", OptionKind::Value, "DIR", "benchmark this checkpoint folder" },
        { "device", OptionKind::Value, "cpu|cuda", "compute device (default cpu)" },
        { "dtype", OptionKind::Value, "f32|bf16|f16", "compute dtype (default f32)" },
        { "frames", OptionKind::Value, "N", "frames to generate (default 50, one second)" },
        { "rank", OptionKind::Value, "R",
            "bench merge: LoRA rank of the random adapters (default 16); bench train: LoRA rank (default 8)" },
        { "steps", OptionKind::Value, "N", "bench train: timed optimiser steps (default 3)" },
        { "weights", OptionKind::Value, "auto|mapped|copied",
            "bench load, generate: where the weights live (default auto: copied into huge pages)" },
        { "batch", OptionKind::Value, "N", "bench train: pairs per step (default 1)" },
        { "checkpoint-layers", OptionKind::Flag, "", "bench train: activation checkpointing of the decoder layers" },
        { "bank-dtype", OptionKind::Value, "f32|bf16",
            "bench sliders: the random bank's factors (default f32; the bundled bank is bf16)" },
    };
    command.run = [](const Args& args) {
        const std::string& what = args.positional().front();
        if (what == "generate") return benchGenerate(args);
        if (what == "load") return benchLoad(args);
        if (what == "sliders") return benchSliders(args);
        if (what == "merge") return benchMerge(args);
        if (what == "stream") return benchStream(args);
        if (what == "train") return benchTrain(args);
        return reportError(Error { ErrorCode::InvalidArgument,
            "bench: unknown benchmark '" + what + "' (valid: generate, load, merge, sliders, stream, train)" });
    };
    return command;
}

} // namespace tmk::cli
