// The DPO losses (sigmoid, ipo, hinge) and their gradients against values worked out by hand; TRL's
// metrics; the optimiser pieces (AdamW update, learning-rate schedules, clipping by global norm).
#include <cmath>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "training/dpo_loss.h"
#include "training/optimizer.h"

namespace tmk {
namespace {

double sigmoid(double x)
{
    return 1.0 / (1.0 + std::exp(-x));
}

struct Case {
    double pc, pr, rc, rr; // policy chosen/rejected, reference chosen/rejected log-prob sums
};

struct Grads {
    double loss, dChosen, dRejected;
};

// The loss and its derivatives in the policy log-probs through autograd (float64).
Grads autogradLoss(DpoLossType type, double beta, const Case& c)
{
    at::Tensor pc = at::full({ 1 }, c.pc, at::kDouble).set_requires_grad(true);
    at::Tensor pr = at::full({ 1 }, c.pr, at::kDouble).set_requires_grad(true);
    DpoLossOutput out
        = dpoLoss(type, beta, pc, pr, at::full({ 1 }, c.rc, at::kDouble), at::full({ 1 }, c.rr, at::kDouble));
    out.losses.sum().backward();
    return { out.losses.item<double>(), pc.grad().item<double>(), pr.grad().item<double>() };
}

// h = (pc - rc) - (pr - rr) = (-10 + 11) - (-12 + 11) = 2.
const Case kCase { -10.0, -12.0, -11.0, -11.0 };
constexpr double kBeta = 0.1;
constexpr double kH = 2.0;

TEST(DpoLoss, SigmoidValueAndGradientByHand)
{
    // loss = -log sigmoid(beta h) = log(1 + exp(-beta h)); d/d pc = -beta sigmoid(-beta h) = -d/d pr.
    const Grads g = autogradLoss(DpoLossType::Sigmoid, kBeta, kCase);
    EXPECT_NEAR(g.loss, std::log1p(std::exp(-kBeta * kH)), 1e-12);
    EXPECT_NEAR(g.dChosen, -kBeta * sigmoid(-kBeta * kH), 1e-12);
    EXPECT_NEAR(g.dRejected, kBeta * sigmoid(-kBeta * kH), 1e-12);
    EXPECT_NEAR(g.loss, 0.598138869381592, 1e-12); // log(1 + e^-0.2)
}

TEST(DpoLoss, IpoValueAndGradientByHand)
{
    // loss = (h - 1/(2 beta))^2 = (2 - 5)^2 = 9; d/d pc = 2 (h - 5) = -6, d/d pr = +6.
    const Grads g = autogradLoss(DpoLossType::Ipo, kBeta, kCase);
    EXPECT_NEAR(g.loss, 9.0, 1e-12);
    EXPECT_NEAR(g.dChosen, -6.0, 1e-12);
    EXPECT_NEAR(g.dRejected, 6.0, 1e-12);
}

TEST(DpoLoss, HingeValueAndGradientByHand)
{
    // loss = relu(1 - beta h) = 0.8; d/d pc = -beta, d/d pr = +beta.
    Grads g = autogradLoss(DpoLossType::Hinge, kBeta, kCase);
    EXPECT_NEAR(g.loss, 0.8, 1e-12);
    EXPECT_NEAR(g.dChosen, -kBeta, 1e-12);
    EXPECT_NEAR(g.dRejected, kBeta, 1e-12);
    // Past the margin (beta h = 2 > 1) the loss and its gradient are 0.
    g = autogradLoss(DpoLossType::Hinge, kBeta, Case { 0.0, -20.0, 0.0, 0.0 });
    EXPECT_EQ(g.loss, 0.0);
    EXPECT_EQ(g.dChosen, 0.0);
    EXPECT_EQ(g.dRejected, 0.0);
}

TEST(DpoLoss, RewardsAndTrlMetrics)
{
    // Pair 0 as above; pair 1 prefers the rejected sequence: h = (-5 + 4) - (-3 + 4) = -2.
    at::Tensor pc = at::tensor({ -10.0, -5.0 }, at::kDouble), pr = at::tensor({ -12.0, -3.0 }, at::kDouble);
    at::Tensor rc = at::tensor({ -11.0, -4.0 }, at::kDouble), rr = at::tensor({ -11.0, -4.0 }, at::kDouble);
    DpoLossOutput out = dpoLoss(DpoLossType::Sigmoid, kBeta, pc, pr, rc, rr);
    EXPECT_NEAR(out.chosenRewards[0].item<double>(), 0.1, 1e-12); // beta (pc - rc)
    EXPECT_NEAR(out.rejectedRewards[0].item<double>(), -0.1, 1e-12); // beta (pr - rr)
    EXPECT_NEAR(out.chosenRewards[1].item<double>(), -0.1, 1e-12);
    EXPECT_NEAR(out.rejectedRewards[1].item<double>(), 0.1, 1e-12);
    DpoMetricSums sums;
    sums.add(out, pc, pr);
    std::map<std::string, double> m;
    for (const auto& [name, value] : sums.means("eval_")) m[name] = value;
    EXPECT_NEAR(m.at("eval_rewards/accuracies"), 0.5, 1e-12);
    EXPECT_NEAR(m.at("eval_rewards/margins"), (0.2 + -0.2) / 2, 1e-12);
    EXPECT_NEAR(m.at("eval_rewards/chosen"), 0.0, 1e-12);
    EXPECT_NEAR(m.at("eval_logps/chosen"), -7.5, 1e-12);
    EXPECT_NEAR(m.at("eval_logps/rejected"), -7.5, 1e-12);
    EXPECT_NEAR(m.at("eval_loss"), (std::log1p(std::exp(-0.2)) + std::log1p(std::exp(0.2))) / 2, 1e-12);
    EXPECT_EQ(m.size(), 7u);
}

TEST(Optimizer, AdamWMatchesTheFormula)
{
    at::Tensor p = at::tensor({ 1.0, -2.0 }, at::kDouble).set_requires_grad(true);
    AdamW adam({ p }, /*weightDecay=*/0.1);
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double x[2] = { 1.0, -2.0 }, m[2] = { 0, 0 }, v[2] = { 0, 0 };
    const double grads[2][2] = { { 0.5, -1.0 }, { 0.25, 2.0 } };
    for (int step = 1; step <= 2; ++step) {
        p.mutable_grad() = at::tensor({ grads[step - 1][0], grads[step - 1][1] }, at::kDouble);
        adam.step(lr);
        for (int i = 0; i < 2; ++i) {
            const double g = grads[step - 1][i];
            x[i] *= 1 - lr * 0.1;
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            const double mHat = m[i] / (1 - std::pow(b1, step)), vHat = v[i] / (1 - std::pow(b2, step));
            x[i] -= lr * mHat / (std::sqrt(vHat) + eps); // torch: denom = sqrt(v) / sqrt(bc2) + eps
        }
        EXPECT_NEAR(p[0].item<double>(), x[0], 1e-9);
        EXPECT_NEAR(p[1].item<double>(), x[1], 1e-9);
    }
    EXPECT_EQ(adam.stepCount(), 2);
}

TEST(Optimizer, AdamWLearningRateScalesPerParameter)
{
    // Two identical parameters with identical gradients: the one with scale 3 takes the step (and the weight
    // decay) of learning rate 3 lr; scale 0 freezes a parameter.
    at::Tensor a = at::tensor({ 1.0, -2.0 }, at::kDouble).set_requires_grad(true);
    at::Tensor b = a.detach().clone().set_requires_grad(true);
    at::Tensor c = a.detach().clone().set_requires_grad(true);
    at::Tensor reference = a.detach().clone().set_requires_grad(true);
    AdamW scaled({ a, b, c }, 0.1);
    scaled.setLearningRateScales({ 1.0, 3.0, 0.0 });
    AdamW plain({ reference }, 0.1);
    for (int step = 0; step < 3; ++step) {
        const at::Tensor g = at::tensor({ 0.5 - step, 1.0 + step }, at::kDouble);
        for (at::Tensor* t : { &a, &b, &c, &reference }) t->mutable_grad() = g.clone();
        scaled.step(0.01);
        plain.step(0.01);
    }
    EXPECT_TRUE(at::allclose(a, reference, 0.0, 1e-12)) << "scale 1 is plain AdamW";
    EXPECT_TRUE(at::equal(c, at::tensor({ 1.0, -2.0 }, at::kDouble))) << "scale 0 does not move";
    // One step from the start: the Adam update has magnitude lr (|m_hat / sqrt(v_hat)| = 1), so scale 3
    // moves three times as far as scale 1.
    at::Tensor d = at::tensor({ 1.0 }, at::kDouble).set_requires_grad(true);
    at::Tensor e = at::tensor({ 1.0 }, at::kDouble).set_requires_grad(true);
    AdamW once({ d, e }, 0.0);
    once.setLearningRateScales({ 1.0, 3.0 });
    d.mutable_grad() = at::tensor({ 0.7 }, at::kDouble);
    e.mutable_grad() = at::tensor({ 0.7 }, at::kDouble);
    once.step(0.01);
    EXPECT_NEAR(1.0 - e.item<double>(), 3.0 * (1.0 - d.item<double>()), 1e-9);
    EXPECT_NEAR(1.0 - d.item<double>(), 0.01, 1e-6);
    EXPECT_FALSE(at::allclose(b, reference));
}

TEST(Optimizer, LearningRateSchedules)
{
    // transformers' lambdas: warm-up 0 -> 1 over 10 steps, then decay over the remaining 90.
    EXPECT_DOUBLE_EQ(learningRateFactor(LrSchedule::Linear, 0, 10, 100), 0.0);
    EXPECT_DOUBLE_EQ(learningRateFactor(LrSchedule::Linear, 5, 10, 100), 0.5);
    EXPECT_DOUBLE_EQ(learningRateFactor(LrSchedule::Linear, 10, 10, 100), 1.0);
    EXPECT_DOUBLE_EQ(learningRateFactor(LrSchedule::Linear, 55, 10, 100), 0.5);
    EXPECT_DOUBLE_EQ(learningRateFactor(LrSchedule::Linear, 100, 10, 100), 0.0);
    EXPECT_NEAR(learningRateFactor(LrSchedule::Cosine, 55, 10, 100), 0.5, 1e-12);
    EXPECT_NEAR(learningRateFactor(LrSchedule::Cosine, 10 + 90 / 3, 10, 100), 0.75, 1e-12);
    EXPECT_DOUBLE_EQ(learningRateFactor(LrSchedule::Constant, 99, 10, 100), 1.0);
    EXPECT_DOUBLE_EQ(learningRateFactor(LrSchedule::Constant, 0, 0, 100), 1.0);
}

TEST(Optimizer, ClipByGlobalNormReportsTheNormBefore)
{
    at::Tensor a = at::zeros({ 2 }, at::kFloat).set_requires_grad(true),
               b = at::zeros({ 1 }, at::kFloat).set_requires_grad(true);
    a.mutable_grad() = at::tensor({ 3.0f, 0.0f });
    b.mutable_grad() = at::tensor({ 4.0f });
    EXPECT_NEAR(clipGradNorm({ a, b }, 1.0), 5.0, 1e-6);
    EXPECT_NEAR(a.grad()[0].item<double>(), 3.0 / 5.0, 1e-5);
    EXPECT_NEAR(b.grad()[0].item<double>(), 4.0 / 5.0, 1e-5);
    // Under the limit nothing changes.
    EXPECT_NEAR(clipGradNorm({ a, b }, 10.0), 1.0, 1e-5);
    EXPECT_NEAR(b.grad()[0].item<double>(), 0.8, 1e-5);
}

} // namespace
} // namespace tmk
