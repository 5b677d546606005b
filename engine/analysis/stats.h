// Small statistics over descriptor series: mean, standard deviation, percentile (nearest rank below) and median.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <vector>

namespace tmk::analysis {

inline double mean(std::span<const double> x)
{
    return x.empty() ? 0.0 : std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
}

inline double stddev(std::span<const double> x)
{
    if (x.size() < 2) return 0.0;
    const double m = mean(x);
    double sum = 0.0;
    for (double v : x) sum += (v - m) * (v - m);
    return std::sqrt(sum / static_cast<double>(x.size()));
}

inline double percentile(std::vector<double> x, double q)
{
    if (x.empty()) return 0.0;
    const size_t k = std::min(x.size() - 1, static_cast<size_t>(q * static_cast<double>(x.size() - 1)));
    std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(k), x.end());
    return x[k];
}

inline double median(std::vector<double> x)
{
    return percentile(std::move(x), 0.5);
}

} // namespace tmk::analysis
