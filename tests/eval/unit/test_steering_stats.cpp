// The steering report's statistics (engine/eval/steering_stats.h) on inputs small enough to check by hand.
#include <cmath>
#include <gtest/gtest.h>

#include "eval/steering_stats.h"
#include "world/rng.h"

using namespace tmk::eval;

TEST(SteeringStats, SpearmanUsesAverageRanksForTies)
{
    // x ranks 1, 2.5, 2.5, 4 against y ranks 1, 3, 2, 4: cov 4.5, var 4.5 and 5, so rho = 4.5 / sqrt(22.5) = sqrt(0.9).
    const std::vector<double> x = { 1, 2, 2, 3 }, y = { 1, 3, 2, 4 };
    ASSERT_TRUE(spearmanCorrelation(x, y));
    EXPECT_NEAR(*spearmanCorrelation(x, y), std::sqrt(0.9), 1e-12);
    // Slider values repeat: ranks 1.5, 1.5, 3.5, 3.5 against 1..4 give 4 / sqrt(4 * 5) = 2 / sqrt(5).
    const std::vector<double> slider = { -1, -1, 1, 1 }, measured = { 0.1, 0.2, 0.3, 0.4 };
    EXPECT_NEAR(*spearmanCorrelation(slider, measured), 2.0 / std::sqrt(5.0), 1e-12);
    const std::vector<double> falling = { 5, 4, 3, 1 };
    EXPECT_NEAR(*spearmanCorrelation(std::vector<double> { 1, 2, 3, 4 }, falling), -1.0, 1e-12);
}

TEST(SteeringStats, SpearmanIsUndefinedForConstantOrMismatchedInput)
{
    const std::vector<double> x = { 1, 2, 3 }, flat = { 2, 2, 2 };
    EXPECT_FALSE(spearmanCorrelation(x, flat));
    EXPECT_FALSE(spearmanCorrelation(flat, x));
    EXPECT_FALSE(spearmanCorrelation(x, std::vector<double> { 1, 2 }));
    EXPECT_FALSE(spearmanCorrelation(std::vector<double> { 1 }, std::vector<double> { 1 }));
}

TEST(SteeringStats, StandardisedEffectPoolsTheVariances)
{
    // Means 2 and 5, both SDs 1: d = 3.
    EXPECT_NEAR(*standardisedEffect(std::vector<double> { 1, 2, 3 }, std::vector<double> { 4, 5, 6 }), 3.0, 1e-12);
    // Means 1 and 4, variances 2 (n 2) and 1 (n 3): pooled variance (2 + 2) / 3, d = 3 / sqrt(4 / 3).
    EXPECT_NEAR(*standardisedEffect(std::vector<double> { 0, 2 }, std::vector<double> { 3, 4, 5 }),
        3.0 / std::sqrt(4.0 / 3.0), 1e-12);
    EXPECT_NEAR(*standardisedEffect(std::vector<double> { 4, 5, 6 }, std::vector<double> { 1, 2, 3 }), -3.0, 1e-12);
    EXPECT_NEAR(*meanDifference(std::vector<double> { 0, 2 }, std::vector<double> { 3, 4, 5 }), 3.0, 1e-12);
}

TEST(SteeringStats, StandardisedEffectIsUndefinedWithoutSpread)
{
    EXPECT_FALSE(standardisedEffect(std::vector<double> { 1, 1 }, std::vector<double> { 2, 2 }));
    EXPECT_FALSE(standardisedEffect(std::vector<double> { 1 }, std::vector<double> { 2 })); // no degree of freedom
    EXPECT_FALSE(standardisedEffect(std::vector<double> {}, std::vector<double> { 1, 2, 3 }));
    EXPECT_FALSE(meanDifference(std::vector<double> {}, std::vector<double> { 1 }));
}

namespace {

std::vector<double> normalSample(size_t count, double mean, double sd, uint64_t seed)
{
    tmk::world::Rng rng(seed);
    std::vector<double> values(count);
    for (double& v : values) v = mean + sd * rng.normal();
    return values;
}

} // namespace

TEST(SteeringStats, BootstrapIntervalCoversTheTrueDifferenceAndExcludesZeroOnAClearEffect)
{
    const std::vector<double> low = normalSample(32, 0.0, 0.5, 1), high = normalSample(32, 1.0, 0.5, 2);
    const std::optional<Interval> difference = bootstrapInterval(low, high, meanDifference, {});
    ASSERT_TRUE(difference);
    EXPECT_LT(difference->low, 1.0);
    EXPECT_GT(difference->high, 1.0);
    EXPECT_GT(difference->low, 0.0);
    EXPECT_LT(difference->high - difference->low, 1.0);
    // The standardised effect's interval holds the sample's own d and excludes 0 too.
    const std::optional<Interval> effect = bootstrapInterval(low, high, standardisedEffect, {});
    ASSERT_TRUE(effect);
    const double d = *standardisedEffect(low, high);
    EXPECT_LT(effect->low, d);
    EXPECT_GT(effect->high, d);
    EXPECT_GT(effect->low, 0.0);
}

TEST(SteeringStats, BootstrapIntervalHoldsZeroWithoutAnEffect)
{
    const std::vector<double> low = normalSample(32, 0.5, 0.2, 3), high = normalSample(32, 0.5, 0.2, 4);
    const std::optional<Interval> interval = bootstrapInterval(low, high, meanDifference, {});
    ASSERT_TRUE(interval);
    EXPECT_LT(interval->low, 0.0);
    EXPECT_GT(interval->high, 0.0);
}

TEST(SteeringStats, BootstrapIsDeterministicForASeed)
{
    const std::vector<double> low = normalSample(10, 0.0, 1.0, 5), high = normalSample(10, 1.0, 1.0, 6);
    const BootstrapOptions options { 500, 42, 0.95 };
    const std::optional<Interval> a = bootstrapInterval(low, high, standardisedEffect, options);
    const std::optional<Interval> b = bootstrapInterval(low, high, standardisedEffect, options);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->low, b->low);
    EXPECT_EQ(a->high, b->high);
    const std::optional<Interval> other = bootstrapInterval(low, high, standardisedEffect, { 500, 43, 0.95 });
    ASSERT_TRUE(other);
    EXPECT_NE(a->low, other->low);
}

TEST(SteeringStats, BootstrapOfAConstantStatisticIsAPoint)
{
    const std::vector<double> low = { 1, 1, 1 }, high = { 3, 3 };
    const std::optional<Interval> interval = bootstrapInterval(low, high, meanDifference, {});
    ASSERT_TRUE(interval);
    EXPECT_EQ(interval->low, 2.0);
    EXPECT_EQ(interval->high, 2.0);
    // Without spread the standardised effect is undefined in every resample, so is its interval.
    EXPECT_FALSE(bootstrapInterval(low, high, standardisedEffect, {}));
}

TEST(SteeringStats, BootstrapMeanIntervalStaysWithinTheData)
{
    const std::vector<double> values = { 1, 2, 3, 4, 5 };
    const std::optional<Interval> interval = bootstrapMeanInterval(values, {});
    ASSERT_TRUE(interval);
    EXPECT_GE(interval->low, 1.0);
    EXPECT_LT(interval->low, 3.0);
    EXPECT_GT(interval->high, 3.0);
    EXPECT_LE(interval->high, 5.0);
    EXPECT_FALSE(bootstrapMeanInterval(std::vector<double> {}, {}));
}

TEST(SteeringStats, InterferenceRatioIsTheLargestOffTargetOverTheOnTarget)
{
    const Interference a = interferenceRatio(2.0, { 0.5, -1.0, std::nullopt });
    ASSERT_TRUE(a.ratio && a.largestOffTarget);
    EXPECT_DOUBLE_EQ(*a.ratio, 0.5);
    EXPECT_EQ(*a.largestOffTarget, 1u);
    const Interference negative = interferenceRatio(-4.0, { 0.5, 3.0 });
    EXPECT_DOUBLE_EQ(*negative.ratio, 0.75);
    // No on-target measurement (a latent metric): the off-target effects are still ranked, the ratio is absent.
    const Interference latent = interferenceRatio(std::nullopt, { 0.2, -0.7 });
    EXPECT_FALSE(latent.ratio);
    EXPECT_EQ(latent.largestOffTarget, std::optional<size_t>(1));
    EXPECT_FALSE(interferenceRatio(0.0, { 0.2 }).ratio);
    const Interference none = interferenceRatio(1.0, { std::nullopt });
    EXPECT_FALSE(none.ratio);
    EXPECT_FALSE(none.largestOffTarget);
}

TEST(SteeringStats, SummariseUsesTheSampleStandardDeviation)
{
    const SampleSummary s = summarise(std::vector<double> { 2, 4, 4, 4, 5, 5, 7, 9 });
    EXPECT_EQ(s.count, 8);
    EXPECT_DOUBLE_EQ(s.mean, 5.0);
    EXPECT_NEAR(s.sd, std::sqrt(32.0 / 7.0), 1e-12);
    EXPECT_EQ(summarise(std::vector<double> { 3 }).sd, 0.0);
}
