#include "training/run_folder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/json.h"
#include "tastemaker/fileio.h"
#include "tensorio/torch/torch_tensor.h"

namespace tmk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kRunFile = "run.json";
constexpr const char* kMetricsFile = "metrics.jsonl";
constexpr const char* kLogFile = "train.log";
constexpr const char* kStateTensors = "state.safetensors";
constexpr const char* kStateJson = "state.json";

Expected<std::map<std::string, at::Tensor>> readAllTensors(const fs::path& path)
{
    Expected<SafetensorsFile> file = SafetensorsFile::open(path);
    if (!file) return file.error();
    std::map<std::string, at::Tensor> tensors;
    for (const TensorInfo& info : file->tensors())
        tensors[info.name] = toTensor(file->data(info), info.dtype, info.shape);
    return tensors;
}

// Splits "prefix/name" tensors into the map of `prefix`.
std::map<std::string, at::Tensor> withPrefix(const std::map<std::string, at::Tensor>& all, const std::string& prefix)
{
    std::map<std::string, at::Tensor> out;
    for (const auto& [name, tensor] : all)
        if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = tensor;
    return out;
}

Expected<TrainLogEntry> parseLogLine(const std::string& line, const std::string& where)
{
    try {
        const json j = json::parse(line);
        TrainLogEntry entry;
        entry.step = j.at("step").get<int64_t>();
        entry.epoch = j.at("epoch").get<double>();
        entry.split = j.at("split").get<std::string>();
        for (const auto& [key, value] : j.items()) {
            if (key == "step" || key == "epoch" || key == "split") continue;
            entry.values.emplace_back(
                key, value.is_null() ? std::numeric_limits<double>::quiet_NaN() : value.get<double>());
        }
        return entry;
    } catch (const json::exception& e) {
        return Error::inFile(ErrorCode::Format, where, std::string("is not a training log entry: ") + e.what());
    }
}

} // namespace

Expected<void> RunFolder::create() const
{
    std::error_code ec;
    fs::create_directories(m_dir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, m_dir.string(), "could not be created: " + ec.message());
    return {};
}

Expected<void> RunFolder::writeRunJson(const TrainOptions& options, const RunStatus& status) const
{
    json j = { { "format", 1 }, { "options", json::parse(options.toJson()) }, { "step", status.step },
        { "total_steps", status.totalSteps }, { "finished", status.finished }, { "train_pairs", status.trainPairs },
        { "test_pairs", status.testPairs }, { "skipped_pairs", status.skippedPairs } };
    return writeJsonFileAtomic(m_dir / kRunFile, j);
}

Expected<void> RunFolder::appendMetrics(const TrainLogEntry& entry) const
{
    const fs::path path = m_dir / kMetricsFile;
    std::FILE* file = std::fopen(path.c_str(), "a");
    if (!file) return Error::inFile(ErrorCode::Io, path.string(), "could not be opened for appending");
    const std::string line = entry.toJson() + "\n";
    const bool ok = std::fwrite(line.data(), 1, line.size(), file) == line.size() && std::fflush(file) == 0;
    std::fclose(file);
    if (!ok) return Error::inFile(ErrorCode::Io, path.string(), "could not be written (disk full?)");
    return {};
}

void RunFolder::appendLog(const std::string& line) const
{
    std::ofstream out(m_dir / kLogFile, std::ios::app);
    out << line << "\n";
}

Expected<void> RunFolder::truncateMetricsAfter(int64_t step) const
{
    const fs::path path = m_dir / kMetricsFile;
    std::error_code ec;
    if (!fs::exists(path, ec)) return {};
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        Expected<TrainLogEntry> entry = parseLogLine(line, path.string());
        if (entry && entry->step <= step) kept += line + "\n";
    }
    return writeFileAtomic(path, kept);
}

Expected<void> RunFolder::resetLogs() const
{
    TMK_TRY(writeFileAtomic(m_dir / kMetricsFile, std::string_view()));
    return writeFileAtomic(m_dir / kLogFile, std::string_view());
}

bool RunFolder::hasAdapter() const
{
    std::error_code ec;
    return fs::exists(m_dir / "adapter_config.json", ec) && fs::exists(m_dir / "adapter_model.safetensors", ec);
}

fs::path RunFolder::checkpointDir() const
{
    std::error_code ec;
    if (fs::exists(m_dir / "checkpoint" / kStateJson, ec)) return m_dir / "checkpoint";
    return m_dir / "checkpoint.old";
}

bool RunFolder::hasCheckpoint() const
{
    std::error_code ec;
    return fs::exists(checkpointDir() / kStateJson, ec);
}

Expected<void> RunFolder::saveCheckpoint(const CheckpointData& data) const
{
    const fs::path temp = m_dir / "checkpoint.tmp", final = m_dir / "checkpoint", old = m_dir / "checkpoint.old";
    std::error_code ec;
    fs::remove_all(temp, ec);
    fs::create_directories(temp, ec);
    if (ec) return Error::inFile(ErrorCode::Io, temp.string(), "could not be created: " + ec.message());
    std::map<std::string, at::Tensor> tensors;
    for (const auto& [name, t] : data.lora) tensors["lora/" + name] = t.detach();
    for (const auto& [name, t] : data.adam) tensors["adam/" + name] = t.detach();
    tensors["reference/chosen"] = data.referenceChosen;
    tensors["reference/rejected"] = data.referenceRejected;
    tensors["reference/known"] = data.referenceKnown;
    TMK_TRY(saveTensors(temp / kStateTensors, tensors, { { "format", "tastemaker-dpo-checkpoint" } }));
    json state = { { "format", 1 }, { "step", data.step }, { "epoch", data.epoch }, { "position", data.position },
        { "pending_eval", data.pendingEval }, { "adam_step", data.adamStep }, { "pairs", data.pairs } };
    TMK_TRY(writeJsonFileAtomic(temp / kStateJson, state));
    fs::remove_all(old, ec);
    if (fs::exists(final, ec)) fs::rename(final, old, ec);
    if (ec) return Error::inFile(ErrorCode::Io, final.string(), "could not be replaced: " + ec.message());
    fs::rename(temp, final, ec);
    if (ec) return Error::inFile(ErrorCode::Io, temp.string(), "could not be renamed to checkpoint: " + ec.message());
    fs::remove_all(old, ec);
    return {};
}

Expected<CheckpointData> RunFolder::loadCheckpoint() const
{
    const fs::path dir = checkpointDir();
    Expected<json> state = readJsonFile(dir / kStateJson);
    if (!state) return state.error();
    const std::string where = (dir / kStateJson).string();
    CheckpointData data;
    try {
        data.step = state->at("step").get<int64_t>();
        data.epoch = state->at("epoch").get<int64_t>();
        data.position = state->at("position").get<int64_t>();
        data.pendingEval = state->at("pending_eval").get<bool>();
        data.adamStep = state->at("adam_step").get<int64_t>();
        data.pairs = state->at("pairs").get<int64_t>();
    } catch (const json::exception& e) {
        return Error::inFile(ErrorCode::Format, where, std::string("is not a training checkpoint: ") + e.what());
    }
    Expected<std::map<std::string, at::Tensor>> tensors = readAllTensors(dir / kStateTensors);
    if (!tensors) return tensors.error();
    data.lora = withPrefix(*tensors, "lora/");
    data.adam = withPrefix(*tensors, "adam/");
    for (auto [name, target] : { std::pair { "reference/chosen", &data.referenceChosen },
             std::pair { "reference/rejected", &data.referenceRejected },
             std::pair { "reference/known", &data.referenceKnown } }) {
        auto it = tensors->find(name);
        if (it == tensors->end() || it->second.dim() != 1 || it->second.size(0) != data.pairs)
            return Error::inFile(ErrorCode::Format, (dir / kStateTensors).string(),
                std::string("has no tensor '") + name + "' of " + std::to_string(data.pairs) + " values");
        *target = it->second;
    }
    return data;
}

void RunFolder::removeCheckpoint() const
{
    std::error_code ec;
    for (const char* name : { "checkpoint", "checkpoint.old", "checkpoint.tmp" }) fs::remove_all(m_dir / name, ec);
}

Expected<RunInfo> readRunInfo(const fs::path& runDir)
{
    Expected<json> run = readJsonFile(runDir / kRunFile);
    if (!run) return run.error();
    RunInfo info;
    info.dir = runDir;
    try {
        Expected<TrainOptions> options = TrainOptions::fromJson(run->at("options").dump());
        if (!options) return Error::inFile(ErrorCode::Format, (runDir / kRunFile).string(), options.error().message);
        info.options = std::move(*options);
        info.step = run->at("step").get<int64_t>();
        info.totalSteps = run->at("total_steps").get<int64_t>();
        info.finished = run->at("finished").get<bool>();
    } catch (const json::exception& e) {
        return Error::inFile(
            ErrorCode::Format, (runDir / kRunFile).string(), std::string("is not a run description: ") + e.what());
    }
    RunFolder folder(runDir);
    info.finished = info.finished && folder.hasAdapter();
    info.hasCheckpoint = folder.hasCheckpoint();
    return info;
}

std::vector<RunInfo> findRuns(const fs::path& root)
{
    std::vector<RunInfo> runs;
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(root, ec)) {
        if (!entry.is_directory(ec) || !fs::exists(entry.path() / kRunFile, ec)) continue;
        Expected<RunInfo> info = readRunInfo(entry.path());
        if (info) runs.push_back(std::move(*info));
    }
    std::sort(runs.begin(), runs.end(), [](const RunInfo& a, const RunInfo& b) { return a.dir < b.dir; });
    return runs;
}

Expected<std::vector<TrainLogEntry>> readTrainLog(const fs::path& runDir)
{
    const fs::path path = runDir / kMetricsFile;
    std::error_code ec;
    if (!fs::exists(path, ec)) return Error::inFile(ErrorCode::NotFound, path.string(), "does not exist");
    std::ifstream in(path);
    std::vector<TrainLogEntry> entries;
    std::string line;
    int64_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty()) continue;
        Expected<TrainLogEntry> entry = parseLogLine(line, path.string() + " line " + std::to_string(number));
        if (!entry) return entry.error();
        entries.push_back(std::move(*entry));
    }
    return entries;
}

} // namespace tmk
