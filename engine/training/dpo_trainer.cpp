// The DPO training job (tastemaker/training.h): LoRA on the decoder, the reference = the adapter off.
#include <cmath>
#include <mutex>
#include <random>
#include <sstream>

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include "pipeline/model_access.h"
#include "tastemaker/log.h"
#include "training/dpo_data.h"
#include "training/dpo_loss.h"
#include "training/lora_runtime.h"
#include "training/optimizer.h"
#include "training/run_folder.h"
#include "training/sequence_logprob.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

// Where the next training pair comes from: an epoch's seeded permutation of the train pairs.
struct DataCursor {
    int64_t epoch = 0;
    int64_t position = 0;
};

std::string formatValues(const TrainLogEntry& entry)
{
    std::ostringstream out;
    out << entry.split << " step " << entry.step;
    for (const auto& [name, value] : entry.values) out << " " << name << "=" << value;
    return out.str();
}

class DpoTrainer {
public:
    DpoTrainer(const MusicgenModel::Impl& model, const TrainOptions& options, DpoDataset data, const RunFolder& folder,
        const TrainCallbacks& callbacks, LoraRuntime& lora)
        : m_model(model)
        , m_options(options)
        , m_data(std::move(data))
        , m_folder(folder)
        , m_callbacks(callbacks)
        , m_lora(lora)
        , m_adam(lora.parameters(), options.weightDecay)
    {
        m_trainCount = static_cast<int64_t>(m_data.train.size());
        m_evalCount = m_options.maxEvalPairs > 0
            ? std::min<int64_t>(m_options.maxEvalPairs, static_cast<int64_t>(m_data.test.size()))
            : static_cast<int64_t>(m_data.test.size());
        const int64_t pairs = m_trainCount + static_cast<int64_t>(m_data.test.size());
        m_refChosen = at::zeros({ pairs }, at::kFloat);
        m_refRejected = at::zeros({ pairs }, at::kFloat);
        m_refKnown = at::zeros({ pairs }, at::kLong);
        const int64_t perStep = m_options.batchSize * m_options.gradientAccumulation;
        m_totalSteps = m_options.maxSteps > 0
            ? m_options.maxSteps
            : std::max<int64_t>(1,
                static_cast<int64_t>(
                    std::ceil(m_options.epochs * static_cast<double>(m_trainCount) / static_cast<double>(perStep))));
        for (const auto& [name, tensor] : m_lora.namedParameters()) m_paramNames.push_back(name);
    }

    int64_t totalSteps() const { return m_totalSteps; }
    const DpoDataset& data() const { return m_data; }
    Expected<void> restore(const CheckpointData& checkpoint);
    Expected<TrainResult> run();

private:
    const DpoExample& example(int64_t index) const
    {
        return index < m_trainCount ? m_data.train[static_cast<size_t>(index)]
                                    : m_data.test[static_cast<size_t>(index - m_trainCount)];
    }
    bool cancelled() const { return m_callbacks.cancel && m_callbacks.cancel->isCancelled(); }
    double epochValue() const
    {
        return static_cast<double>(m_cursor.epoch)
            + static_cast<double>(m_cursor.position) / static_cast<double>(m_trainCount);
    }
    std::vector<int64_t> permutation(int64_t epoch) const;
    std::vector<int64_t> nextBatch();
    at::Tensor logProbs(const std::vector<int64_t>& indices); // [2n]: chosen then rejected
    void ensureReference(const std::vector<int64_t>& indices);
    DpoLossOutput lossFor(const std::vector<int64_t>& indices, at::Tensor& chosen, at::Tensor& rejected);
    bool trainStep(int64_t step, DpoMetricSums& sums, double& gradNorm); // false: cancelled (nothing applied)
    std::optional<TrainLogEntry> evaluate(); // nullopt: cancelled
    Expected<void> log(const TrainLogEntry& entry);
    Expected<void> checkpoint(int64_t step, bool pendingEval);
    Expected<TrainResult> cancelledAt(int64_t step, bool pendingEval);
    Expected<TrainResult> finish();
    TrainResult result(int64_t step, bool cancelled) const;

    const MusicgenModel::Impl& m_model;
    TrainOptions m_options;
    DpoDataset m_data;
    const RunFolder& m_folder;
    const TrainCallbacks& m_callbacks;
    LoraRuntime& m_lora;
    AdamW m_adam;
    std::vector<std::string> m_paramNames;
    int64_t m_trainCount = 0, m_evalCount = 0, m_totalSteps = 0, m_startStep = 0;
    bool m_pendingEval = false;
    DataCursor m_cursor;
    std::vector<int64_t> m_order; // the permutation of m_cursor.epoch
    at::Tensor m_refChosen, m_refRejected, m_refKnown; // [train + test pairs]
    std::optional<TrainLogEntry> m_lastEval;
};

std::vector<int64_t> DpoTrainer::permutation(int64_t epoch) const
{
    std::vector<int64_t> order(static_cast<size_t>(m_trainCount));
    for (int64_t i = 0; i < m_trainCount; ++i) order[static_cast<size_t>(i)] = i;
    std::mt19937_64 rng(m_options.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1);
    for (int64_t i = m_trainCount - 1; i > 0; --i) // Fisher-Yates, the same on every platform
        std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(rng() % static_cast<uint64_t>(i + 1))]);
    return order;
}

std::vector<int64_t> DpoTrainer::nextBatch()
{
    std::vector<int64_t> batch;
    while (static_cast<int64_t>(batch.size()) < m_options.batchSize) {
        if (m_order.empty()) m_order = permutation(m_cursor.epoch);
        batch.push_back(m_order[static_cast<size_t>(m_cursor.position)]);
        if (++m_cursor.position == m_trainCount) {
            ++m_cursor.epoch;
            m_cursor.position = 0;
            m_order.clear();
        }
    }
    return batch;
}

at::Tensor DpoTrainer::logProbs(const std::vector<int64_t>& indices)
{
    std::vector<std::string> prompts;
    std::vector<at::Tensor> codes;
    for (int64_t i : indices) prompts.push_back(example(i).prompt), codes.push_back(example(i).chosen);
    for (int64_t i : indices) prompts.push_back(example(i).prompt), codes.push_back(example(i).rejected);
    const MusicgenDecoder& decoder = *m_model.decoder;
    PromptStates states = encodePromptsNoGrad(*m_model.tokenizer, *m_model.textEncoder, prompts, m_model.device);
    return sequenceLogProbs(decoder, states, padCodes(codes, decoder.config().padTokenId)); // [2n]
}

void DpoTrainer::ensureReference(const std::vector<int64_t>& indices)
{
    std::vector<int64_t> missing;
    for (int64_t i : indices)
        if (m_refKnown[i].item<int64_t>() == 0) missing.push_back(i);
    if (missing.empty()) return;
    at::NoGradGuard noGrad;
    ScopedLoraDisabled reference(m_lora);
    at::Tensor logps = logProbs(missing).to(at::kCPU); // [2m]
    const int64_t m = static_cast<int64_t>(missing.size());
    for (int64_t j = 0; j < m; ++j) {
        m_refChosen[missing[static_cast<size_t>(j)]] = logps[j];
        m_refRejected[missing[static_cast<size_t>(j)]] = logps[m + j];
        m_refKnown[missing[static_cast<size_t>(j)]] = 1;
    }
}

DpoLossOutput DpoTrainer::lossFor(const std::vector<int64_t>& indices, at::Tensor& chosen, at::Tensor& rejected)
{
    ensureReference(indices);
    const int64_t n = static_cast<int64_t>(indices.size());
    at::Tensor logps = logProbs(indices); // [2n]
    chosen = logps.narrow(0, 0, n);
    rejected = logps.narrow(0, n, n);
    at::Tensor index = at::tensor(indices, at::kLong);
    const at::Device device = logps.device();
    return dpoLoss(m_options.loss, m_options.beta, chosen, rejected, m_refChosen.index_select(0, index).to(device),
        m_refRejected.index_select(0, index).to(device));
}

bool DpoTrainer::trainStep(int64_t step, DpoMetricSums& sums, double& gradNorm)
{
    const DataCursor atStart = m_cursor;
    for (int64_t micro = 0; micro < m_options.gradientAccumulation; ++micro) {
        if (cancelled()) {
            m_adam.zeroGrad();
            m_cursor = atStart;
            m_order.clear();
            return false;
        }
        at::Tensor chosen, rejected;
        DpoLossOutput out = lossFor(nextBatch(), chosen, rejected);
        (out.losses.mean() / static_cast<double>(m_options.gradientAccumulation)).backward();
        sums.add(out, chosen, rejected);
    }
    gradNorm = clipGradNorm(m_lora.parameters(), m_options.maxGradNorm);
    const double lr
        = m_options.learningRate * learningRateFactor(m_options.schedule, step, m_options.warmupSteps, m_totalSteps);
    m_adam.step(lr);
    m_adam.zeroGrad();
    return true;
}

std::optional<TrainLogEntry> DpoTrainer::evaluate()
{
    at::NoGradGuard noGrad;
    DpoMetricSums sums;
    for (int64_t start = 0; start < m_evalCount; start += m_options.batchSize) {
        if (cancelled()) return std::nullopt;
        std::vector<int64_t> indices;
        for (int64_t i = start; i < std::min(m_evalCount, start + m_options.batchSize); ++i)
            indices.push_back(m_trainCount + i);
        at::Tensor chosen, rejected;
        DpoLossOutput out = lossFor(indices, chosen, rejected);
        sums.add(out, chosen, rejected);
        if (m_callbacks.onProgress)
            m_callbacks.onProgress(
                Progress { ProgressStage::Evaluation, start + static_cast<int64_t>(indices.size()), m_evalCount });
    }
    return TrainLogEntry { m_startStep, epochValue(), "eval", sums.means("eval_") };
}

Expected<void> DpoTrainer::log(const TrainLogEntry& entry)
{
    TMK_TRY(m_folder.appendMetrics(entry));
    m_folder.appendLog(formatValues(entry));
    if (entry.split == "eval") m_lastEval = entry;
    if (m_callbacks.onLog) m_callbacks.onLog(entry);
    return {};
}

Expected<void> DpoTrainer::checkpoint(int64_t step, bool pendingEval)
{
    CheckpointData data;
    data.step = step;
    data.epoch = m_cursor.epoch;
    data.position = m_cursor.position;
    data.pendingEval = pendingEval;
    data.adamStep = m_adam.stepCount();
    data.pairs = m_refKnown.size(0);
    data.lora = m_lora.namedParameters();
    data.adam = m_adam.state(m_paramNames);
    data.referenceChosen = m_refChosen;
    data.referenceRejected = m_refRejected;
    data.referenceKnown = m_refKnown;
    TMK_TRY(m_folder.saveCheckpoint(data));
    m_folder.appendLog("checkpoint at step " + std::to_string(step));
    const RunStatus status { step, m_totalSteps, false, m_trainCount, static_cast<int64_t>(m_data.test.size()),
        m_data.skipped };
    return m_folder.writeRunJson(m_options, status);
}

Expected<void> DpoTrainer::restore(const CheckpointData& checkpoint)
{
    const std::string file = (m_folder.dir() / "checkpoint").string();
    if (checkpoint.pairs != m_refKnown.size(0))
        return Error::inFile(ErrorCode::Mismatch, file,
            "was made with " + std::to_string(checkpoint.pairs) + " pairs, but the pairs folder now gives "
                + std::to_string(m_refKnown.size(0)) + "; the data changed, so the run cannot be resumed");
    TMK_TRY(m_lora.loadParameters(checkpoint.lora, file));
    TMK_TRY(m_adam.loadState(checkpoint.adam, m_paramNames, checkpoint.adamStep, file));
    m_refChosen = checkpoint.referenceChosen.to(at::kFloat).clone();
    m_refRejected = checkpoint.referenceRejected.to(at::kFloat).clone();
    m_refKnown = checkpoint.referenceKnown.to(at::kLong).clone();
    m_cursor = DataCursor { checkpoint.epoch, checkpoint.position };
    m_order.clear();
    m_startStep = checkpoint.step;
    m_pendingEval = checkpoint.pendingEval;
    return m_folder.truncateMetricsAfter(checkpoint.step);
}

TrainResult DpoTrainer::result(int64_t step, bool cancelled) const
{
    TrainResult result;
    result.cancelled = cancelled;
    result.step = step;
    result.totalSteps = m_totalSteps;
    result.adapterDir = m_folder.dir();
    result.lastEval = m_lastEval;
    result.trainPairs = m_trainCount;
    result.testPairs = static_cast<int64_t>(m_data.test.size());
    result.skippedPairs = m_data.skipped;
    return result;
}

Expected<TrainResult> DpoTrainer::cancelledAt(int64_t step, bool pendingEval)
{
    TMK_TRY(checkpoint(step, pendingEval));
    m_folder.appendLog("cancelled at step " + std::to_string(step));
    return result(step, /*cancelled=*/true);
}

Expected<TrainResult> DpoTrainer::run()
{
    const bool evaluates = m_evalCount > 0;
    auto evalNow = [&]() -> Expected<bool> { // false: cancelled
        std::optional<TrainLogEntry> entry = evaluate();
        if (!entry) return false;
        TMK_TRY(log(*entry));
        return true;
    };
    if (m_pendingEval && evaluates) {
        Expected<bool> done = evalNow();
        if (!done) return done.error();
        if (!*done) return cancelledAt(m_startStep, true);
        if (m_startStep >= m_totalSteps) return finish();
    }
    for (int64_t step = m_startStep; step < m_totalSteps; ++step) {
        DpoMetricSums sums;
        double gradNorm = 0;
        if (cancelled() || !trainStep(step, sums, gradNorm)) return cancelledAt(step, false);
        m_startStep = step + 1;
        TrainLogEntry entry { m_startStep, epochValue(), "train", sums.means("") };
        entry.values.insert(entry.values.begin() + 1, { "grad_norm", gradNorm });
        entry.values.insert(entry.values.begin() + 2,
            { "learning_rate",
                m_options.learningRate
                    * learningRateFactor(m_options.schedule, m_startStep, m_options.warmupSteps, m_totalSteps) });
        TMK_TRY(log(entry));
        if (m_callbacks.onProgress)
            m_callbacks.onProgress(Progress { ProgressStage::Training, m_startStep, m_totalSteps });
        if (m_startStep == m_totalSteps) break;
        if (evaluates && m_options.evalEvery > 0 && m_startStep % m_options.evalEvery == 0) {
            Expected<bool> done = evalNow();
            if (!done) return done.error();
            if (!*done) return cancelledAt(m_startStep, true);
        }
        if (m_options.checkpointEvery > 0 && m_startStep % m_options.checkpointEvery == 0)
            TMK_TRY(checkpoint(m_startStep, false));
    }
    if (evaluates) {
        Expected<bool> done = evalNow();
        if (!done) return done.error();
        if (!*done) return cancelledAt(m_totalSteps, true);
    }
    return finish();
}

Expected<TrainResult> DpoTrainer::finish()
{
    Expected<LoraAdapter> adapter = m_lora.toAdapter(m_model.info.name);
    if (!adapter) return adapter.error();
    TMK_TRY(adapter->save(m_folder.dir()));
    const RunStatus status { m_totalSteps, m_totalSteps, true, m_trainCount, static_cast<int64_t>(m_data.test.size()),
        m_data.skipped };
    TMK_TRY(m_folder.writeRunJson(m_options, status));
    m_folder.removeCheckpoint();
    m_folder.appendLog("finished: adapter written to " + m_folder.dir().string());
    return result(m_totalSteps, /*cancelled=*/false);
}

// The options a run continues with: the stored ones, with the caller's device, folders and bank.
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
    return options;
}

Expected<void> checkRunFolder(const TrainOptions& options, const RunFolder& folder)
{
    if (options.resume || (!folder.hasCheckpoint() && !folder.hasAdapter())) return {};
    return Error::inFile(ErrorCode::InvalidArgument, options.outDir.string(),
        folder.hasAdapter() ? "already holds a finished adapter; choose another output folder or delete it"
                            : "holds an unfinished run; continue it with --resume, or choose another output folder");
}

// A finished run asked to resume: its result, read back.
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

void reportData(const RunFolder& folder, const DpoDataset& data, const TrainOptions& options)
{
    std::string line = "metric " + options.metric + sideSymbol(options.direction) + ": "
        + std::to_string(data.train.size()) + " train pairs, " + std::to_string(data.test.size()) + " test pairs";
    if (data.skipped > 0) {
        line += "; " + std::to_string(data.skipped) + " pairs skipped (no cached codes in " + data.cacheDescription
            + "), e.g.";
        for (const std::string& example : data.skippedExamples) line += " [" + example + "]";
    }
    folder.appendLog(line);
    logMessage(data.skipped > 0 ? LogLevel::Warning : LogLevel::Info, line);
}

Expected<TrainResult> runTraining(const MusicgenModel& model, const TrainOptions& options,
    const std::vector<MetricInfo>& metrics, const TrainCallbacks& callbacks)
{
    const RunFolder folder(options.outDir);
    TMK_TRY(checkRunFolder(options, folder));
    const bool resuming = options.resume && folder.hasCheckpoint();
    if (options.resume && !resuming) {
        Expected<RunInfo> info = readRunInfo(options.outDir);
        if (info && info->finished) return finishedResult(folder);
    }
    Expected<DpoDataset> data = loadDpoDataset(options, metrics);
    if (!data) return data.error();
    TMK_TRY(folder.create());
    // The trainer owns the decoder while it runs (trainDpo holds the weights lock exclusively): a LoRA hook.
    MusicgenDecoder& decoder = writableDecoder(model);
    Expected<std::unique_ptr<LoraRuntime>> lora = LoraRuntime::create(decoder, options.lora, options.seed);
    if (!lora) return lora.error();
    ScopedLoraHook hook(decoder, lora->get());
    DpoTrainer trainer(modelParts(model), options, std::move(*data), folder, callbacks, **lora);
    if (resuming) {
        Expected<CheckpointData> checkpoint = folder.loadCheckpoint();
        if (!checkpoint) return checkpoint.error();
        TMK_TRY(trainer.restore(*checkpoint));
        folder.appendLog("resumed at step " + std::to_string(checkpoint->step));
    } else {
        TMK_TRY(folder.resetLogs());
        folder.removeCheckpoint();
        TMK_TRY(folder.writeRunJson(options, RunStatus { 0, trainer.totalSteps(), false, 0, 0, 0 }));
    }
    reportData(folder, trainer.data(), options);
    return trainer.run();
}

} // namespace

Expected<TrainResult> trainDpo(const MusicgenModel& model, const TrainOptions& given,
    const std::vector<MetricInfo>& metrics, const TrainCallbacks& callbacks)
{
    TMK_TRY(given.validate());
    Expected<TrainOptions> options = effectiveOptions(given, RunFolder(given.outDir));
    if (!options) return options.error();
    std::unique_lock lock(weightsMutex(model));
    Expected<TrainResult> result = Error { ErrorCode::Internal, "training did not run" };
    try {
        c10::InferenceMode notInference(false);
        at::AutoGradMode grad(true);
        result = runTraining(model, *options, metrics, callbacks);
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, "training failed: " + std::string(e.what_without_backtrace()) };
    } catch (const std::bad_alloc&) {
        return Error { ErrorCode::Device, "training failed: out of memory (try a smaller --batch or --max-frames)" };
    }
    lock.unlock();
    if (result && !result->cancelled && !options->bankDir.empty())
        TMK_TRY(registerAdapter(
            options->bankDir, options->metric, options->direction, result->adapterDir, metrics, model.info().name));
    return result;
}

Expected<TrainResult> trainDpo(
    const TrainOptions& given, const std::vector<MetricInfo>& metrics, const TrainCallbacks& callbacks)
{
    TMK_TRY(given.validate());
    Expected<TrainOptions> options = effectiveOptions(given, RunFolder(given.outDir));
    if (!options) return options.error();
    Expected<std::shared_ptr<const MusicgenModel>> model = MusicgenModel::load(options->modelDir, options->model);
    if (!model) return model.error();
    return trainDpo(**model, given, metrics, callbacks);
}

} // namespace tmk
