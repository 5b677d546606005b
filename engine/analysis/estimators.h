// The estimators that map the song-level features to the 0..1 metrics: one linear model per metric over
// standardised features, squashed by a logistic. Their coefficients are in learned_models.inc, written by
// `tastemaker-cli analyse --fit` (docs/world.md (section Calibration)).
#pragma once

#include <string>
#include <vector>

#include "tastemaker/analysis.h"

namespace tmk::analysis {

struct ModelTerm {
    int feature = 0;
    double mean = 0.0;
    double scale = 1.0;
    double weight = 0.0;
};

struct LinearModel {
    std::string metric; // energy, danceability, acousticness, valence, instrumentalness, speechiness, liveness
    double bias = 0.0;
    std::vector<ModelTerm> terms;
};

// The committed models, in the order of the metric names above.
const std::vector<LinearModel>& learnedModels();
// The logit (before the logistic) and the 0..1 value of one model on one song.
double modelLogit(const LinearModel& model, const AnalysisFeatures& features);
double modelValue(const LinearModel& model, const AnalysisFeatures& features);
// The model of `metric`; a metric without one reads 0.5.
double estimateMetric(const std::string& metric, const AnalysisFeatures& features);

// The models as the text of learned_models.inc.
std::string modelsToInc(const std::vector<LinearModel>& models, const std::string& comment);

} // namespace tmk::analysis
