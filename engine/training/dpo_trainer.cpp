// The DPO training job (tastemaker/training.h): LoRA on the decoder, the reference = the adapter off.
#include "training/dpo_trainer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <utility>

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include "tastemaker/clip_library.h"
#include "tastemaker/log.h"
#include "training/run_launch.h"
#include "training/sequence_logprob.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

std::string formatValues(const TrainLogEntry& entry)
{
    std::ostringstream out;
    out << entry.split << " step " << entry.step;
    for (const auto& [name, value] : entry.values) out << " " << name << "=" << value;
    return out.str();
}

} // namespace

namespace detail {

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
    return sequenceLogProbs(
        decoder, states, padCodes(codes, decoder.config().padTokenId), m_options.codebookWeights); // [2n]
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
    if (m_group) m_computedHere.insert(m_computedHere.end(), missing.begin(), missing.end());
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
    DpoLossOutput out = dpoLoss(m_options.loss, m_options.beta, chosen, rejected,
        m_refChosen.index_select(0, index).to(device), m_refRejected.index_select(0, index).to(device));
    if (m_options.rpoAlpha > 0) {
        // RPO: the chosen sequence's negative log-likelihood per code (codes weighted as in the log-prob).
        const std::vector<double>& w = m_options.codebookWeights;
        const double perFrame = w.empty() ? static_cast<double>(m_model.decoder->config().numCodebooks)
                                          : std::accumulate(w.begin(), w.end(), 0.0);
        std::vector<double> codes;
        for (int64_t i : indices) codes.push_back(perFrame * static_cast<double>(example(i).chosen.size(2)));
        const at::Tensor count = at::tensor(codes, at::kDouble).to(device, chosen.scalar_type());
        out.losses = out.losses - m_options.rpoAlpha * chosen / count;
    }
    return out;
}

bool DpoTrainer::trainStep(int64_t step, DpoMetricSums& sums, double& gradNorm)
{
    // A step takes worldSize * accumulation micro-batches from the data order; rank r computes the r-th
    // run of `accumulation` of them, so a world of W ranks sums the same micro-batch gradients as one
    // process accumulating W times as many.
    const int64_t accumulation = m_options.gradientAccumulation, world = worldSize();
    const int64_t rank = m_group ? m_group->rank() : 0;
    const DataCursor atStart = m_cursor;
    std::vector<int64_t> stepPairs; // the whole step's, on every rank
    for (int64_t micro = 0; micro < accumulation * world; ++micro) {
        if (!m_group && cancelled()) {
            m_adam.zeroGrad();
            m_cursor = atStart;
            m_order.clear();
            return false;
        }
        std::vector<int64_t> batch = nextBatch();
        stepPairs.insert(stepPairs.end(), batch.begin(), batch.end());
        if (micro / accumulation != rank) continue;
        at::Tensor chosen, rejected;
        DpoLossOutput out = lossFor(batch, chosen, rejected);
        (out.losses.mean() / static_cast<double>(accumulation * world)).backward();
        sums.add(out, chosen, rejected);
    }
    if (m_group) {
        allReduceGradients();
        sumOverRanks(sums);
        shareReferences(stepPairs);
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
    // Batch j of the test pairs goes to rank j mod worldSize; each round of worldSize batches checks cancel.
    const int64_t world = worldSize(), rank = m_group ? m_group->rank() : 0;
    for (int64_t round = 0; round * world * m_options.batchSize < m_evalCount; ++round) {
        if (cancelled()) return std::nullopt;
        const int64_t start = (round * world + rank) * m_options.batchSize;
        std::vector<int64_t> indices;
        for (int64_t i = start; i < std::min(m_evalCount, start + m_options.batchSize); ++i)
            indices.push_back(m_trainCount + i);
        if (!indices.empty()) {
            at::Tensor chosen, rejected;
            DpoLossOutput out = lossFor(indices, chosen, rejected);
            sums.add(out, chosen, rejected);
        }
        if (m_callbacks.onProgress && leader())
            m_callbacks.onProgress(Progress { ProgressStage::Evaluation,
                std::min(m_evalCount, (round + 1) * world * m_options.batchSize), m_evalCount });
    }
    if (m_group) {
        sumOverRanks(sums);
        std::vector<int64_t> evaluated(static_cast<size_t>(m_evalCount));
        for (int64_t i = 0; i < m_evalCount; ++i) evaluated[static_cast<size_t>(i)] = m_trainCount + i;
        shareReferences(evaluated);
    }
    return TrainLogEntry { m_startStep, epochValue(), "eval", sums.means("eval_") };
}

Expected<void> DpoTrainer::log(const TrainLogEntry& entry)
{
    if (entry.split == "eval") m_lastEval = entry;
    if (!leader()) return {};
    TMK_TRY(m_folder.appendMetrics(entry));
    m_folder.appendLog(formatValues(entry));
    if (m_callbacks.onLog) m_callbacks.onLog(entry);
    return {};
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
    note("cancelled at step " + std::to_string(step));
    return result(step, /*cancelled=*/true);
}

Expected<TrainResult> DpoTrainer::run()
{
    try {
        return runSteps();
    } catch (const CollectiveError& error) {
        return lostContact(error);
    }
}

Expected<TrainResult> DpoTrainer::runSteps()
{
    const bool evaluates = m_evalCount > 0;
    auto evalNow = [&]() -> Expected<bool> { // false: cancelled
        m_inEval = true;
        std::optional<TrainLogEntry> entry = evaluate();
        m_inEval = false;
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
        m_stepStart = m_cursor;
        TrainLogEntry entry { m_startStep, epochValue(), "train", sums.means("") };
        entry.values.insert(entry.values.begin() + 1, { "grad_norm", gradNorm });
        entry.values.insert(entry.values.begin() + 2,
            { "learning_rate",
                m_options.learningRate
                    * learningRateFactor(m_options.schedule, m_startStep, m_options.warmupSteps, m_totalSteps) });
        TMK_TRY(log(entry));
        if (m_callbacks.onProgress && leader())
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
    if (!leader()) return result(m_totalSteps, /*cancelled=*/false);
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

} // namespace detail

namespace {

using detail::DpoTrainer;

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

Expected<TrainResult> runTraining(const MusicgenModel& model, const Launch& launch,
    const std::vector<MetricInfo>& metrics, const TrainCallbacks& callbacks)
{
    const TrainOptions& options = launch.options;
    const RunFolder folder(options.outDir);
    // The trainer owns the decoder while it runs (trainDpo holds the weights lock exclusively): a LoRA hook.
    MusicgenDecoder& decoder = writableDecoder(model);
    const int64_t codebooks = decoder.config().numCodebooks;
    if (!options.codebookWeights.empty() && static_cast<int64_t>(options.codebookWeights.size()) != codebooks)
        return Error { ErrorCode::InvalidArgument,
            std::to_string(options.codebookWeights.size()) + " codebook weights were given, but "
                + model.info().dir.string() + " has " + std::to_string(codebooks) + " codebooks" };
    Expected<DpoDataset> data = loadDpoDataset(options, metrics);
    if (!data) return data.error();
    if (launch.leader()) TMK_TRY(folder.create());
    Expected<std::unique_ptr<LoraRuntime>> lora = LoraRuntime::create(decoder, options.lora, options.seed);
    if (!lora) return lora.error();
    ScopedLoraHook hook(decoder, lora->get());
    ScopedLayerCheckpointing checkpointing(decoder, options.checkpointLayers);
    ScopedAutocast autocast(decoder, decoder.dtype() != at::kFloat); // a bf16 base: float32 activations
    DpoTrainer trainer(modelParts(model), options, std::move(*data), folder, callbacks, **lora, launch.group.get());
    if (launch.resuming) {
        Expected<CheckpointData> checkpoint = folder.loadCheckpoint();
        if (!checkpoint) return checkpoint.error();
        TMK_TRY(trainer.restore(*checkpoint));
        folder.appendLog("resumed at step " + std::to_string(checkpoint->step) + " with "
            + std::to_string(options.distributed.worldSize) + " process(es)");
    } else if (launch.leader()) {
        TMK_TRY(folder.resetLogs());
        folder.removeCheckpoint();
        TMK_TRY(folder.writeRunJson(options, RunStatus { 0, trainer.totalSteps(), false, 0, 0, 0 }));
    }
    try {
        trainer.shareState();
    } catch (const CollectiveError& e) {
        return Error { ErrorCode::Device,
            "rank " + std::to_string(launch.group->rank())
                + " could not receive rank 0's training state: " + e.what() };
    }
    if (launch.leader()) reportData(folder, trainer.data(), options);
    return trainer.run();
}

Expected<TrainResult> trainLaunched(const MusicgenModel& model, const Launch& launch,
    const std::vector<MetricInfo>& metrics, const TrainCallbacks& callbacks)
{
    const TrainOptions& options = launch.options;
    if (launch.finished) {
        if (launch.leader()) return finishedResult(RunFolder(options.outDir));
        TrainResult result;
        result.adapterDir = options.outDir;
        return result;
    }
    std::unique_lock lock(weightsMutex(model));
    Expected<TrainResult> result = Error { ErrorCode::Internal, "training did not run" };
    try {
        c10::InferenceMode notInference(false);
        at::AutoGradMode grad(true);
        result = runTraining(model, launch, metrics, callbacks);
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, "training failed: " + std::string(e.what_without_backtrace()) };
    } catch (const std::bad_alloc&) {
        return Error { ErrorCode::Device, "training failed: out of memory (try a smaller --batch or --max-frames)" };
    }
    lock.unlock();
    if (result && !result->cancelled && !options.bankDir.empty()) {
        Expected<ContentIdentity> identity = modelIdentity(model.info().dir); // the bank records its base model
        if (!identity) return identity.error();
        TMK_TRY(registerAdapter(options.bankDir, options.metric, options.direction, result->adapterDir, metrics,
            model.info().name, identity->fingerprint));
    }
    return result;
}

} // namespace

Expected<TrainResult> trainDpo(const MusicgenModel& model, const TrainOptions& given,
    const std::vector<MetricInfo>& metrics, const TrainCallbacks& callbacks)
{
    Expected<Launch> launch = prepareLaunch(given);
    if (!launch) return launch.error();
    return trainLaunched(model, *launch, metrics, callbacks);
}

Expected<TrainResult> trainDpo(
    const TrainOptions& given, const std::vector<MetricInfo>& metrics, const TrainCallbacks& callbacks)
{
    Expected<Launch> launch = prepareLaunch(given);
    if (!launch) return launch.error();
    Expected<std::shared_ptr<const MusicgenModel>> model
        = MusicgenModel::load(launch->options.modelDir, launch->options.model);
    if (!model) return model.error();
    return trainLaunched(**model, *launch, metrics, callbacks);
}

} // namespace tmk
