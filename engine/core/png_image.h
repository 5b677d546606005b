// An RGB image drawn in memory and written as a PNG (8-bit RGB, zlib; no text). Torch-free: the steering report's
// plots draw on it (engine/eval/steering_plot.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

using Rgb = std::array<uint8_t, 3>;

class RgbImage {
public:
    RgbImage(int width, int height, const Rgb& background = { 255, 255, 255 });

    int width() const { return m_width; }
    int height() const { return m_height; }
    Rgb pixel(int x, int y) const;

    // Pixels outside the image are ignored by every drawing call.
    void set(int x, int y, const Rgb& colour);
    void line(double x0, double y0, double x1, double y1, const Rgb& colour);
    // Every pixel with x0 <= x <= x1 and y0 <= y <= y1 (the corners in either order).
    void fillRect(int x0, int y0, int x1, int y1, const Rgb& colour);

    // The PNG file's bytes.
    Expected<std::string> encodePng() const;

private:
    int m_width = 0, m_height = 0;
    std::vector<uint8_t> m_pixels; // [height, width, 3]
};

// Encodes `image` and writes it atomically.
Expected<void> writePng(const std::filesystem::path& path, const RgbImage& image);

} // namespace tmk
