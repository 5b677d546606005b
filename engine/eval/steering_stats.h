// The statistics of the steering report (docs/steering.md): standardised effects, seeded bootstrap intervals,
// Spearman's rank correlation and the interference ratio. Plain numbers in, plain numbers out; torch-free.
// A figure that is not defined for its input (an empty group, no spread) is nullopt, never a made-up number.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace tmk::eval {

struct SampleSummary {
    int64_t count = 0;
    double mean = 0.0;
    double sd = 0.0; // sample standard deviation (n - 1); 0 for fewer than two values
};
SampleSummary summarise(std::span<const double> values);

// mean(high) - mean(low); nullopt when a group is empty.
std::optional<double> meanDifference(std::span<const double> low, std::span<const double> high);

// The standardised effect (Cohen's d): (mean(high) - mean(low)) / pooled SD, where
// pooled SD = sqrt(((n_h - 1) s_h^2 + (n_l - 1) s_l^2) / (n_h + n_l - 2)). nullopt when a group is empty, there are
// fewer than three values in all, or the pooled SD is 0.
std::optional<double> standardisedEffect(std::span<const double> low, std::span<const double> high);

struct Interval {
    double low = 0.0, high = 0.0;
};

struct BootstrapOptions {
    int64_t resamples = 2000;
    uint64_t seed = 0; // the same seed and data give the same interval on every machine (xoshiro256**)
    double level = 0.95;
};

using TwoSampleStatistic
    = std::function<std::optional<double>(std::span<const double> low, std::span<const double> high)>;

// Percentile bootstrap interval of statistic(low, high): each group is resampled with replacement on its own size,
// `resamples` times; the interval runs between the (1 - level) / 2 and (1 + level) / 2 quantiles (linear
// interpolation) of the statistic over the resamples. Resamples where the statistic is undefined are left out;
// nullopt when fewer than half of them are defined, or a group is empty.
std::optional<Interval> bootstrapInterval(std::span<const double> low, std::span<const double> high,
    const TwoSampleStatistic& statistic, const BootstrapOptions& options);
// The same for the mean of one sample.
std::optional<Interval> bootstrapMeanInterval(std::span<const double> values, const BootstrapOptions& options);

// Spearman's rank correlation with average ranks for ties (the Analyser's calibration uses the same function);
// nullopt when the sizes differ, there are fewer than two pairs, or either side is constant.
std::optional<double> spearmanCorrelation(std::span<const double> x, std::span<const double> y);

struct Interference {
    std::optional<double> ratio; // max |off-target| / |on-target|; nullopt when the on-target effect is undefined or 0
    std::optional<size_t>
        largestOffTarget; // index into offTarget of the largest |effect|; nullopt when none is defined
};
// The interference ratio of one slider: its largest absolute off-target standardised effect over the absolute
// on-target one. Undefined off-target effects are skipped.
Interference interferenceRatio(std::optional<double> onTarget, const std::vector<std::optional<double>>& offTarget);

} // namespace tmk::eval
