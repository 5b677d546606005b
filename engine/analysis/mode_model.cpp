#include "mode_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "model_fit.h"

namespace tmk::analysis {

double ModeModel::minorLogit(const ModeFeatures& features) const
{
    if (weight.size() != kModeFeatures || mean.size() != kModeFeatures || scale.size() != kModeFeatures) return 0.0;
    double logit = bias;
    for (int i = 0; i < kModeFeatures; ++i)
        logit += weight[i] * std::clamp((features[i] - mean[i]) / (scale[i] > 0.0 ? scale[i] : 1.0), -6.0, 6.0);
    return logit;
}

ModeFeatures modeFeatures(const KeyEstimate& key)
{
    ModeFeatures f {};
    for (int block = 0; block < 4; ++block)
        for (int i = 0; i < 12; ++i) f[block * 12 + i] = key.profile[block * 12 + (key.majorTonic + i) % 12];
    f[48] = (key.minorTonic - key.majorTonic + 12) % 12 == 9 ? 1.0 : 0.0;
    f[49] = key.modeMargin < 0.0 ? 1.0 : 0.0;
    return f;
}

const ModeModel& committedModeModel()
{
    static const ModeModel model = {
#include "mode_model.inc"
    };
    return model;
}

void applyModeModel(const ModeModel& model, KeyEstimate& key)
{
    if (model.weight.empty()) return;
    key.mode = model.minorLogit(modeFeatures(key)) >= 0.0 ? 0 : 1;
    key.tonic = key.mode == 1 ? key.majorTonic : key.minorTonic;
}

ModeModel fitModeModel(const std::vector<ModeFeatures>& songs, const std::vector<int>& minor, double lambda)
{
    ModeModel model;
    const size_t count = songs.size();
    if (count == 0 || minor.size() != count) return model;
    model.mean.assign(kModeFeatures, 0.0);
    model.scale.assign(kModeFeatures, 1.0);
    model.weight.assign(kModeFeatures, 0.0);
    for (int j = 0; j < kModeFeatures; ++j) {
        double mean = 0.0, var = 0.0;
        for (const ModeFeatures& s : songs) mean += s[j] / count;
        for (const ModeFeatures& s : songs) var += (s[j] - mean) * (s[j] - mean) / count;
        model.mean[j] = mean;
        model.scale[j] = var > 1e-12 ? std::sqrt(var) : 1.0;
    }
    // Newton's method on [bias, weights]; the bias is not penalised.
    constexpr int n = kModeFeatures + 1;
    std::vector<double> z(n), theta(n, 0.0);
    for (int iteration = 0; iteration < 25; ++iteration) {
        std::vector<double> hessian(static_cast<size_t>(n) * n, 0.0), gradient(n, 0.0);
        for (size_t i = 0; i < count; ++i) {
            z[0] = 1.0;
            for (int j = 0; j < kModeFeatures; ++j)
                z[j + 1] = std::clamp((songs[i][j] - model.mean[j]) / model.scale[j], -6.0, 6.0);
            double logit = 0.0;
            for (int j = 0; j < n; ++j) logit += theta[j] * z[j];
            const double p = 1.0 / (1.0 + std::exp(-logit)), w = std::max(p * (1.0 - p), 1e-9);
            for (int j = 0; j < n; ++j) {
                gradient[j] += (p - minor[i]) * z[j];
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
    for (int j = 0; j < kModeFeatures; ++j) model.weight[j] = theta[j + 1];
    return model;
}

std::string modeModelToInc(const ModeModel& model, const std::string& comment)
{
    std::string text
        = "// " + comment + "\n// {bias, {means}, {scales}, {weights}} over modeFeatures() (mode_model.h)\n";
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.17g,\n", model.bias);
    text += buffer;
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
