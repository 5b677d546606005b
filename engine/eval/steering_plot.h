// The steering report's plots, drawn without text (the numbers are in report.json and the CSVs beside them).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <vector>

#include "tastemaker/error.h"
#include "tastemaker/steering_report.h"

namespace tmk::eval {

// Slider value on x against the mean of the measured metric on y (a blue line with a dot per value), over the light
// blue 95% band; a grey vertical line marks slider value 0. 640 x 360, linear axes fitted to the band.
Expected<void> writeCurvePng(const std::filesystem::path& path, const std::vector<SteeringCurvePoint>& points);

// One row of cells per slider, one column per measured metric: red for a positive standardised effect, blue for a
// negative one, white at 0, full colour at |effect| >= 2, grey where undefined; a black frame marks each row's
// on-target cell (`onTarget[row]`, when the row's metric is measured).
Expected<void> writeHeatmapPng(const std::filesystem::path& path,
    const std::vector<std::vector<std::optional<double>>>& effects, const std::vector<std::optional<size_t>>& onTarget);

} // namespace tmk::eval
