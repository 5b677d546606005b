#include "codec/codec_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <zlib.h>

#include "tastemaker/fileio.h"

namespace tmk {

namespace {

constexpr int kWidth = 640;
constexpr int kHeight = 360;
constexpr int kMargin = 20;
using Rgb = std::array<uint8_t, 3>;
const std::array<Rgb, 4> kColours
    = { Rgb { 31, 119, 180 }, Rgb { 255, 127, 14 }, Rgb { 44, 160, 44 }, Rgb { 214, 39, 40 } };

struct Canvas {
    std::vector<uint8_t> pixels = std::vector<uint8_t>(static_cast<size_t>(kWidth * kHeight * 3), 255);
    void set(int x, int y, const Rgb& c)
    {
        if (x < 0 || y < 0 || x >= kWidth || y >= kHeight) return;
        std::copy(c.begin(), c.end(), pixels.begin() + (static_cast<size_t>(y) * kWidth + x) * 3);
    }
    void line(double x0, double y0, double x1, double y1, const Rgb& c)
    {
        const int steps = static_cast<int>(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
        for (int i = 0; i <= steps; ++i) {
            const double t = static_cast<double>(i) / steps;
            set(static_cast<int>(std::lround(x0 + t * (x1 - x0))), static_cast<int>(std::lround(y0 + t * (y1 - y0))),
                c);
        }
    }
};

void appendU32(std::string& out, uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void appendChunk(std::string& out, const char* type, const std::string& data)
{
    appendU32(out, static_cast<uint32_t>(data.size()));
    const std::string body = std::string(type, 4) + data;
    out += body;
    appendU32(out,
        static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

Expected<std::string> encodePng(const Canvas& canvas)
{
    std::string raw;
    for (int y = 0; y < kHeight; ++y) {
        raw.push_back('\0'); // filter: none
        raw.append(
            reinterpret_cast<const char*>(canvas.pixels.data()) + static_cast<size_t>(y) * kWidth * 3, kWidth * 3);
    }
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::string packed(size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), 6)
        != Z_OK)
        return Error { ErrorCode::Internal, "zlib could not compress the plot" };
    packed.resize(size);
    std::string png = "\x89PNG\r\n\x1a\n";
    std::string header;
    appendU32(header, kWidth);
    appendU32(header, kHeight);
    header += std::string("\x08\x02\x00\x00\x00", 5); // 8-bit RGB, deflate, no filter, no interlace
    appendChunk(png, "IHDR", header);
    appendChunk(png, "IDAT", packed);
    appendChunk(png, "IEND", "");
    return png;
}

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
    Canvas canvas;
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
    Expected<std::string> png = encodePng(canvas);
    if (!png) return png.error();
    return writeFileAtomic(path, std::string_view(*png));
}

} // namespace tmk
