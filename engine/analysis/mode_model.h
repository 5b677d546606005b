// The mode classifier: a logistic model that chooses between the key finder's best major key and its best
// minor key (docs/analysis.md, "Mode"). Its inputs are the song's chroma, bass chroma and opening-seconds
// chroma and bass (key.cpp), rotated so that the best major key's tonic is pitch class 0, so the model is the
// same in every key. The weights are in mode_model.inc, written by `tastemaker-cli analyse --fit-mode`.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "descriptors.h"
#include "logistic.h"
#include "tastemaker/error.h"

namespace tmk::analysis {

// 4 x 12 rotated chroma values, whether the best minor key is the best major key's relative minor, and
// the weighted key score's own vote (1 minor, 0 major).
inline constexpr int kModeFeatures = 50;
using ModeFeatures = std::array<double, kModeFeatures>;

// Its logit is that of "minor"; an empty model leaves the key score's choice.
using ModeModel = LogisticModel;

ModeFeatures modeFeatures(const KeyEstimate& key);

// The committed model (mode_model.inc).
const ModeModel& committedModeModel();

// Sets key.mode and key.tonic from `model` (the key score's choice when the model is empty).
void applyModeModel(const ModeModel& model, KeyEstimate& key);

// fitLogistic of minor (1) against major (0).
ModeModel fitModeModel(const std::vector<ModeFeatures>& songs, const std::vector<int>& minor, double lambda);

// The key finder's estimate for a file (read and resampled as analyseFile does), before the mode model.
Expected<KeyEstimate> keyOfFile(const std::filesystem::path& path);

// The model as the text of mode_model.inc.
std::string modeModelToInc(const ModeModel& model, const std::string& comment);

} // namespace tmk::analysis
