#include "core/png_image.h"

#include <algorithm>
#include <cmath>
#include <zlib.h>

#include "tastemaker/fileio.h"

namespace tmk {

namespace {

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

} // namespace

RgbImage::RgbImage(int width, int height, const Rgb& background)
    : m_width(std::max(1, width))
    , m_height(std::max(1, height))
{
    m_pixels.resize(static_cast<size_t>(m_width) * static_cast<size_t>(m_height) * 3);
    for (size_t i = 0; i < m_pixels.size(); i += 3) std::copy(background.begin(), background.end(), &m_pixels[i]);
}

Rgb RgbImage::pixel(int x, int y) const
{
    if (x < 0 || y < 0 || x >= m_width || y >= m_height) return { 0, 0, 0 };
    const size_t at = (static_cast<size_t>(y) * static_cast<size_t>(m_width) + static_cast<size_t>(x)) * 3;
    return { m_pixels[at], m_pixels[at + 1], m_pixels[at + 2] };
}

void RgbImage::set(int x, int y, const Rgb& colour)
{
    if (x < 0 || y < 0 || x >= m_width || y >= m_height) return;
    const size_t at = (static_cast<size_t>(y) * static_cast<size_t>(m_width) + static_cast<size_t>(x)) * 3;
    std::copy(colour.begin(), colour.end(), &m_pixels[at]);
}

void RgbImage::line(double x0, double y0, double x1, double y1, const Rgb& colour)
{
    if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
    const double span = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
    const int steps = static_cast<int>(std::min(span, 1e5)) + 1;
    for (int i = 0; i <= steps; ++i) {
        const double t = static_cast<double>(i) / steps;
        set(static_cast<int>(std::lround(x0 + t * (x1 - x0))), static_cast<int>(std::lround(y0 + t * (y1 - y0))),
            colour);
    }
}

void RgbImage::fillRect(int x0, int y0, int x1, int y1, const Rgb& colour)
{
    const int left = std::max(0, std::min(x0, x1)), right = std::min(m_width - 1, std::max(x0, x1));
    const int top = std::max(0, std::min(y0, y1)), bottom = std::min(m_height - 1, std::max(y0, y1));
    for (int y = top; y <= bottom; ++y)
        for (int x = left; x <= right; ++x) set(x, y, colour);
}

Expected<std::string> RgbImage::encodePng() const
{
    const size_t rowBytes = static_cast<size_t>(m_width) * 3;
    std::string raw;
    raw.reserve((rowBytes + 1) * static_cast<size_t>(m_height));
    for (int y = 0; y < m_height; ++y) {
        raw.push_back('\0'); // filter: none
        raw.append(reinterpret_cast<const char*>(m_pixels.data()) + static_cast<size_t>(y) * rowBytes, rowBytes);
    }
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::string packed(size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), 6)
        != Z_OK)
        return Error { ErrorCode::Internal, "zlib could not compress the image" };
    packed.resize(size);
    std::string png = "\x89PNG\r\n\x1a\n";
    std::string header;
    appendU32(header, static_cast<uint32_t>(m_width));
    appendU32(header, static_cast<uint32_t>(m_height));
    header += std::string("\x08\x02\x00\x00\x00", 5); // 8-bit RGB, deflate, no filter, no interlace
    appendChunk(png, "IHDR", header);
    appendChunk(png, "IDAT", packed);
    appendChunk(png, "IEND", "");
    return png;
}

Expected<void> writePng(const std::filesystem::path& path, const RgbImage& image)
{
    Expected<std::string> png = image.encodePng();
    if (!png) return png.error();
    return writeFileAtomic(path, std::string_view(*png));
}

} // namespace tmk
