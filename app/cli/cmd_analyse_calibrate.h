// `analyse --calibrate WORLD_DIR` and `analyse --fit WORLD_DIR... [--models-out FILE]`: the Analyser against a
// rendered world's own values (docs/world.md (section Calibration)).
#pragma once

#include "args.h"
#include "tastemaker/analysis.h"

namespace tmk::cli {

int runAnalyseCalibration(const Args& args, const AnalysisOptions& options);
// `analyse --fit-acoustic WORLD_DIR... [--validate WORLD_DIR...] [--net-out FILE]` and `analyse --fit-mode
// WORLD_DIR... [--validate WORLD_DIR...] [--mode-out FILE]` (cmd_analyse_classifiers.cpp).
int runFitAcoustic(const Args& args);
int runFitMode(const Args& args);
// `analyse --fit-tempo WORLD_DIR... [--validate WORLD_DIR...] [--tempo-out FILE]` (the same file).
int runFitTempo(const Args& args);

} // namespace tmk::cli
