#include "codec/codec_plot.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/png_image.h"

namespace tmk {

namespace {

constexpr int kWidth = 640;
constexpr int kHeight = 360;
constexpr int kMargin = 20;
const std::array<Rgb, 4> kColours
    = { Rgb { 31, 119, 180 }, Rgb { 255, 127, 14 }, Rgb { 44, 160, 44 }, Rgb { 214, 39, 40 } };

} // namespace

Expected<void> writeLossPlotPng(
    const std::filesystem::path& path, const std::vector<std::vector<std::pair<double, double>>>& series)
{
    double xMin = INFINITY, xMax = -INFINITY, yMin = INFINITY, yMax = -INFINITY;
    for (const auto& s : series)
        for (const auto& [x, y] : s) {
            if (!std::isfinite(x) || !std::isfinite(y)) continue;
            xMin = std::min(xMin, x), xMax = std::max(xMax, x), yMin = std::min(yMin, y), yMax = std::max(yMax, y);
        }
    RgbImage canvas(kWidth, kHeight);
    const Rgb grey = { 160, 160, 160 };
    canvas.line(kMargin, kMargin, kMargin, kHeight - kMargin, grey);
    canvas.line(kMargin, kHeight - kMargin, kWidth - kMargin, kHeight - kMargin, grey);
    if (std::isfinite(xMin) && std::isfinite(yMin)) {
        const bool logY = yMin > 0;
        auto fy = [logY](double y) { return logY ? std::log(y) : y; };
        const double y0 = fy(yMin), y1 = fy(yMax) > fy(yMin) ? fy(yMax) : fy(yMin) + 1.0;
        const double x1 = xMax > xMin ? xMax : xMin + 1.0;
        auto px = [&](double x) { return kMargin + (x - xMin) / (x1 - xMin) * (kWidth - 2 * kMargin); };
        auto py = [&](double y) { return kHeight - kMargin - (fy(y) - y0) / (y1 - y0) * (kHeight - 2 * kMargin); };
        for (size_t i = 0; i < series.size(); ++i) {
            const Rgb& colour = kColours[i % kColours.size()];
            for (size_t j = 0; j < series[i].size(); ++j) {
                const auto& [x, y] = series[i][j];
                if (j == 0)
                    canvas.set(static_cast<int>(px(x)), static_cast<int>(py(y)), colour);
                else
                    canvas.line(px(series[i][j - 1].first), py(series[i][j - 1].second), px(x), py(y), colour);
            }
        }
    }
    return writePng(path, canvas);
}

} // namespace tmk
