// prepareLaunch and finishedResult (training/run_launch.h): the effective options of a run, rank 0's decision
// shared with the other ranks, and a finished run's result read back.
#include "training/run_launch.h"

#include <nlohmann/json.hpp>

#include "tastemaker/log.h"

namespace tmk {

namespace {

// A resume on another world size keeps the global batch (micro-batch * accumulation * world size): the
// accumulation changes, or else the micro-batch shrinks. The error says when no split is even.
Expected<void> rebalance(TrainOptions& options, int64_t storedWorldSize, int64_t worldSize)
{
    if (storedWorldSize == worldSize) return {};
    const int64_t global = options.batchSize * options.gradientAccumulation * storedWorldSize;
    for (int64_t accumulation = 1; accumulation <= global; ++accumulation) {
        if (global % (worldSize * accumulation) != 0) continue;
        const int64_t batch = global / (worldSize * accumulation);
        if (batch > options.batchSize) continue;
        logMessage(LogLevel::Info,
            "resuming with " + std::to_string(worldSize) + " processes instead of " + std::to_string(storedWorldSize)
                + ": micro-batch " + std::to_string(batch) + ", gradient accumulation " + std::to_string(accumulation)
                + " (the global batch of " + std::to_string(global) + " pairs is kept)");
        options.batchSize = batch;
        options.gradientAccumulation = accumulation;
        options.distributed.worldSize = worldSize;
        return {};
    }
    return Error::inFile(ErrorCode::InvalidArgument, options.outDir.string(),
        "was started with a global batch of " + std::to_string(global) + " pairs, which " + std::to_string(worldSize)
            + " processes cannot share evenly; resume it with a world size that divides " + std::to_string(global));
}

// The options a run continues with: the stored ones, with the caller's device, folders, bank and world.
Expected<TrainOptions> effectiveOptions(const TrainOptions& given, const RunFolder& folder)
{
    if (!given.resume || !folder.hasCheckpoint()) return given;
    Expected<RunInfo> info = readRunInfo(folder.dir());
    if (!info) return info.error();
    TrainOptions options = info->options;
    options.model = given.model;
    options.bankDir = given.bankDir;
    options.outDir = given.outDir;
    if (!given.modelDir.empty()) options.modelDir = given.modelDir;
    if (!given.pairsDir.empty()) options.pairsDir = given.pairsDir;
    options.resume = true;
    const int64_t stored = options.distributed.worldSize;
    options.distributed = given.distributed;
    options.distributed.worldSize = stored;
    TMK_TRY(rebalance(options, stored, given.distributed.worldSize));
    return options;
}

Expected<void> checkRunFolder(const TrainOptions& options, const RunFolder& folder)
{
    if (options.resume || (!folder.hasCheckpoint() && !folder.hasAdapter())) return {};
    return Error::inFile(ErrorCode::InvalidArgument, options.outDir.string(),
        folder.hasAdapter() ? "already holds a finished adapter; choose another output folder or delete it"
                            : "holds an unfinished run; continue it with --resume, or choose another output folder");
}

// Rank 0's decision: the effective options, or why the run cannot start.
Expected<Launch> decide(const TrainOptions& given)
{
    const RunFolder folder(given.outDir);
    Launch launch;
    Expected<TrainOptions> options = effectiveOptions(given, folder);
    if (!options) return options.error();
    TMK_TRY(checkRunFolder(*options, folder));
    launch.options = *options;
    launch.resuming = options->resume && folder.hasCheckpoint();
    if (options->resume && !launch.resuming) {
        Expected<RunInfo> info = readRunInfo(options->outDir);
        launch.finished = info && info->finished;
    }
    return launch;
}

} // namespace

Expected<Launch> prepareLaunch(const TrainOptions& given)
{
    TMK_TRY(given.validate());
    if (given.distributed.worldSize == 1) return decide(given);
    Expected<std::shared_ptr<Collective>> group = Collective::join(given.distributed);
    if (!group) return group.error();
    nlohmann::json message;
    Expected<Launch> launch = Error { ErrorCode::Internal, "no launch" };
    try {
        if ((*group)->rank() == 0) {
            launch = decide(given);
            message = launch ? nlohmann::json { { "options", launch->options.toJson() },
                { "resuming", launch->resuming }, { "finished", launch->finished } }
                             : nlohmann::json { { "error", launch.error().message } };
            (*group)->share("launch", message.dump());
            (*group)->any(false); // every rank has read it before rank 0 goes on (or exits with the error)
        } else {
            message = nlohmann::json::parse((*group)->share("launch", ""));
            (*group)->any(false);
            if (message.contains("error"))
                return Error { ErrorCode::InvalidArgument,
                    "rank 0 could not start the run: " + message.at("error").get<std::string>() };
            Expected<TrainOptions> options = TrainOptions::fromJson(message.at("options").get<std::string>());
            if (!options) return options.error();
            Launch mine;
            mine.options = *options;
            mine.options.model = given.model; // this rank's device
            mine.options.outDir = given.outDir;
            mine.options.bankDir.clear(); // rank 0 registers the adapter
            mine.options.distributed = given.distributed;
            mine.finished = message.at("finished").get<bool>();
            launch = std::move(mine);
        }
    } catch (const CollectiveError& e) {
        return Error { ErrorCode::Device,
            "the training processes could not agree on the run: " + std::string(e.what()) };
    } catch (const nlohmann::json::exception& e) {
        return Error { ErrorCode::Format,
            "rank 0 sent a run description this rank cannot read: " + std::string(e.what()) };
    }
    if (!launch) return launch.error();
    launch->group = std::move(*group);
    return launch;
}

Expected<TrainResult> finishedResult(const RunFolder& folder)
{
    Expected<RunInfo> info = readRunInfo(folder.dir());
    if (!info) return info.error();
    TrainResult result;
    result.step = info->step;
    result.totalSteps = info->totalSteps;
    result.adapterDir = folder.dir();
    Expected<std::vector<TrainLogEntry>> log = readTrainLog(folder.dir());
    if (log)
        for (const TrainLogEntry& entry : *log)
            if (entry.split == "eval") result.lastEval = entry;
    return result;
}

} // namespace tmk
