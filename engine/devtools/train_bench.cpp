// `bench train`: DPO steps on a random-weight model of a config's size with synthetic codes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/randint.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#include "core/stopwatch.h"
#include "pipeline/model_access.h"
#include "tastemaker/devtools/benchmarks.h"
#include "tastemaker/devtools/model_maker.h"
#include "training/dpo_loss.h"
#include "training/lora_runtime.h"
#include "training/optimizer.h"
#include "training/sequence_logprob.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

void synchronize(const at::Device& device)
{
    if (device.is_cuda()) torch::cuda::synchronize();
}

Expected<std::shared_ptr<const MusicgenModel>> makeBenchModel(const TrainBenchParams& params)
{
    const fs::path dir = fs::temp_directory_path() / ("tastemaker-train-bench-" + std::to_string(::getpid()));
    MakeModelOptions make;
    make.configJson = fs::is_directory(params.config) ? params.config / "config.json" : params.config;
    make.spieceModel = params.spieceModel;
    make.outDir = dir;
    make.seed = params.seed;
    Expected<void> made = makeRandomModel(make);
    ModelOptions options;
    Expected<DeviceKind> device = parseDeviceKind(params.device);
    if (!device) return device.error();
    options.device = *device;
    Expected<ComputeDType> dtype = parseComputeDType(params.dtype);
    if (!dtype) return dtype.error();
    options.dtype = *dtype;
    Expected<std::shared_ptr<const MusicgenModel>> model
        = made ? MusicgenModel::load(dir, options) : Expected<std::shared_ptr<const MusicgenModel>>(made.error());
    std::error_code ec;
    fs::remove_all(dir, ec);
    return model;
}

} // namespace

std::string TrainBenchResult::toString() const
{
    char text[512];
    std::snprintf(text, sizeof text,
        "| device | base dtype | layer checkpoints | frames | batch (pairs) | decoder params | LoRA params | reference "
        "pass (s/pair) | step (s) | "
        "pairs/s | "
        "pairs/s incl. reference | step / reference pass | peak RSS (MiB) "
        "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        "| %s | %s | %s | %lld | %lld | %.1fM | %.2fM | %.3f | %.3f | %.3f | %.3f | %.2fx | %.0f |\n",
        device.c_str(), dtype.c_str(), checkpointLayers ? "on" : "off", static_cast<long long>(frames),
        static_cast<long long>(batchSize), static_cast<double>(decoderParameters) / 1e6,
        static_cast<double>(loraParameters) / 1e6, referenceSecondsPerPair, secondsPerStep, pairsPerSecond,
        static_cast<double>(batchSize) / (secondsPerStep + referenceSecondsPerPair * static_cast<double>(batchSize)),
        secondsPerStep / (referenceSecondsPerPair * static_cast<double>(batchSize)), peakRssMiB);
    return text;
}

Expected<TrainBenchResult> benchmarkTraining(const TrainBenchParams& params)
{
    if (params.steps < 1 || params.frames < 1 || params.batchSize < 1)
        return Error { ErrorCode::InvalidArgument, "bench train: steps, frames and batch must be at least 1" };
    Expected<std::shared_ptr<const MusicgenModel>> model = makeBenchModel(params);
    if (!model) return model.error();
    resetPeakRss(); // the peak of writing the random checkpoint is not training's
    // The benchmark owns its private model: a LoRA hook on the decoder, as in training.
    const MusicgenModel::Impl& impl = modelParts(**model);
    MusicgenDecoder& decoder = writableDecoder(**model);
    if (params.frames + decoder.config().numCodebooks > decoder.config().maxPositions)
        return Error { ErrorCode::InvalidArgument,
            "bench train: " + std::to_string(params.frames) + " frames exceed the model's positions" };
    TrainBenchResult result;
    result.device = params.device;
    result.dtype = params.dtype;
    result.checkpointLayers = params.checkpointLayers;
    result.frames = params.frames;
    result.batchSize = params.batchSize;
    result.steps = params.steps;
    result.decoderParameters = (*model)->info().decoderParameters;
    try {
        c10::InferenceMode notInference(false);
        at::AutoGradMode grad(true);
        auto lora = LoraRuntime::create(decoder, params.lora, params.seed);
        if (!lora) return lora.error();
        result.loraParameters = (*lora)->parameterCount();
        ScopedLoraHook hook(decoder, lora->get());
        ScopedLayerCheckpointing checkpointing(decoder, params.checkpointLayers);
        ScopedAutocast autocast(decoder, decoder.dtype() != at::kFloat);
        AdamW adam((*lora)->parameters(), 0.0);
        at::Generator gen = at::detail::createCPUGenerator(params.seed);
        const int64_t n = params.batchSize;
        at::Tensor codes = at::randint(decoder.config().vocabSize,
            { 2 * n, decoder.config().numCodebooks, params.frames }, gen, at::kLong); // [2n, K, T]
        std::vector<std::string> prompts(static_cast<size_t>(2 * n), "Classic Rock, electric guitar, keyboard, drums");
        at::Tensor reference;
        std::vector<double> referenceSeconds;
        for (int repeat = 0; repeat < 2; ++repeat) { // the first pass warms up
            auto start = SteadyClock::now();
            at::NoGradGuard noGrad;
            ScopedLoraDisabled off(**lora);
            reference = sequenceLogProbs(
                decoder, encodePromptsNoGrad(*impl.tokenizer, *impl.textEncoder, prompts, impl.device), codes);
            synchronize(impl.device);
            referenceSeconds.push_back(secondsSince(start));
        }
        result.referenceSecondsPerPair = referenceSeconds.back() / static_cast<double>(n);
        std::vector<double> seconds;
        for (int64_t step = 0; step <= params.steps; ++step) { // step 0 warms up
            const auto start = SteadyClock::now();
            at::Tensor logps = sequenceLogProbs(
                decoder, encodePromptsNoGrad(*impl.tokenizer, *impl.textEncoder, prompts, impl.device), codes);
            DpoLossOutput out = dpoLoss(DpoLossType::Sigmoid, 0.1, logps.narrow(0, 0, n), logps.narrow(0, n, n),
                reference.narrow(0, 0, n), reference.narrow(0, n, n));
            out.losses.mean().backward();
            clipGradNorm((*lora)->parameters(), 1.0);
            adam.step(1e-4);
            adam.zeroGrad();
            synchronize(impl.device);
            if (step > 0) seconds.push_back(secondsSince(start));
        }
        std::sort(seconds.begin(), seconds.end());
        result.secondsPerStep = seconds[seconds.size() / 2];
        result.pairsPerSecond = static_cast<double>(n) / result.secondsPerStep;
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, std::string("bench train failed: ") + e.what_without_backtrace() };
    } catch (const std::bad_alloc&) {
        return Error { ErrorCode::Device, "bench train failed: out of memory" };
    }
    result.peakRssMiB = peakRssMiB();
    return result;
}

} // namespace tmk
