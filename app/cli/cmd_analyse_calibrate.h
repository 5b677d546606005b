// `analyse --calibrate WORLD_DIR` and `analyse --fit WORLD_DIR... [--models-out FILE]`: the Analyser against a
// rendered world's own values (docs/world.md (section Calibration)).
#pragma once

#include "args.h"
#include "tastemaker/analysis.h"

namespace tmk::cli {

int runAnalyseCalibration(const Args& args, const AnalysisOptions& options);

} // namespace tmk::cli
