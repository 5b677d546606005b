// The DPO trainer's class, shared by its two source files: dpo_trainer.cpp (the steps, evaluation and the
// run) and dpo_trainer_state.cpp (what it keeps and shares: checkpoints, and the state that ranks exchange).
// Internal to the training library: only those two files include it.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>

#include "pipeline/model_access.h"
#include "tastemaker/training.h"
#include "training/collective.h"
#include "training/dpo_data.h"
#include "training/dpo_loss.h"
#include "training/lora_runtime.h"
#include "training/optimizer.h"
#include "training/run_folder.h"

namespace tmk::detail {

// Where the next training pair comes from: an epoch's seeded permutation of the train pairs.
struct DataCursor {
    int64_t epoch = 0;
    int64_t position = 0;
};

class DpoTrainer {
public:
    DpoTrainer(const MusicgenModel::Impl& model, const TrainOptions& options, DpoDataset data, const RunFolder& folder,
        const TrainCallbacks& callbacks, LoraRuntime& lora, Collective* group)
        : m_model(model)
        , m_options(options)
        , m_data(std::move(data))
        , m_folder(folder)
        , m_callbacks(callbacks)
        , m_lora(lora)
        , m_adam(lora.parameters(), options.weightDecay)
        , m_group(group)
    {
        m_trainCount = static_cast<int64_t>(m_data.train.size());
        m_evalCount = m_options.maxEvalPairs > 0
            ? std::min<int64_t>(m_options.maxEvalPairs, static_cast<int64_t>(m_data.test.size()))
            : static_cast<int64_t>(m_data.test.size());
        const int64_t pairs = m_trainCount + static_cast<int64_t>(m_data.test.size());
        m_refChosen = at::zeros({ pairs }, at::kFloat);
        m_refRejected = at::zeros({ pairs }, at::kFloat);
        m_refKnown = at::zeros({ pairs }, at::kLong);
        const int64_t perStep = m_options.batchSize * m_options.gradientAccumulation * worldSize();
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
    void shareState(); // rank 0's LoRA, AdamW state, cursor and reference cache on every rank
    Expected<TrainResult> run(); // runSteps, with a lost rank turned into an error (and rank 0's checkpoint)

private:
    const DpoExample& example(int64_t index) const
    {
        return index < m_trainCount ? m_data.train[static_cast<size_t>(index)]
                                    : m_data.test[static_cast<size_t>(index - m_trainCount)];
    }
    bool cancelledHere() const { return m_callbacks.cancel && m_callbacks.cancel->isCancelled(); }
    // Whether to stop; in a distributed run every rank gets the same answer (any rank cancelled).
    bool cancelled() { return m_group ? m_group->any(cancelledHere()) : cancelledHere(); }
    int64_t worldSize() const { return m_group ? m_group->size() : 1; }
    bool leader() const { return !m_group || m_group->rank() == 0; }
    void sumOverRanks(DpoMetricSums& sums);
    void allReduceGradients();
    // Every rank gets the reference log-probs that any rank computed for `indices` since the last call.
    void shareReferences(const std::vector<int64_t>& indices);
    Expected<TrainResult> lostContact(const CollectiveError& error);
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
    Expected<TrainResult> runSteps();
    Expected<TrainResult> finish();
    void note(const std::string& line) const
    {
        if (leader()) m_folder.appendLog(line);
    }
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
    Collective* m_group = nullptr; // null: one process
    std::vector<int64_t> m_computedHere; // pairs whose reference this rank computed since the last share
    DataCursor m_stepStart; // the cursor after m_startStep steps (a lost rank rolls back to it)
    bool m_inEval = false;
};

} // namespace tmk::detail
