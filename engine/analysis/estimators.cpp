#include "estimators.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tmk::analysis {

const std::vector<LinearModel>& learnedModels()
{
    static const std::vector<LinearModel> models = {
#include "learned_models.inc"
    };
    return models;
}

double modelLogit(const LinearModel& model, const AnalysisFeatures& features)
{
    double logit = model.bias;
    for (const ModelTerm& term : model.terms) {
        const double z = (features[term.feature] - term.mean) / (term.scale > 0.0 ? term.scale : 1.0);
        logit += term.weight * std::clamp(z, -6.0, 6.0);
    }
    return logit;
}

double modelValue(const LinearModel& model, const AnalysisFeatures& features)
{
    return 1.0 / (1.0 + std::exp(-modelLogit(model, features)));
}

double estimateMetric(const std::string& metric, const AnalysisFeatures& features)
{
    for (const LinearModel& model : learnedModels())
        if (model.metric == metric) return modelValue(model, features);
    return 0.5;
}

std::string modelsToInc(const std::vector<LinearModel>& models, const std::string& comment)
{
    std::string text = "// " + comment + "\n// {metric, bias, {{feature, mean, scale, weight}, ...}}\n";
    char buffer[160];
    for (const LinearModel& model : models) {
        std::snprintf(buffer, sizeof buffer, "{\"%s\", %.6g, {\n", model.metric.c_str(), model.bias);
        text += buffer;
        for (const ModelTerm& t : model.terms) {
            std::snprintf(buffer, sizeof buffer, "    {%d, %.6g, %.6g, %.6g},  // %s\n", t.feature, t.mean, t.scale,
                t.weight, analysisFeatureNames()[t.feature]);
            text += buffer;
        }
        text += "}},\n";
    }
    return text;
}

} // namespace tmk::analysis
