// TrainOptions: validation and run.json's "options" object; the small parsers; TrainLogEntry's JSON line.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tastemaker/training.h"

namespace tmk {

using nlohmann::json;

Expected<DpoLossType> parseDpoLossType(const std::string& text)
{
    if (text == "sigmoid") return DpoLossType::Sigmoid;
    if (text == "ipo") return DpoLossType::Ipo;
    if (text == "hinge") return DpoLossType::Hinge;
    return Error { ErrorCode::InvalidArgument, "unknown DPO loss '" + text + "' (valid: sigmoid, ipo, hinge)" };
}

const char* dpoLossTypeName(DpoLossType type)
{
    switch (type) {
    case DpoLossType::Sigmoid:
        return "sigmoid";
    case DpoLossType::Ipo:
        return "ipo";
    case DpoLossType::Hinge:
        return "hinge";
    }
    return "?";
}

Expected<LrSchedule> parseLrSchedule(const std::string& text)
{
    if (text == "linear") return LrSchedule::Linear;
    if (text == "cosine") return LrSchedule::Cosine;
    if (text == "constant") return LrSchedule::Constant;
    return Error { ErrorCode::InvalidArgument,
        "unknown learning-rate schedule '" + text + "' (valid: linear, cosine, constant)" };
}

const char* lrScheduleName(LrSchedule schedule)
{
    switch (schedule) {
    case LrSchedule::Linear:
        return "linear";
    case LrSchedule::Cosine:
        return "cosine";
    case LrSchedule::Constant:
        return "constant";
    }
    return "?";
}

Expected<AdapterSide> parseDirection(const std::string& text)
{
    if (text == "+" || text == "positive") return AdapterSide::Positive;
    if (text == "-" || text == "negative") return AdapterSide::Negative;
    return Error { ErrorCode::InvalidArgument, "unknown direction '" + text + "' (valid: + or -)" };
}

namespace {

// The value of an integer launch variable; nullopt when unset.
Expected<std::optional<int64_t>> integerVariable(const char* name)
{
    const char* text = std::getenv(name);
    if (!text || !*text) return std::optional<int64_t> {};
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0)
        return Error { ErrorCode::InvalidArgument,
            std::string("the launch variable ") + name + "=\"" + text + "\" is not a non-negative integer" };
    return std::optional<int64_t> { value };
}

} // namespace

Expected<DistributedOptions> distributedFromEnvironment()
{
    DistributedOptions d;
    // torchrun / PyTorchJob first; srun's variables when they are absent.
    const char* names[2][3]
        = { { "RANK", "WORLD_SIZE", "LOCAL_RANK" }, { "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID" } };
    for (const auto& set : names) {
        Expected<std::optional<int64_t>> rank = integerVariable(set[0]), size = integerVariable(set[1]),
                                         local = integerVariable(set[2]);
        for (const auto* value : { &rank, &size, &local })
            if (!*value) return value->error();
        if (!rank->has_value() && !size->has_value()) continue;
        if (!rank->has_value() || !size->has_value())
            return Error { ErrorCode::InvalidArgument,
                std::string("the launch sets ") + (rank->has_value() ? set[0] : set[1]) + " but not "
                    + (rank->has_value() ? set[1] : set[0]) + "; a distributed run needs both" };
        d.rank = **rank;
        d.worldSize = **size;
        d.localRank = local->value_or(d.rank);
        break;
    }
    if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) d.masterAddr = addr;
    Expected<std::optional<int64_t>> port = integerVariable("MASTER_PORT");
    if (!port) return port.error();
    if (port->has_value()) d.masterPort = **port;
    if (d.worldSize < 1 || d.rank >= d.worldSize)
        return Error { ErrorCode::InvalidArgument,
            "the launch gives rank " + std::to_string(d.rank) + " of a world of " + std::to_string(d.worldSize)
                + " processes; the rank must be below the world size" };
    if (d.masterPort < 1 || d.masterPort > 65535)
        return Error { ErrorCode::InvalidArgument,
            "MASTER_PORT=" + std::to_string(d.masterPort) + " is not a port (1 to 65535)" };
    return d;
}

Expected<void> checkCodebookWeights(const std::vector<double>& weights)
{
    double sum = 0.0;
    for (double w : weights) {
        if (!(w >= 0.0 && std::isfinite(w)))
            return Error { ErrorCode::InvalidArgument, "codebook weights must be finite and not negative" };
        sum += w;
    }
    if (!weights.empty() && !(sum > 0.0))
        return Error { ErrorCode::InvalidArgument, "at least one codebook weight must be positive" };
    return {};
}

Expected<void> TrainOptions::validate() const
{
    auto bad = [](const std::string& message) { return Error { ErrorCode::InvalidArgument, message }; };
    if (modelDir.empty()) return bad("training needs a model folder (--model)");
    if (pairsDir.empty()) return bad("training needs a pairs folder (--pairs)");
    if (outDir.empty()) return bad("training needs an output folder (--out)");
    if (metric.empty()) return bad("training needs a metric (--metric)");
    if (lora.rank < 1 || lora.rank > 1024) return bad("the LoRA rank must be between 1 and 1024");
    if (!(lora.alpha > 0) || !std::isfinite(lora.alpha)) return bad("the LoRA alpha must be positive");
    if (lora.targets.empty()) return bad("the LoRA needs at least one target module (--targets)");
    if (!(beta > 0) || !std::isfinite(beta)) return bad("beta must be positive");
    if (!(learningRate > 0) || !std::isfinite(learningRate)) return bad("the learning rate must be positive");
    if (weightDecay < 0 || !std::isfinite(weightDecay)) return bad("the weight decay must not be negative");
    if (warmupSteps < 0) return bad("the warm-up steps must not be negative");
    if (maxSteps < 0) return bad("the step count must not be negative");
    if (maxSteps == 0 && (!(epochs > 0) || !std::isfinite(epochs)))
        return bad("the epoch count must be positive (or give a step count)");
    if (batchSize < 1) return bad("the batch size must be at least 1");
    if (gradientAccumulation < 1) return bad("gradient accumulation must be at least 1");
    if (!std::isfinite(maxGradNorm)) return bad("the gradient-norm limit must be finite (0 disables clipping)");
    if (evalEvery < 0 || checkpointEvery < 0) return bad("--eval-every and --checkpoint-every must not be negative");
    if (maxFrames < 1) return bad("the frame limit must be at least 1");
    if (!(rpoAlpha >= 0) || !std::isfinite(rpoAlpha)) return bad("--rpo-alpha must be finite and not negative");
    TMK_TRY(checkCodebookWeights(codebookWeights));
    if (maxEvalPairs < 0) return bad("the evaluation pair limit must not be negative (0: every test pair)");
    const DistributedOptions& d = distributed;
    if (d.worldSize < 1) return bad("the world size must be at least 1");
    if (d.rank < 0 || d.rank >= d.worldSize)
        return bad("rank " + std::to_string(d.rank) + " is outside the world of " + std::to_string(d.worldSize)
            + " processes (ranks run from 0 to " + std::to_string(d.worldSize - 1) + ")");
    if (d.worldSize > 1 && (d.masterPort < 1 || d.masterPort > 65535))
        return bad("the master port must be between 1 and 65535");
    if (d.worldSize > 1 && d.masterAddr.empty()) return bad("a distributed run needs the master address (MASTER_ADDR)");
    if (!(d.timeoutSeconds > 0) || !std::isfinite(d.timeoutSeconds))
        return bad("the distributed timeout must be positive");
    return {};
}

std::string TrainOptions::toJson() const
{
    json j = {
        { "model", modelDir.string() },
        { "pairs", pairsDir.string() },
        { "out", outDir.string() },
        { "bank", bankDir.string() },
        { "metric", metric },
        { "direction", sideSymbol(direction) },
        { "lora",
            { { "rank", lora.rank }, { "alpha", lora.alpha }, { "rslora", lora.rslora },
                { "targets", lora.targets } } },
        { "loss", dpoLossTypeName(loss) },
        { "beta", beta },
        { "learning_rate", learningRate },
        { "weight_decay", weightDecay },
        { "schedule", lrScheduleName(schedule) },
        { "warmup_steps", warmupSteps },
        { "max_steps", maxSteps },
        { "epochs", epochs },
        { "batch_size", batchSize },
        { "gradient_accumulation", gradientAccumulation },
        { "max_grad_norm", maxGradNorm },
        { "eval_every", evalEvery },
        { "checkpoint_every", checkpointEvery },
        { "max_frames", maxFrames },
        { "checkpoint_layers", checkpointLayers },
        { "max_eval_pairs", maxEvalPairs },
        { "seed", seed },
        { "device", deviceKindName(model.device) },
        { "dtype", computeDTypeName(model.dtype) },
        { "world_size", distributed.worldSize },
    };
    if (!codebookWeights.empty()) j["codebook_weights"] = codebookWeights; // older runs have none: all 1
    if (rpoAlpha > 0) j["rpo_alpha"] = rpoAlpha; // older runs: plain DPO
    return j.dump(2);
}

namespace {

template <typename T> void readIf(const json& j, const char* key, T& target)
{
    if (j.contains(key) && !j.at(key).is_null()) target = j.at(key).get<T>();
}

Expected<void> readEnums(const json& j, TrainOptions& o)
{
    auto text = [&](const char* key, const std::string& fallback) {
        return j.contains(key) ? j.at(key).get<std::string>() : fallback;
    };
    Expected<AdapterSide> side = parseDirection(text("direction", "+"));
    if (!side) return side.error();
    Expected<DpoLossType> loss = parseDpoLossType(text("loss", "sigmoid"));
    if (!loss) return loss.error();
    Expected<LrSchedule> schedule = parseLrSchedule(text("schedule", "linear"));
    if (!schedule) return schedule.error();
    Expected<DeviceKind> device = parseDeviceKind(text("device", "cpu"));
    if (!device) return device.error();
    Expected<ComputeDType> dtype = parseComputeDType(text("dtype", "f32"));
    if (!dtype) return dtype.error();
    o.direction = *side;
    o.loss = *loss;
    o.schedule = *schedule;
    o.model.device = *device;
    o.model.dtype = *dtype;
    return {};
}

} // namespace

Expected<TrainOptions> TrainOptions::fromJson(const std::string& text)
{
    try {
        const json j = json::parse(text);
        TrainOptions o;
        std::string model, pairs, out, bank;
        readIf(j, "model", model);
        readIf(j, "pairs", pairs);
        readIf(j, "out", out);
        readIf(j, "bank", bank);
        o.modelDir = model, o.pairsDir = pairs, o.outDir = out, o.bankDir = bank;
        readIf(j, "metric", o.metric);
        if (j.contains("lora")) {
            const json& l = j.at("lora");
            readIf(l, "rank", o.lora.rank);
            readIf(l, "alpha", o.lora.alpha);
            readIf(l, "rslora", o.lora.rslora);
            readIf(l, "targets", o.lora.targets);
        }
        readIf(j, "beta", o.beta);
        readIf(j, "learning_rate", o.learningRate);
        readIf(j, "weight_decay", o.weightDecay);
        readIf(j, "warmup_steps", o.warmupSteps);
        readIf(j, "max_steps", o.maxSteps);
        readIf(j, "epochs", o.epochs);
        readIf(j, "batch_size", o.batchSize);
        readIf(j, "gradient_accumulation", o.gradientAccumulation);
        readIf(j, "max_grad_norm", o.maxGradNorm);
        readIf(j, "eval_every", o.evalEvery);
        readIf(j, "checkpoint_every", o.checkpointEvery);
        readIf(j, "max_frames", o.maxFrames);
        readIf(j, "checkpoint_layers", o.checkpointLayers);
        readIf(j, "max_eval_pairs", o.maxEvalPairs);
        readIf(j, "codebook_weights", o.codebookWeights);
        readIf(j, "rpo_alpha", o.rpoAlpha);
        readIf(j, "seed", o.seed);
        readIf(j, "world_size", o.distributed.worldSize);
        TMK_TRY(readEnums(j, o));
        return o;
    } catch (const json::exception& e) {
        return Error { ErrorCode::Format, std::string("training options: ") + e.what() };
    }
}

std::optional<double> TrainLogEntry::value(const std::string& name) const
{
    for (const auto& [key, v] : values)
        if (key == name) return v;
    return std::nullopt;
}

std::string TrainLogEntry::toJson() const
{
    json j = json::object();
    j["step"] = step;
    j["epoch"] = epoch;
    j["split"] = split;
    for (const auto& [key, v] : values) j[key] = std::isfinite(v) ? json(v) : json(nullptr);
    return j.dump();
}

} // namespace tmk
