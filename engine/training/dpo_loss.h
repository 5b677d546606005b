// The DPO losses with TRL's semantics (trl.DPOTrainer.dpo_loss, label smoothing 0). With
// h = (pi_c - ref_c) - (pi_r - ref_r) (log-prob sums of the policy and the reference, chosen and rejected):
//   sigmoid: -log sigmoid(beta * h)      ipo: (h - 1 / (2 beta))^2      hinge: relu(1 - beta * h)
// rewards/chosen = beta (pi_c - ref_c) and rewards/rejected = beta (pi_r - ref_r), both detached.
#pragma once

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tastemaker/training.h"

namespace tmk {

struct DpoLossOutput {
    at::Tensor losses; // [B], differentiable in the policy log-probs
    at::Tensor chosenRewards; // [B], detached
    at::Tensor rejectedRewards; // [B], detached
};

// Each input [B] (float32 or float64, any device).
DpoLossOutput dpoLoss(DpoLossType type, double beta, const at::Tensor& policyChosen, const at::Tensor& policyRejected,
    const at::Tensor& referenceChosen, const at::Tensor& referenceRejected);

// Sums of TRL's per-batch metrics over some pairs, averaged when read (a step's micro-batches, or an
// evaluation's batches): loss, rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins,
// logps/chosen, logps/rejected.
class DpoMetricSums {
public:
    // One batch: its losses [B], rewards [B] and policy log-probs [B].
    void add(const DpoLossOutput& output, const at::Tensor& policyChosen, const at::Tensor& policyRejected);
    int64_t pairs() const { return m_pairs; }
    // Means over every pair added, each name prefixed with `prefix` ("" or "eval_").
    std::vector<std::pair<std::string, double>> means(const std::string& prefix) const;
    // The sums as 8 numbers (pairs first), and back: a data-parallel run adds them up over its ranks.
    std::array<double, 8> packed() const;
    void unpack(const std::array<double, 8>& values);

private:
    int64_t m_pairs = 0;
    double m_loss = 0, m_chosen = 0, m_rejected = 0, m_accuracy = 0, m_margin = 0, m_logpsChosen = 0,
           m_logpsRejected = 0;
};

} // namespace tmk
