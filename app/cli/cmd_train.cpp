// `train`: one DPO run (a metric and a direction) into an adapter folder; `train-all`: every available
// metric of a pairs folder, both directions, skipping finished runs and resuming interrupted ones.
// Ctrl+C cancels: the run saves a checkpoint and the command exits 130 (continue with --resume).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "local_launch.h"
#include "tastemaker/pairs.h"
#include "tastemaker/training.h"

namespace tmk::cli {

namespace fs = std::filesystem;

namespace {

CancelToken g_trainCancel;

std::vector<OptionSpec> trainOptionSpecs()
{
    return {
        { "model", OptionKind::Value, "DIR", "the base MusicGen model folder", true },
        { "pairs", OptionKind::Value, "DIR", "the pairs folder (tastemaker-cli pairs, then tokenize)", true },
        { "bank", OptionKind::Value, "DIR", "register the finished adapter in this bank's bank.json" },
        { "resume", OptionKind::Flag, "", "continue the run in the output folder from its checkpoint" },
        { "steps", OptionKind::Value, "N", "optimiser steps (wins over --epochs)" },
        { "epochs", OptionKind::Value, "E", "passes over the train pairs (default 1)" },
        { "lr", OptionKind::Value, "LR", "peak learning rate (default 5e-4)" },
        { "beta", OptionKind::Value, "B", "DPO beta (default 0.1)" },
        { "loss", OptionKind::Value, "sigmoid|ipo|hinge", "DPO loss (default sigmoid)" },
        { "rank", OptionKind::Value, "R", "LoRA rank (default 8)" },
        { "alpha", OptionKind::Value, "A", "LoRA alpha (default 16)" },
        { "rslora", OptionKind::Flag, "", "scale alpha / sqrt(r) instead of alpha / r" },
        { "targets", OptionKind::Value, "LIST",
            "LoRA target modules, comma-separated (default q_proj,k_proj,v_proj,out_proj,fc1,fc2)" },
        { "batch", OptionKind::Value, "N", "pairs per micro-batch (default 4)" },
        { "accum", OptionKind::Value, "N", "micro-batches per optimiser step (default 1)" },
        { "warmup", OptionKind::Value, "N", "warm-up steps (default 10)" },
        { "schedule", OptionKind::Value, "linear|cosine|constant",
            "learning-rate decay after warm-up (default linear)" },
        { "weight-decay", OptionKind::Value, "W", "AdamW weight decay (default 0)" },
        { "max-grad-norm", OptionKind::Value, "N", "clip gradients to this global norm (default 1; 0: off)" },
        { "max-frames", OptionKind::Value, "N", "crop token sequences to N frames (default 500 = 10 s)" },
        { "rpo-alpha", OptionKind::Value, "A",
            "add A times the chosen song's negative log-likelihood per code to the loss (TRL's rpo_alpha; default "
            "0: plain DPO)" },
        { "codebook-weights", OptionKind::Value, "LIST",
            "weight of each codebook in a sequence's log-probability, e.g. 1,0,0,0 (default: every code the "
            "same)" },
        { "checkpoint-layers", OptionKind::Flag, "",
            "activation checkpointing: recompute each decoder layer in the backward pass (less memory, ~1/3 "
            "more compute)" },
        { "eval-every", OptionKind::Value, "N",
            "evaluate on the test split every N steps (default 50; 0: at the end only)" },
        { "eval-pairs", OptionKind::Value, "N", "test pairs per evaluation (default 200; 0: all)" },
        { "checkpoint-every", OptionKind::Value, "N", "checkpoint every N steps (default 50)" },
        { "seed", OptionKind::Value, "S", "seed of the LoRA initialisation and data order (default 0)" },
        { "device", OptionKind::Value, "cpu|cuda", "compute device (default cpu)" },
        { "dtype", OptionKind::Value, "f32|bf16|f16", "compute dtype of the frozen model (default f32)" },
        { "nproc", OptionKind::Value, "N",
            "data-parallel: start N local training processes (else RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT as "
            "set by torchrun or srun are read)" },
        { "dist-timeout", OptionKind::Value, "S",
            "seconds a distributed run waits for the other processes before failing (default 600)" },
    };
}

Expected<void> readNumbers(const Args& args, TrainOptions& o)
{
    auto integer = [&](const char* name, int64_t& target) -> Expected<void> {
        Expected<long long> value = args.integer(name, target);
        if (!value) return value.error();
        target = *value;
        return {};
    };
    auto number = [&](const char* name, double& target) -> Expected<void> {
        Expected<double> value = args.number(name, target);
        if (!value) return value.error();
        target = *value;
        return {};
    };
    for (auto [name, target] : { std::pair { "steps", &o.maxSteps }, { "rank", &o.lora.rank },
             { "batch", &o.batchSize }, { "accum", &o.gradientAccumulation }, { "warmup", &o.warmupSteps },
             { "max-frames", &o.maxFrames }, { "eval-every", &o.evalEvery }, { "eval-pairs", &o.maxEvalPairs },
             { "checkpoint-every", &o.checkpointEvery } })
        TMK_TRY(integer(name, *target));
    for (auto [name, target] :
        { std::pair { "epochs", &o.epochs }, { "lr", &o.learningRate }, { "beta", &o.beta }, { "alpha", &o.lora.alpha },
            { "weight-decay", &o.weightDecay }, { "max-grad-norm", &o.maxGradNorm }, { "rpo-alpha", &o.rpoAlpha } })
        TMK_TRY(number(name, *target));
    int64_t seed = 0;
    TMK_TRY(integer("seed", seed));
    o.seed = static_cast<uint64_t>(seed);
    return {};
}

Expected<TrainOptions> trainOptionsFrom(const Args& args)
{
    TrainOptions o;
    o.modelDir = *args.get("model");
    o.pairsDir = *args.get("pairs");
    o.bankDir = args.getOr("bank", "");
    o.resume = args.has("resume");
    o.lora.rslora = args.has("rslora");
    o.checkpointLayers = args.has("checkpoint-layers");
    if (auto targets = args.get("targets")) o.lora.targets = splitList(*targets);
    if (auto weights = args.get("codebook-weights")) {
        Expected<std::vector<double>> parsed = numberList(*weights, "codebook-weights");
        if (!parsed) return parsed.error();
        o.codebookWeights = std::move(*parsed);
    }
    TMK_TRY(readNumbers(args, o));
    Expected<DpoLossType> loss = parseDpoLossType(args.getOr("loss", "sigmoid"));
    Expected<LrSchedule> schedule = parseLrSchedule(args.getOr("schedule", "linear"));
    Expected<DeviceKind> device = parseDeviceKind(args.getOr("device", "cpu"));
    Expected<ComputeDType> dtype = parseComputeDType(args.getOr("dtype", "f32"));
    if (!loss) return loss.error();
    if (!schedule) return schedule.error();
    if (!device) return device.error();
    if (!dtype) return dtype.error();
    o.loss = *loss;
    o.schedule = *schedule;
    o.model = ModelOptions { *device, *dtype };
    Expected<DistributedOptions> distributed = distributedFromEnvironment();
    if (!distributed) return distributed.error();
    o.distributed = *distributed;
    Expected<double> timeout = args.number("dist-timeout", o.distributed.timeoutSeconds);
    if (!timeout) return timeout.error();
    o.distributed.timeoutSeconds = *timeout;
    return o;
}

// --nproc N: 0 when absent (or 1); the error when it is malformed or the launch is distributed already.
Expected<int> localRanks(const Args& args, const TrainOptions& options)
{
    Expected<long long> nproc = args.integer("nproc", 1);
    if (!nproc) return nproc.error();
    if (*nproc < 1 || *nproc > 256)
        return Error { ErrorCode::InvalidArgument,
            "--nproc must be between 1 and 256 (given " + std::to_string(*nproc) + ")" };
    if (*nproc > 1 && options.distributed.worldSize > 1)
        return Error { ErrorCode::InvalidArgument,
            "--nproc starts its own processes, but this one was launched as rank "
                + std::to_string(options.distributed.rank) + " of " + std::to_string(options.distributed.worldSize)
                + " (WORLD_SIZE is set); use one or the other" };
    return *nproc > 1 ? static_cast<int>(*nproc) : 0;
}

TrainCallbacks printingCallbacks()
{
    TrainCallbacks callbacks;
    callbacks.cancel = &g_trainCancel;
    callbacks.onLog = [](const TrainLogEntry& e) {
        const bool eval = e.split == "eval";
        if (!eval && e.step % 10 != 0 && e.step != 1) return;
        const std::string p = eval ? "eval_" : "";
        std::fprintf(stderr, "%s step %lld (epoch %.2f): loss %.4f, accuracy %.3f, margin %.4f%s\n",
            eval ? "eval " : "train", static_cast<long long>(e.step), e.epoch, e.value(p + "loss").value_or(0),
            e.value(p + "rewards/accuracies").value_or(0), e.value(p + "rewards/margins").value_or(0),
            eval ? "" : (", lr " + std::to_string(e.value("learning_rate").value_or(0))).c_str());
    };
    return callbacks;
}

// Runs one training; returns the exit code.
int runOne(const TrainOptions& options, const std::vector<MetricInfo>& metrics)
{
    std::signal(SIGINT, [](int) { g_trainCancel.requestCancel(); });
    Expected<TrainResult> result = trainDpo(options, metrics, printingCallbacks());
    std::signal(SIGINT, SIG_DFL);
    if (!result) return reportError(result.error());
    if (options.distributed.rank != 0) return result->cancelled ? kExitCancelled : kExitOk; // rank 0 reports
    if (result->cancelled) {
        std::cerr << "cancelled at step " << result->step << " of " << result->totalSteps << "; checkpoint saved in "
                  << options.outDir.string() << " (continue with --resume)\n";
        return kExitCancelled;
    }
    std::cerr << "adapter " << adapterName(options.metric, options.direction) << " written to "
              << result->adapterDir.string();
    if (result->lastEval)
        std::cerr << " (eval rewards/accuracies " << result->lastEval->value("eval_rewards/accuracies").value_or(0)
                  << ")";
    std::cerr << "\n";
    return kExitOk;
}

// One run's options (train, export-dpo): the shared ones, --metric, --direction and --out.
Expected<TrainOptions> runOptionsFrom(const Args& args)
{
    Expected<TrainOptions> options = trainOptionsFrom(args);
    if (!options) return options;
    Expected<AdapterSide> side = parseDirection(*args.get("direction"));
    if (!side) return side.error();
    options->metric = *args.get("metric");
    options->direction = *side;
    options->outDir = *args.get("out");
    return options;
}

int runTrain(const Args& args)
{
    Expected<TrainOptions> options = runOptionsFrom(args);
    if (!options) return reportError(options.error());
    Expected<int> nproc = localRanks(args, *options);
    if (!nproc) return reportError(nproc.error());
    if (*nproc > 0) return launchLocalRanks(*nproc, options->distributed.timeoutSeconds);
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (!metrics) return reportError(metrics.error());
    return runOne(*options, *metrics);
}

// The metrics report.json marks available with train pairs (pairs.jsonl's metrics when there is no report).
std::vector<std::string> trainableMetrics(const PairSet& set, const std::vector<MetricInfo>& metrics)
{
    std::vector<std::string> ids;
    for (const MetricInfo& metric : metrics) {
        const MetricPairStats* stats = set.report.find(metric.id);
        bool has = stats ? stats->available && stats->trainPairs > 0 : false;
        if (!stats)
            for (const PreferencePair& pair : set.pairs) has = has || (pair.metric == metric.id && !pair.test);
        if (has) ids.push_back(metric.id);
    }
    return ids;
}

std::string joinedList(const std::vector<std::string>& items)
{
    std::string text;
    for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
    return text;
}

int runTrainAll(const Args& args)
{
    Expected<TrainOptions> base = trainOptionsFrom(args);
    if (!base) return reportError(base.error());
    Expected<int> nproc = localRanks(args, *base);
    if (!nproc) return reportError(nproc.error());
    if (*nproc > 0) return launchLocalRanks(*nproc, base->distributed.timeoutSeconds);
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (!metrics) return reportError(metrics.error());
    Expected<PairSet> set = readPairSet(base->pairsDir);
    if (!set) return reportError(set.error());
    const fs::path root = *args.get("out");
    std::vector<std::string> chosen = trainableMetrics(*set, *metrics);
    if (args.has("metrics")) { // these, in this order
        const std::vector<std::string> trainable = std::move(chosen);
        chosen = splitList(*args.get("metrics"));
        for (const std::string& metric : chosen)
            if (std::find(trainable.begin(), trainable.end(), metric) == trainable.end())
                return reportError(Error { ErrorCode::InvalidArgument,
                    "train-all: \"" + metric + "\" is not a metric with train pairs in " + base->pairsDir.string()
                        + " (it has: " + joinedList(trainable) + ")." });
    }
    int failures = 0;
    for (const std::string& metric : chosen) {
        for (AdapterSide side : { AdapterSide::Positive, AdapterSide::Negative }) {
            TrainOptions o = *base;
            o.metric = metric;
            o.direction = side;
            o.outDir = root / adapterName(metric, side);
            Expected<RunInfo> info = readRunInfo(o.outDir);
            o.resume = info.ok(); // finished: returns at once (and registers); interrupted: continues
            if (o.distributed.rank == 0)
                std::cerr << "== " << adapterName(metric, side)
                          << (info && info->finished ? " (finished)"
                                     : info          ? " (resuming)"
                                                     : "")
                          << "\n";
            const int code = runOne(o, *metrics);
            if (code == kExitCancelled) return code;
            if (code != kExitOk) ++failures;
        }
    }
    if (failures > 0) std::cerr << "tastemaker-cli: " << failures << " runs failed (see above)\n";
    return failures > 0 ? kExitFailure : kExitOk;
}

} // namespace

Command trainCommand()
{
    Command command;
    command.name = "train";
    command.summary = "DPO fine-tune one LoRA adapter (a metric and a direction) on a pairs folder's token cache.";
    command.options = trainOptionSpecs();
    command.options.push_back(
        { "metric", OptionKind::Value, "M", "the metric (an id of resources/metrics.json)", true });
    command.options.push_back(
        { "direction", OptionKind::Value, "+|-", "+: the higher song is chosen; -: it is rejected", true });
    command.options.push_back(
        { "out", OptionKind::Value, "ADAPTER_DIR", "the run folder; holds the PEFT adapter when finished", true });
    command.run = runTrain;
    return command;
}

int runExportDpo(const Args& args)
{
    Expected<TrainOptions> options = runOptionsFrom(args);
    if (!options) return reportError(options.error());
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (!metrics) return reportError(metrics.error());
    Expected<DpoExportReport> report = exportDpoData(*options, *metrics, options->outDir);
    if (!report) return reportError(report.error());
    std::cerr << "exported " << report->trainPairs << " train and " << report->testPairs << " test pairs ("
              << report->songs << " songs";
    if (report->skippedPairs > 0) std::cerr << "; " << report->skippedPairs << " pairs without cached codes skipped";
    std::cerr << ") to " << options->outDir.string() << "\n";
    return kExitOk;
}

Command exportDpoCommand()
{
    Command command;
    command.name = "export-dpo";
    command.summary = "Write one run's pairs (JSONL) and codes (safetensors) for trainers outside Tastemaker "
                      "(PEFT + TRL; docs/training.md).";
    for (const OptionSpec& spec : trainOptionSpecs())
        if (spec.name != "nproc" && spec.name != "dist-timeout" && spec.name != "resume" && spec.name != "bank")
            command.options.push_back(spec);
    command.options.push_back(
        { "metric", OptionKind::Value, "M", "the metric (an id of resources/metrics.json)", true });
    command.options.push_back(
        { "direction", OptionKind::Value, "+|-", "+: the higher song is chosen; -: it is rejected", true });
    command.options.push_back({ "out", OptionKind::Value, "DIR", "the export folder", true });
    command.run = runExportDpo;
    return command;
}

Command trainAllCommand()
{
    Command command;
    command.name = "train-all";
    command.summary
        = "DPO fine-tune every available metric of a pairs folder in both directions (ROOT/<metric>+, ROOT/<metric>-).";
    command.options = trainOptionSpecs();
    command.options.push_back(
        { "out", OptionKind::Value, "ROOT", "the folder holding one run folder per adapter", true });
    command.options.push_back({ "metrics", OptionKind::Value, "LIST",
        "comma-separated metrics to train, in this order (default: every metric with train pairs)" });
    command.run = runTrainAll;
    return command;
}

} // namespace tmk::cli
