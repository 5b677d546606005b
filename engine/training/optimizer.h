// AdamW as torch.optim.AdamW (decoupled weight decay, bias correction, betas 0.9/0.999, eps 1e-8), the
// learning-rate schedules of transformers (get_{linear,cosine,constant}_schedule_with_warmup) and clipping
// by global norm as torch.nn.utils.clip_grad_norm_. The state is plain tensors, so checkpoints hold it
// exactly and a resumed run continues bit for bit.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"
#include "tastemaker/training.h"

namespace tmk {

// The learning-rate multiplier after `step` optimiser steps (transformers' lr_lambda): warm-up from 0, then
// linear decay to 0 at totalSteps, a half cosine to 0, or constant.
double learningRateFactor(LrSchedule schedule, int64_t step, int64_t warmupSteps, int64_t totalSteps);

// The global L2 norm of the gradients (parameters without a gradient count 0); when maxNorm > 0 and the
// norm exceeds it, the gradients are scaled by maxNorm / (norm + 1e-6). Returns the norm before clipping.
double clipGradNorm(const std::vector<at::Tensor>& parameters, double maxNorm);

class AdamW {
public:
    AdamW(std::vector<at::Tensor> parameters, double weightDecay, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8);

    // One update with learning rate `lr` from the parameters' current gradients (none: skipped).
    void step(double lr);
    // Per-parameter multipliers of the learning rate (and so of the decoupled weight decay), in the order of
    // the constructor's parameters; empty (the default): 1 for all.
    void setLearningRateScales(std::vector<double> scales) { m_lrScales = std::move(scales); }
    void zeroGrad();
    int64_t stepCount() const { return m_step; }

    // exp_avg / exp_avg_sq per parameter under "<names[i]>.exp_avg" / ".exp_avg_sq", and the step.
    std::map<std::string, at::Tensor> state(const std::vector<std::string>& names) const;
    Expected<void> loadState(const std::map<std::string, at::Tensor>& values, const std::vector<std::string>& names,
        int64_t step, const std::string& file);

private:
    std::vector<at::Tensor> m_params;
    std::vector<at::Tensor> m_expAvg, m_expAvgSq;
    std::vector<double> m_lrScales;
    double m_weightDecay, m_beta1, m_beta2, m_eps;
    int64_t m_step = 0;
};

} // namespace tmk
