#include "estimators.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "acoustic_net.h"
#include "core/sha256.h"
#include "mode_model.h"
#include "tempo_octave.h"

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

namespace {

const LinearModel* findModel(const std::vector<LinearModel>& models, const std::string& metric)
{
    for (const LinearModel& model : models)
        if (model.metric == metric) return &model;
    return nullptr;
}

} // namespace

double estimateMetric(
    const std::vector<LinearModel>& models, const std::string& metric, const AnalysisFeatures& features)
{
    const LinearModel* model = findModel(models, metric);
    if (model == nullptr) return 0.5;
    const double value = modelValue(*model, features);
    if (metric == "speechiness") {
        const LinearModel* presence = findModel(models, kSpeechPresence);
        if (presence == nullptr) return value;
        return modelLogit(*presence, features) < 0.0 ? kSpeechFloor : std::max(value, kSpeechFloor + 0.01);
    }
    if (metric == "liveness") {
        const LinearModel* presence = findModel(models, kLivePresence);
        const LinearModel* studio = findModel(models, kStudioLiveness);
        if (presence == nullptr || studio == nullptr) return value;
        return modelLogit(*presence, features) < 0.0 ? std::min(modelValue(*studio, features), kLiveFloor - 0.01)
                                                     : std::max(value, kLiveFloor);
    }
    return value;
}

double estimateMetric(const std::string& metric, const AnalysisFeatures& features)
{
    return estimateMetric(learnedModels(), metric, features);
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

namespace tmk {

std::string analyserIdentity()
{
    static const std::string identity = [] {
        const std::string models = analysis::modelsToInc(analysis::learnedModels(), "")
            + analysis::acousticNetToInc(analysis::committedAcousticNet(), "")
            + analysis::modeModelToInc(analysis::committedModeModel(), "")
            + analysis::tempoOctaveModelToInc(analysis::committedTempoOctaveModel(), "");
        Sha256 hash;
        hash.update(models.data(), models.size());
        return "analyser " + std::to_string(kAnalyserVersion) + ", models sha256:" + hash.hexDigest().substr(0, 16);
    }();
    return identity;
}

} // namespace tmk
