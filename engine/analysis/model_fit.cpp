#include "model_fit.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tmk::analysis {

std::vector<double> solveLinear(std::vector<double> a, std::vector<double> b, int n)
{
    for (int col = 0; col < n; ++col) {
        int pivot = col;
        for (int r = col + 1; r < n; ++r)
            if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col])) pivot = r;
        if (std::abs(a[pivot * n + col]) < 1e-12) continue;
        if (pivot != col) {
            for (int c = 0; c < n; ++c) std::swap(a[col * n + c], a[pivot * n + c]);
            std::swap(b[col], b[pivot]);
        }
        for (int r = 0; r < n; ++r) {
            if (r == col) continue;
            const double factor = a[r * n + col] / a[col * n + col];
            if (factor == 0.0) continue;
            for (int c = col; c < n; ++c) a[r * n + c] -= factor * a[col * n + c];
            b[r] -= factor * b[col];
        }
    }
    std::vector<double> x(n, 0.0);
    for (int i = 0; i < n; ++i) x[i] = std::abs(a[i * n + i]) > 1e-12 ? b[i] / a[i * n + i] : 0.0;
    return x;
}

namespace {

std::vector<double> ranks(const std::vector<double>& v)
{
    std::vector<size_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
        for (size_t k = i; k <= j; ++k) r[order[k]] = 0.5 * (i + j);
        i = j + 1;
    }
    return r;
}

} // namespace

LinearModel fitLogitRidge(const std::string& metric, const std::vector<AnalysisFeatures>& songs,
    const std::vector<double>& targets, const std::vector<int>& features, double lambda)
{
    LinearModel model;
    model.metric = metric;
    const size_t count = songs.size();
    if (count == 0) return model;
    std::vector<ModelTerm> terms;
    for (int f = 0; f < kAnalysisFeatureCount; ++f) {
        if (!features.empty() && std::find(features.begin(), features.end(), f) == features.end()) continue;
        double mean = 0.0, var = 0.0;
        for (const AnalysisFeatures& s : songs) mean += s[f] / count;
        for (const AnalysisFeatures& s : songs) var += (s[f] - mean) * (s[f] - mean) / count;
        if (var > 1e-12) terms.push_back(ModelTerm { f, mean, std::sqrt(var), 0.0 });
    }
    std::vector<double> y(count);
    double yMean = 0.0;
    for (size_t i = 0; i < count; ++i) {
        const double p = std::clamp(targets[i], 0.02, 0.98);
        y[i] = std::log(p / (1.0 - p));
        yMean += y[i] / count;
    }
    const int n = static_cast<int>(terms.size());
    std::vector<double> a(static_cast<size_t>(n) * n, 0.0), b(n, 0.0), z(n);
    for (size_t i = 0; i < count; ++i) {
        for (int j = 0; j < n; ++j)
            z[j] = std::clamp((songs[i][terms[j].feature] - terms[j].mean) / terms[j].scale, -6.0, 6.0);
        for (int j = 0; j < n; ++j) {
            b[j] += z[j] * (y[i] - yMean);
            for (int k = 0; k < n; ++k) a[j * n + k] += z[j] * z[k];
        }
    }
    for (int j = 0; j < n; ++j) a[j * n + j] += lambda * count;
    const std::vector<double> w = solveLinear(a, b, n);
    for (int j = 0; j < n; ++j) terms[j].weight = w[j];
    model.bias = yMean;
    model.terms = std::move(terms);
    return model;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b)
{
    if (a.size() != b.size() || a.size() < 2) return 0.0;
    const std::vector<double> ra = ranks(a), rb = ranks(b);
    const double n = static_cast<double>(a.size());
    const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n,
                 mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
    double cov = 0.0, va = 0.0, vb = 0.0;
    for (size_t i = 0; i < ra.size(); ++i) {
        cov += (ra[i] - ma) * (rb[i] - mb);
        va += (ra[i] - ma) * (ra[i] - ma);
        vb += (rb[i] - mb) * (rb[i] - mb);
    }
    return va > 0.0 && vb > 0.0 ? cov / std::sqrt(va * vb) : 0.0;
}

} // namespace tmk::analysis
