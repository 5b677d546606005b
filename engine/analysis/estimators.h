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
    std::string
        metric; // energy, danceability, valence, instrumentalness, speechiness, liveness (acousticness: acoustic_net.h)
    double bias = 0.0;
    std::vector<ModelTerm> terms;
};

// Speechiness and liveness are gated: a presence model (a logistic classifier) decides whether a song has
// speech or a crowd at all. A song without reads a fixed floor (speechiness) or the studio model's value,
// below kLiveFloor (liveness); a song with reads the amount model, fitted on such songs only. Spotify's own
// scale reads alike: "values below 0.33 most likely represent music and other non-speech-like tracks",
// "a value above 0.8 provides strong likelihood that the track is live".
inline constexpr const char* kSpeechPresence = "speech_presence";
inline constexpr const char* kLivePresence = "live_presence";
inline constexpr const char* kStudioLiveness = "studio_liveness";
inline constexpr double kSpeechFloor = 0.03; // the world's (and a typical song's) speechiness without speech
inline constexpr double kLiveFloor = 0.2; // studio songs read below it, live songs above
// The truth thresholds that define presence when fitting (the world's values: speech-free 0.03, one spoken
// bar of 7 reads 0.16; studio liveness 0.05..0.11, live 0.28 and up).
inline constexpr double kSpokenTruth = 0.1;
inline constexpr double kLiveTruth = 0.2;

// The committed models, in the order of the metric names above.
const std::vector<LinearModel>& learnedModels();
// The logit (before the logistic) and the 0..1 value of one model on one song.
double modelLogit(const LinearModel& model, const AnalysisFeatures& features);
double modelValue(const LinearModel& model, const AnalysisFeatures& features);
// The value of `metric` from `models` (gated for speechiness and liveness); a metric without a model reads 0.5.
double estimateMetric(
    const std::vector<LinearModel>& models, const std::string& metric, const AnalysisFeatures& features);
// The same with the committed models.
double estimateMetric(const std::string& metric, const AnalysisFeatures& features);

// The models as the text of learned_models.inc.
std::string modelsToInc(const std::vector<LinearModel>& models, const std::string& comment);

} // namespace tmk::analysis
