#include "eval/steering_plot.h"

#include <algorithm>
#include <cmath>

#include "core/png_image.h"

namespace tmk::eval {

namespace {

const Rgb kGrey = { 160, 160, 160 };
const Rgb kLightGrey = { 220, 220, 220 };
const Rgb kBlue = { 31, 119, 180 };
const Rgb kBand = { 198, 219, 239 };
const Rgb kRed = { 214, 39, 40 };
const Rgb kBlack = { 0, 0, 0 };

Rgb blend(const Rgb& from, const Rgb& to, double t)
{
    Rgb out;
    for (size_t i = 0; i < 3; ++i)
        out[i] = static_cast<uint8_t>(std::lround(from[i] + std::clamp(t, 0.0, 1.0) * (to[i] - from[i])));
    return out;
}

// Maps data coordinates onto the plot area of an image, inside a margin.
struct Axes {
    double xMin, xMax, yMin, yMax;
    int width, height, margin;
    double px(double x) const { return margin + (x - xMin) / (xMax - xMin) * (width - 2 * margin); }
    double py(double y) const { return height - margin - (y - yMin) / (yMax - yMin) * (height - 2 * margin); }
};

Axes fitAxes(const std::vector<SteeringCurvePoint>& points, int width, int height)
{
    Axes axes { points.front().value, points.back().value, INFINITY, -INFINITY, width, height, 30 };
    for (const SteeringCurvePoint& p : points) {
        axes.yMin = std::min({ axes.yMin, p.mean, p.low.value_or(p.mean) });
        axes.yMax = std::max({ axes.yMax, p.mean, p.high.value_or(p.mean) });
    }
    if (!(axes.xMax > axes.xMin)) axes.xMin -= 1.0, axes.xMax += 1.0;
    const double xPad = 0.04 * (axes.xMax - axes.xMin);
    axes.xMin -= xPad;
    axes.xMax += xPad;
    const double pad
        = axes.yMax > axes.yMin ? 0.05 * (axes.yMax - axes.yMin) : std::max(0.5, 0.05 * std::abs(axes.yMax));
    axes.yMin -= pad;
    axes.yMax += pad;
    return axes;
}

// The band between consecutive points, one vertical run of pixels per column.
void drawBand(RgbImage& image, const Axes& axes, const SteeringCurvePoint& a, const SteeringCurvePoint& b)
{
    const int x0 = static_cast<int>(std::lround(axes.px(a.value))),
              x1 = static_cast<int>(std::lround(axes.px(b.value)));
    for (int x = x0; x <= x1; ++x) {
        const double t = x1 > x0 ? static_cast<double>(x - x0) / (x1 - x0) : 0.0;
        const double low = a.low.value_or(a.mean) + t * (b.low.value_or(b.mean) - a.low.value_or(a.mean));
        const double high = a.high.value_or(a.mean) + t * (b.high.value_or(b.mean) - a.high.value_or(a.mean));
        image.fillRect(
            x, static_cast<int>(std::lround(axes.py(high))), x, static_cast<int>(std::lround(axes.py(low))), kBand);
    }
}

} // namespace

Expected<void> writeCurvePng(const std::filesystem::path& path, const std::vector<SteeringCurvePoint>& points)
{
    RgbImage image(640, 360);
    const int margin = 30;
    image.line(margin, margin, margin, image.height() - margin, kGrey);
    image.line(margin, image.height() - margin, image.width() - margin, image.height() - margin, kGrey);
    if (!points.empty()) {
        const Axes axes = fitAxes(points, image.width(), image.height());
        if (axes.xMin < 0.0 && axes.xMax > 0.0)
            image.line(axes.px(0.0), margin, axes.px(0.0), image.height() - margin - 1, kLightGrey);
        for (size_t i = 0; i + 1 < points.size(); ++i) drawBand(image, axes, points[i], points[i + 1]);
        for (size_t i = 0; i + 1 < points.size(); ++i)
            image.line(axes.px(points[i].value), axes.py(points[i].mean), axes.px(points[i + 1].value),
                axes.py(points[i + 1].mean), kBlue);
        for (const SteeringCurvePoint& p : points) {
            const int x = static_cast<int>(std::lround(axes.px(p.value))),
                      y = static_cast<int>(std::lround(axes.py(p.mean)));
            image.fillRect(x - 2, y - 2, x + 2, y + 2, kBlue);
        }
    }
    return writePng(path, image);
}

Expected<void> writeHeatmapPng(const std::filesystem::path& path,
    const std::vector<std::vector<std::optional<double>>>& effects, const std::vector<std::optional<size_t>>& onTarget)
{
    const int cellWidth = 48, cellHeight = 32, margin = 10;
    const size_t columns = effects.empty() ? 0 : effects.front().size();
    RgbImage image(2 * margin + cellWidth * static_cast<int>(std::max<size_t>(columns, 1)),
        2 * margin + cellHeight * static_cast<int>(std::max<size_t>(effects.size(), 1)));
    for (size_t r = 0; r < effects.size(); ++r) {
        const int top = margin + cellHeight * static_cast<int>(r);
        for (size_t c = 0; c < effects[r].size() && c < columns; ++c) {
            const int left = margin + cellWidth * static_cast<int>(c);
            const std::optional<double>& effect = effects[r][c];
            const Rgb white = { 255, 255, 255 };
            const Rgb colour
                = !effect ? kLightGrey : blend(white, *effect >= 0 ? kRed : kBlue, std::abs(*effect) / 2.0);
            image.fillRect(left + 1, top + 1, left + cellWidth - 2, top + cellHeight - 2, colour);
            if (r < onTarget.size() && onTarget[r] == c) {
                image.line(left, top, left + cellWidth - 1, top, kBlack);
                image.line(left, top + cellHeight - 1, left + cellWidth - 1, top + cellHeight - 1, kBlack);
                image.line(left, top, left, top + cellHeight - 1, kBlack);
                image.line(left + cellWidth - 1, top, left + cellWidth - 1, top + cellHeight - 1, kBlack);
            }
        }
    }
    return writePng(path, image);
}

} // namespace tmk::eval
