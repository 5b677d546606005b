// `train-codec`: trains a small EnCodec on a folder of WAVs or a rendered world (docs/codec-training.md).
#include <cstdio>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/codec_training.h"

namespace tmk::cli {

namespace {

Expected<CodecTrainOptions> codecOptionsFrom(const Args& args)
{
    CodecTrainOptions options;
    if (auto audio = args.get("audio")) options.audioDir = *audio;
    if (auto world = args.get("world")) options.worldDir = *world;
    options.outDir = *args.get("out");
    options.resume = args.has("resume");
    if (auto init = args.get("init-from")) options.initFrom = *init;
    options.dataDependentInit = !args.has("no-data-init");
    options.decoderOnly = args.has("decoder-only");
    TMK_TRY(args.readIntegers(
        { { "steps", &options.steps }, { "batch", &options.batch }, { "checkpoint-every", &options.checkpointEvery },
            { "log-every", &options.logEvery }, { "warmup", &options.warmupSteps } }));
    Expected<long long> seed = args.integer("seed", 0);
    if (!seed) return seed.error();
    options.seed = static_cast<uint64_t>(*seed);
    Expected<long long> threads = args.integer("threads", 0);
    if (!threads) return threads.error();
    options.threads = static_cast<int>(*threads);
    TMK_TRY(args.readNumbers({ { "seconds", &options.seconds }, { "lr", &options.learningRate },
        { "adversarial", &options.adversarialWeight }, { "feature-matching", &options.featureMatchingWeight },
        { "disc-lr", &options.discriminatorLearningRate } }));
    CodecLossMix& w = options.loss;
    const std::pair<const char*, double*> weights[]
        = { { "w-l1", &w.waveformL1 }, { "w-mel", &w.logMel }, { "w-stft", &w.logStft }, { "w-chroma", &w.chroma },
              { "w-sc", &w.spectralConvergence }, { "w-commitment", &w.commitment } };
    for (const auto& [name, target] : weights) {
        TMK_TRY(args.readNumbers({ { name, target } }));
        if (!(*target >= 0.0))
            return Error { ErrorCode::InvalidArgument, std::string("--") + name + " must not be negative" };
    }
    return options;
}

int runTrainCodec(const Args& args)
{
    Expected<CodecTrainOptions> options = codecOptionsFrom(args);
    if (!options) return reportError(options.error());
    auto progress = [](const CodecTrainProgress& p) {
        std::fprintf(stderr, "step %lld/%lld  loss %.4f  %.2f steps/s  ETA %s\n", static_cast<long long>(p.step),
            static_cast<long long>(p.totalSteps), p.loss, p.stepsPerSecond, clockText(p.etaSeconds).c_str());
    };
    Expected<CodecTrainResult> result = trainCodec(*options, progress);
    if (!result) return reportError(result.error());
    std::cerr << "trained " << result->steps << " steps on " << result->trainSongs << " songs (" << result->heldOutSongs
              << " held out); final loss " << result->finalLoss << "; codec in " << result->codecDir.string() << "\n";
    return kExitOk;
}

} // namespace

Command trainCodecCommand()
{
    Command command;
    command.name = "train-codec";
    command.summary = "Train an EnCodec (Hugging Face format) on a folder of WAVs or a world's audio.";
    command.options = {
        { "audio", OptionKind::Value, "DIR", "a folder of .wav files, one song each" },
        { "world", OptionKind::Value, "DIR", "a world folder: tracks.csv + audio/<track_id>.wav" },
        { "out", OptionKind::Value, "DIR", "the run folder: checkpoint, loss.csv, loss.png and codec/", true },
        { "steps", OptionKind::Value, "N", "optimiser steps in all (default 1000)" },
        { "batch", OptionKind::Value, "N", "crops per step (default 8)" },
        { "seconds", OptionKind::Value, "S", "crop length in seconds (default 0.5)" },
        { "seed", OptionKind::Value, "S", "seed of the weights, the split and the crops (default 0)" },
        { "lr", OptionKind::Value, "LR", "peak Adam learning rate (default 3e-4)" },
        { "warmup", OptionKind::Value, "N", "linear warm-up steps (default 200)" },
        { "checkpoint-every", OptionKind::Value, "N", "steps between checkpoints (default 200)" },
        { "log-every", OptionKind::Value, "N", "steps between progress lines (default 10)" },
        { "w-l1", OptionKind::Value, "W", "weight of the waveform L1 term (default 0.1)" },
        { "w-mel", OptionKind::Value, "W", "weight of the multi-resolution log-mel term (default 1)" },
        { "w-stft", OptionKind::Value, "W", "weight of the multi-resolution log-STFT term (default 1)" },
        { "w-chroma", OptionKind::Value, "W", "weight of the chroma term (default 4)" },
        { "w-sc", OptionKind::Value, "W", "weight of the spectral-convergence term (default 2)" },
        { "w-commitment", OptionKind::Value, "W", "weight of the RVQ commitment term (default 1)" },
        { "no-data-init", OptionKind::Flag, "", "keep PyTorch's default initialisation (no data-dependent init)" },
        { "adversarial", OptionKind::Value, "W",
            "weight of the adversarial (hinge) loss against a multi-scale STFT discriminator (default 0: no GAN)" },
        { "feature-matching", OptionKind::Value, "W", "weight of the discriminator feature-matching loss (default 0)" },
        { "disc-lr", OptionKind::Value, "LR", "the discriminator's learning rate (default 3e-4)" },
        { "decoder-only", OptionKind::Flag, "",
            "train the decoder only: the encoder and codebooks, so every song's codes, stay as --init-from's" },
        { "init-from", OptionKind::Value, "PATH",
            "start a fresh run from this codec's weights (a codec or model folder of the same shape)" },
        { "resume", OptionKind::Flag, "", "continue from DIR/checkpoint.safetensors when it exists" },
        { "threads", OptionKind::Value, "N", "intra-op threads (default: libtorch's)" },
    };
    command.run = runTrainCodec;
    return command;
}

} // namespace tmk::cli
