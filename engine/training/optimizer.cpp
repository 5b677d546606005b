#include "training/optimizer.h"

#include <algorithm>
#include <cmath>

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros_like.h>

namespace tmk {

double learningRateFactor(LrSchedule schedule, int64_t step, int64_t warmupSteps, int64_t totalSteps)
{
    if (step < warmupSteps) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmupSteps));
    const double progress
        = static_cast<double>(step - warmupSteps) / static_cast<double>(std::max<int64_t>(1, totalSteps - warmupSteps));
    switch (schedule) {
    case LrSchedule::Linear:
        return std::max(0.0, 1.0 - progress);
    case LrSchedule::Cosine:
        return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
    case LrSchedule::Constant:
        return 1.0;
    }
    return 1.0;
}

double clipGradNorm(const std::vector<at::Tensor>& parameters, double maxNorm)
{
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> norms;
    for (const at::Tensor& p : parameters)
        if (p.grad().defined()) norms.push_back(p.grad().detach().to(at::kFloat).norm(2));
    if (norms.empty()) return 0.0;
    const double total = at::stack(norms).norm(2).item<double>();
    if (maxNorm > 0 && std::isfinite(total)) {
        const double coefficient = maxNorm / (total + 1e-6);
        if (coefficient < 1.0)
            for (const at::Tensor& p : parameters)
                if (p.grad().defined()) p.grad().mul_(coefficient);
    }
    return total;
}

AdamW::AdamW(std::vector<at::Tensor> parameters, double weightDecay, double beta1, double beta2, double eps)
    : m_params(std::move(parameters))
    , m_weightDecay(weightDecay)
    , m_beta1(beta1)
    , m_beta2(beta2)
    , m_eps(eps)
{
    for (const at::Tensor& p : m_params) {
        m_expAvg.push_back(at::zeros_like(p, at::TensorOptions().requires_grad(false)));
        m_expAvgSq.push_back(at::zeros_like(p, at::TensorOptions().requires_grad(false)));
    }
}

void AdamW::step(double lr)
{
    at::NoGradGuard noGrad;
    ++m_step;
    const double bias1 = 1.0 - std::pow(m_beta1, static_cast<double>(m_step));
    const double bias2 = 1.0 - std::pow(m_beta2, static_cast<double>(m_step));
    const double bias2Sqrt = std::sqrt(bias2);
    for (size_t i = 0; i < m_params.size(); ++i) {
        at::Tensor p = m_params[i];
        if (!p.grad().defined()) continue;
        const double rate = i < m_lrScales.size() ? lr * m_lrScales[i] : lr;
        const double stepSize = rate / bias1;
        const at::Tensor grad = p.grad();
        p.mul_(1.0 - rate * m_weightDecay);
        m_expAvg[i].mul_(m_beta1).add_(grad, 1.0 - m_beta1);
        m_expAvgSq[i].mul_(m_beta2).addcmul_(grad, grad, 1.0 - m_beta2);
        const at::Tensor denom = (m_expAvgSq[i].sqrt() / bias2Sqrt).add_(m_eps);
        p.addcdiv_(m_expAvg[i], denom, -stepSize);
    }
}

void AdamW::zeroGrad()
{
    for (at::Tensor& p : m_params)
        if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

std::map<std::string, at::Tensor> AdamW::state(const std::vector<std::string>& names) const
{
    std::map<std::string, at::Tensor> out;
    for (size_t i = 0; i < m_params.size() && i < names.size(); ++i) {
        out[names[i] + ".exp_avg"] = m_expAvg[i];
        out[names[i] + ".exp_avg_sq"] = m_expAvgSq[i];
    }
    return out;
}

Expected<void> AdamW::loadState(const std::map<std::string, at::Tensor>& values, const std::vector<std::string>& names,
    int64_t step, const std::string& file)
{
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < m_params.size() && i < names.size(); ++i) {
        for (auto [suffix, target] :
            { std::pair { ".exp_avg", &m_expAvg[i] }, std::pair { ".exp_avg_sq", &m_expAvgSq[i] } }) {
            auto it = values.find(names[i] + suffix);
            if (it == values.end() || it->second.sizes() != target->sizes())
                return Error::inFile(
                    ErrorCode::Mismatch, file, "has no AdamW state '" + names[i] + suffix + "' of the LoRA's shape");
            target->copy_(it->second);
        }
    }
    m_step = step;
    return {};
}

} // namespace tmk
