#include "training/dpo_loss.h"

#include <cmath>

#include <ATen/TensorOperators.h>
#include <ATen/ops/log_sigmoid.h>
#include <ATen/ops/relu.h>

namespace tmk {

DpoLossOutput dpoLoss(DpoLossType type, double beta, const at::Tensor& policyChosen, const at::Tensor& policyRejected,
    const at::Tensor& referenceChosen, const at::Tensor& referenceRejected)
{
    const at::Tensor chosenRatio = policyChosen - referenceChosen; // [B]
    const at::Tensor rejectedRatio = policyRejected - referenceRejected; // [B]
    const at::Tensor h = chosenRatio - rejectedRatio; // [B]
    DpoLossOutput out;
    switch (type) {
    case DpoLossType::Sigmoid:
        out.losses = -at::log_sigmoid(h * beta);
        break;
    case DpoLossType::Ipo:
        out.losses = (h - 1.0 / (2.0 * beta)).pow(2);
        break;
    case DpoLossType::Hinge:
        out.losses = at::relu(1.0 - h * beta);
        break;
    }
    out.chosenRewards = (chosenRatio * beta).detach();
    out.rejectedRewards = (rejectedRatio * beta).detach();
    return out;
}

void DpoMetricSums::add(const DpoLossOutput& output, const at::Tensor& policyChosen, const at::Tensor& policyRejected)
{
    auto sum = [](const at::Tensor& t) { return t.detach().to(at::kDouble).sum().item<double>(); };
    m_pairs += output.losses.size(0);
    m_loss += sum(output.losses);
    m_chosen += sum(output.chosenRewards);
    m_rejected += sum(output.rejectedRewards);
    m_accuracy += sum(output.chosenRewards.gt(output.rejectedRewards));
    m_margin += sum(output.chosenRewards - output.rejectedRewards);
    m_logpsChosen += sum(policyChosen);
    m_logpsRejected += sum(policyRejected);
}

std::vector<std::pair<std::string, double>> DpoMetricSums::means(const std::string& prefix) const
{
    const double n = m_pairs > 0 ? static_cast<double>(m_pairs) : 1.0;
    return {
        { prefix + "loss", m_loss / n },
        { prefix + "rewards/chosen", m_chosen / n },
        { prefix + "rewards/rejected", m_rejected / n },
        { prefix + "rewards/accuracies", m_accuracy / n },
        { prefix + "rewards/margins", m_margin / n },
        { prefix + "logps/chosen", m_logpsChosen / n },
        { prefix + "logps/rejected", m_logpsRejected / n },
    };
}

std::array<double, 8> DpoMetricSums::packed() const
{
    return { static_cast<double>(m_pairs), m_loss, m_chosen, m_rejected, m_accuracy, m_margin, m_logpsChosen,
        m_logpsRejected };
}

void DpoMetricSums::unpack(const std::array<double, 8>& v)
{
    m_pairs = static_cast<int64_t>(std::llround(v[0]));
    m_loss = v[1], m_chosen = v[2], m_rejected = v[3], m_accuracy = v[4], m_margin = v[5], m_logpsChosen = v[6],
    m_logpsRejected = v[7];
}

} // namespace tmk
