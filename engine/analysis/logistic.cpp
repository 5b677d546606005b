#include "logistic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "model_fit.h"

namespace tmk::analysis {

double LogisticModel::logit(std::span<const double> inputs) const
{
    if (weight.empty() || inputs.size() != weight.size() || mean.size() != weight.size()
        || scale.size() != weight.size())
        return 0.0;
    double sum = bias;
    for (size_t i = 0; i < weight.size(); ++i)
        sum += weight[i] * std::clamp((inputs[i] - mean[i]) / (scale[i] > 0.0 ? scale[i] : 1.0), -6.0, 6.0);
    return sum;
}

LogisticModel fitLogistic(const std::vector<std::vector<double>>& rows, const std::vector<int>& labels, double lambda)
{
    LogisticModel model;
    const size_t count = rows.size();
    if (count == 0 || labels.size() != count) return model;
    const int inputs = static_cast<int>(rows[0].size());
    for (const std::vector<double>& row : rows)
        if (static_cast<int>(row.size()) != inputs) return model;
    model.mean.assign(inputs, 0.0);
    model.scale.assign(inputs, 1.0);
    model.weight.assign(inputs, 0.0);
    for (int j = 0; j < inputs; ++j) {
        double mean = 0.0, var = 0.0;
        for (const std::vector<double>& row : rows) mean += row[j] / count;
        for (const std::vector<double>& row : rows) var += (row[j] - mean) * (row[j] - mean) / count;
        model.mean[j] = mean;
        model.scale[j] = var > 1e-12 ? std::sqrt(var) : 1.0;
    }
    // Newton's method on [bias, weights].
    const int n = inputs + 1;
    std::vector<double> z(n), theta(n, 0.0);
    for (int iteration = 0; iteration < 25; ++iteration) {
        std::vector<double> hessian(static_cast<size_t>(n) * n, 0.0), gradient(n, 0.0);
        for (size_t i = 0; i < count; ++i) {
            z[0] = 1.0;
            for (int j = 0; j < inputs; ++j)
                z[j + 1] = std::clamp((rows[i][j] - model.mean[j]) / model.scale[j], -6.0, 6.0);
            double logit = 0.0;
            for (int j = 0; j < n; ++j) logit += theta[j] * z[j];
            const double p = 1.0 / (1.0 + std::exp(-logit)), w = std::max(p * (1.0 - p), 1e-9);
            for (int j = 0; j < n; ++j) {
                gradient[j] += (p - labels[i]) * z[j];
                for (int k = 0; k <= j; ++k) hessian[j * n + k] += w * z[j] * z[k];
            }
        }
        for (int j = 0; j < n; ++j)
            for (int k = 0; k < j; ++k) hessian[k * n + j] = hessian[j * n + k];
        for (int j = 1; j < n; ++j) {
            gradient[j] += 2.0 * lambda * count * theta[j];
            hessian[j * n + j] += 2.0 * lambda * count;
        }
        const std::vector<double> step = solveLinear(hessian, gradient, n);
        double largest = 0.0;
        for (int j = 0; j < n; ++j) {
            theta[j] -= step[j];
            largest = std::max(largest, std::abs(step[j]));
        }
        if (largest < 1e-9) break;
    }
    model.bias = theta[0];
    for (int j = 0; j < inputs; ++j) model.weight[j] = theta[j + 1];
    return model;
}

std::string logisticToInc(const LogisticModel& model)
{
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.17g,\n", model.bias);
    std::string text = buffer;
    for (const std::vector<double>* values : { &model.mean, &model.scale, &model.weight }) {
        text += "{";
        for (size_t i = 0; i < values->size(); ++i) {
            std::snprintf(buffer, sizeof buffer, "%s%.17g", i == 0 ? "" : (i % 6 == 0 ? ",\n " : ", "), (*values)[i]);
            text += buffer;
        }
        text += "},\n";
    }
    return text;
}

} // namespace tmk::analysis
