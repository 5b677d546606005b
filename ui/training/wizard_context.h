// What the training wizard's pages share: the bridge, the plan they fill in turn, the data page's preview
// report, and (in resume mode) the run to continue.
#pragma once

#include <filesystem>
#include <optional>

#include "tastemaker/pairs.h"
#include "tastemaker/training.h"
#include "training/training_bridge.h"

namespace tmk::ui {

struct WizardContext {
    explicit WizardContext(TrainingBridge& trainingBridge)
        : bridge(trainingBridge)
    {
    }
    TrainingBridge& bridge;
    TrainingPlan plan;
    std::optional<tmk::PairReport> report; // the data page's last successful preview
    std::optional<tmk::RunInfo> resumeRun; // resume mode: the run the run page continues
    std::filesystem::path resumeBankDir; // where a resumed adapter registers (empty: the run's own bank)
};

// QSettings keys of the wizard (organisation and application are the app's).
namespace training_settings {
inline constexpr const char* kTracksCsv = "training/tracksCsv";
inline constexpr const char* kYoutubeCsv = "training/youtubeCsv";
inline constexpr const char* kAudioDir = "training/audioDir";
inline constexpr const char* kRatingColumn = "training/ratingColumn";
inline constexpr const char* kModelDir = "training/modelDir";
inline constexpr const char* kBankDir = "training/bankDir";
inline constexpr const char* kRunsRoot = "training/runsRoot";
} // namespace training_settings

} // namespace tmk::ui
