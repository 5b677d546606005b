#include "eval/steering_stats.h"

#include <algorithm>
#include <cmath>

#include "analysis/model_fit.h"
#include "world/rng.h"

namespace tmk::eval {

namespace {

// Quantile p of sorted values, interpolating linearly between order statistics (R's type 7).
double quantile(const std::vector<double>& sorted, double p)
{
    const double at = p * static_cast<double>(sorted.size() - 1);
    const size_t below = static_cast<size_t>(std::floor(at));
    const size_t above = std::min(below + 1, sorted.size() - 1);
    return sorted[below] + (at - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

void resample(std::span<const double> from, std::vector<double>& into, world::Rng& rng)
{
    into.resize(from.size());
    for (double& value : into) value = from[rng.index(from.size())];
}

bool constant(std::span<const double> values)
{
    return std::all_of(values.begin(), values.end(), [&](double v) { return v == values.front(); });
}

} // namespace

SampleSummary summarise(std::span<const double> values)
{
    SampleSummary summary;
    summary.count = static_cast<int64_t>(values.size());
    if (values.empty()) return summary;
    double sum = 0.0;
    for (double v : values) sum += v;
    summary.mean = sum / static_cast<double>(values.size());
    if (values.size() < 2) return summary;
    double squares = 0.0;
    for (double v : values) squares += (v - summary.mean) * (v - summary.mean);
    summary.sd = std::sqrt(squares / static_cast<double>(values.size() - 1));
    return summary;
}

std::optional<double> meanDifference(std::span<const double> low, std::span<const double> high)
{
    if (low.empty() || high.empty()) return std::nullopt;
    return summarise(high).mean - summarise(low).mean;
}

std::optional<double> standardisedEffect(std::span<const double> low, std::span<const double> high)
{
    if (low.empty() || high.empty() || low.size() + high.size() < 3) return std::nullopt;
    const SampleSummary l = summarise(low), h = summarise(high);
    const double pooledVariance
        = (static_cast<double>(h.count - 1) * h.sd * h.sd + static_cast<double>(l.count - 1) * l.sd * l.sd)
        / static_cast<double>(h.count + l.count - 2);
    if (!(pooledVariance > 0.0)) return std::nullopt;
    return (h.mean - l.mean) / std::sqrt(pooledVariance);
}

std::optional<Interval> bootstrapInterval(std::span<const double> low, std::span<const double> high,
    const TwoSampleStatistic& statistic, const BootstrapOptions& options)
{
    if (low.empty() || high.empty() || options.resamples < 1) return std::nullopt;
    world::Rng rng(options.seed);
    std::vector<double> lowDraw, highDraw, values;
    values.reserve(static_cast<size_t>(options.resamples));
    for (int64_t i = 0; i < options.resamples; ++i) {
        resample(low, lowDraw, rng);
        resample(high, highDraw, rng);
        if (std::optional<double> value = statistic(lowDraw, highDraw); value && std::isfinite(*value))
            values.push_back(*value);
    }
    if (2 * static_cast<int64_t>(values.size()) < options.resamples) return std::nullopt;
    std::sort(values.begin(), values.end());
    const double tail = (1.0 - options.level) / 2.0;
    return Interval { quantile(values, tail), quantile(values, 1.0 - tail) };
}

std::optional<Interval> bootstrapMeanInterval(std::span<const double> values, const BootstrapOptions& options)
{
    // The mean of one sample is the difference of its resampled mean from an empty-spread "low" group of 0.
    const double zero = 0.0;
    return bootstrapInterval(std::span<const double>(&zero, 1), values, meanDifference, options);
}

std::optional<double> spearmanCorrelation(std::span<const double> x, std::span<const double> y)
{
    if (x.size() != y.size() || x.size() < 2 || constant(x) || constant(y)) return std::nullopt;
    return analysis::spearman(std::vector<double>(x.begin(), x.end()), std::vector<double>(y.begin(), y.end()));
}

Interference interferenceRatio(std::optional<double> onTarget, const std::vector<std::optional<double>>& offTarget)
{
    Interference result;
    for (size_t i = 0; i < offTarget.size(); ++i)
        if (offTarget[i]
            && (!result.largestOffTarget || std::abs(*offTarget[i]) > std::abs(*offTarget[*result.largestOffTarget])))
            result.largestOffTarget = i;
    if (onTarget && *onTarget != 0.0 && result.largestOffTarget)
        result.ratio = std::abs(*offTarget[*result.largestOffTarget]) / std::abs(*onTarget);
    return result;
}

} // namespace tmk::eval
