// A tiny PNG line plot for loss curves (no text: the numbers are in the CSV next to it).
#pragma once

#include <filesystem>
#include <utility>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

// Draws each series (x, y points) as a coloured polyline (blue, orange, green, ...) on a white 640 x 360
// canvas with grey axes; the y axis is logarithmic when every y is positive. Written atomically.
Expected<void> writeLossPlotPng(
    const std::filesystem::path& path, const std::vector<std::vector<std::pair<double, double>>>& series);

} // namespace tmk
