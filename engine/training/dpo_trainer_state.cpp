// The DPO trainer's state (training/dpo_trainer.h): its checkpoints, and what the ranks of a distributed run
// exchange (gradients, metric sums, reference log-probs, rank 0's whole state, and the stop when a rank is lost).
#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include "training/dpo_trainer.h"

namespace tmk::detail {

// Every rank ends with the sum of the ranks' gradients (one flat float32 buffer: one all-reduce per step).
void DpoTrainer::allReduceGradients()
{
    std::vector<at::Tensor> parameters = m_lora.parameters();
    std::vector<at::Tensor> flat;
    for (const at::Tensor& p : parameters)
        flat.push_back(p.grad().defined() ? p.grad().reshape({ -1 }).to(at::kCPU, at::kFloat)
                                          : at::zeros({ p.numel() }, at::kFloat));
    at::Tensor buffer = at::cat(flat).contiguous();
    m_group->allReduceSum(buffer);
    int64_t offset = 0;
    for (at::Tensor& p : parameters) {
        at::Tensor summed = buffer.narrow(0, offset, p.numel()).view(p.sizes()).to(p.device(), p.scalar_type());
        if (p.grad().defined())
            p.mutable_grad().copy_(summed);
        else
            p.mutable_grad() = summed.clone();
        offset += p.numel();
    }
}

void DpoTrainer::sumOverRanks(DpoMetricSums& sums)
{
    const std::array<double, 8> mine = sums.packed();
    at::Tensor values = at::tensor(std::vector<double>(mine.begin(), mine.end()), at::kDouble);
    m_group->allReduceSum(values);
    std::array<double, 8> total {};
    for (size_t i = 0; i < total.size(); ++i) total[i] = values[static_cast<int64_t>(i)].item<double>();
    sums.unpack(total);
}

// After each step (and evaluation) every rank holds every reference log-prob computed so far, so a
// checkpoint, even one rank 0 writes alone after losing a rank, lacks none of the finished steps'. Each
// index is computed by one rank (two when an epoch boundary repeats a pair within a step: the mean).
void DpoTrainer::shareReferences(const std::vector<int64_t>& indices)
{
    const int64_t n = static_cast<int64_t>(indices.size());
    at::Tensor values = at::zeros({ 3, n }, at::kDouble); // chosen, rejected, count
    std::vector<int64_t> mine = std::move(m_computedHere);
    m_computedHere.clear();
    std::sort(mine.begin(), mine.end());
    for (int64_t j = 0; j < n; ++j) {
        const int64_t i = indices[static_cast<size_t>(j)];
        if (!std::binary_search(mine.begin(), mine.end(), i)) continue;
        values[0][j] = m_refChosen[i].item<double>();
        values[1][j] = m_refRejected[i].item<double>();
        values[2][j] = 1.0;
    }
    m_group->allReduceSum(values);
    for (int64_t j = 0; j < n; ++j) {
        const double count = values[2][j].item<double>();
        if (count <= 0.0) continue;
        const int64_t i = indices[static_cast<size_t>(j)];
        m_refChosen[i] = values[0][j].item<double>() / count;
        m_refRejected[i] = values[1][j].item<double>() / count;
        m_refKnown[i] = 1;
    }
}

void DpoTrainer::shareState()
{
    if (!m_group) return;
    at::Tensor scalars
        = at::tensor({ m_cursor.epoch, m_cursor.position, m_startStep, static_cast<int64_t>(m_pendingEval),
                         m_adam.stepCount(), m_refKnown.size(0), m_lora.parameterCount() },
            at::kLong);
    const at::Tensor mine = scalars.clone();
    m_group->broadcast(scalars);
    for (int i : { 5, 6 })
        if (scalars[i].item<int64_t>() != mine[i].item<int64_t>())
            throw CollectiveError(std::string(i == 5 ? "this rank's pairs folder gives " : "this rank's LoRA has ")
                + std::to_string(mine[i].item<int64_t>()) + (i == 5 ? " pairs" : " parameters") + " but rank 0's "
                + std::to_string(scalars[i].item<int64_t>())
                + "; start every rank with the same model, pairs folder and LoRA options");
    for (at::Tensor* t : { &m_refChosen, &m_refRejected, &m_refKnown }) m_group->broadcast(*t);
    std::map<std::string, at::Tensor> adam = m_adam.state(m_paramNames);
    for (auto& [name, tensor] : adam) {
        tensor = tensor.to(at::kCPU).contiguous().clone();
        m_group->broadcast(tensor);
    }
    std::map<std::string, at::Tensor> lora = m_lora.namedParameters();
    for (auto& [name, tensor] : lora) {
        tensor = tensor.detach().to(at::kCPU).contiguous().clone();
        m_group->broadcast(tensor);
    }
    if (leader()) return;
    const std::string source = "rank 0's training state";
    Expected<void> loaded = m_lora.loadParameters(lora, source);
    if (loaded) loaded = m_adam.loadState(adam, m_paramNames, scalars[4].item<int64_t>(), source);
    if (!loaded) throw CollectiveError(loaded.error().message);
    m_cursor = DataCursor { scalars[0].item<int64_t>(), scalars[1].item<int64_t>() };
    m_order.clear();
    m_startStep = scalars[2].item<int64_t>();
    m_stepStart = m_cursor;
    m_pendingEval = scalars[3].item<int64_t>() != 0;
}

Expected<void> DpoTrainer::checkpoint(int64_t step, bool pendingEval)
{
    if (!leader()) return {};
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
    note("checkpoint at step " + std::to_string(step));
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
    m_stepStart = m_cursor;
    m_pendingEval = checkpoint.pendingEval;
    return m_folder.truncateMetricsAfter(checkpoint.step);
}

// A rank is gone or silent past the timeout. Rank 0 checkpoints the last whole step from its own state (the
// reference log-probs other ranks computed are recomputed after the resume); every rank returns the error.
Expected<TrainResult> DpoTrainer::lostContact(const CollectiveError& error)
{
    const int64_t step = m_startStep;
    std::string saved;
    if (leader()) {
        m_adam.zeroGrad();
        m_cursor = m_stepStart;
        m_order.clear();
        Collective* group = std::exchange(m_group, nullptr); // no more collectives
        Expected<void> written = checkpoint(step, m_inEval);
        m_group = group;
        saved = written ? "; the checkpoint of step " + std::to_string(step) + " is in " + m_folder.dir().string()
                        : "; the checkpoint could not be written (" + written.error().message + ")";
        note("stopped at step " + std::to_string(step) + ": " + error.what());
    }
    return Error { ErrorCode::Device,
        "rank " + std::to_string(m_group->rank()) + " of " + std::to_string(m_group->size())
            + ": training stopped at step " + std::to_string(step)
            + " because another training process is gone or did not answer (" + error.what() + ")" + saved
            + ". Start every process again with --resume to continue from rank 0's last checkpoint." };
}

} // namespace tmk::detail
