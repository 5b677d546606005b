#include "signals.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <numbers>
#include <random>

namespace tmk::test {

namespace {

void addBurst(std::vector<float>& out, size_t at, double hz, double decaySeconds, double amplitude, int sampleRate,
    std::mt19937* noise)
{
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    const size_t length = static_cast<size_t>(5.0 * decaySeconds * sampleRate);
    for (size_t i = 0; i < length && at + i < out.size(); ++i) {
        const double t = static_cast<double>(i) / sampleRate;
        const double source = noise != nullptr ? uniform(*noise) : std::sin(2.0 * std::numbers::pi * hz * t);
        out[at + i] += static_cast<float>(amplitude * std::exp(-t / decaySeconds) * source);
    }
}

// A groove on the eighth notes of `bpm`: `hits(out, step, seconds, sample, noise)` adds each step's sounds,
// then every step gets a closed hi-hat (a 10 ms noise burst).
template <typename Hits>
std::vector<float> eighthNoteGroove(double bpm, double seconds, int sampleRate, unsigned seed, const Hits& hits)
{
    std::vector<float> out(static_cast<size_t>(seconds * sampleRate), 0.0f);
    std::mt19937 noise(seed);
    const double eighth = 30.0 / bpm;
    int step = 0;
    for (double t = 0.0; t < seconds; t += eighth, ++step) {
        const size_t at = static_cast<size_t>(t * sampleRate);
        hits(out, step, t, at, noise);
        addBurst(out, at, 0.0, 0.01, 0.08, sampleRate, &noise);
    }
    return out;
}

} // namespace

std::vector<float> clickTrack(double bpm, double seconds, int sampleRate)
{
    std::vector<float> out(static_cast<size_t>(seconds * sampleRate), 0.0f);
    const double period = 60.0 / bpm;
    for (double t = 0.0; t < seconds; t += period)
        addBurst(out, static_cast<size_t>(t * sampleRate), 1000.0, 0.01, 0.5, sampleRate, nullptr);
    return out;
}

std::vector<float> drumPattern(double bpm, double seconds, int sampleRate)
{
    return eighthNoteGroove(
        bpm, seconds, sampleRate, 7, [&](std::vector<float>& out, int step, double, size_t at, std::mt19937& noise) {
            if (step % 8 == 0 || step % 8 == 4) addBurst(out, at, 60.0, 0.08, 0.6, sampleRate, nullptr);
            if (step % 8 == 2 || step % 8 == 6) addBurst(out, at, 0.0, 0.05, 0.3, sampleRate, &noise);
        });
}

std::vector<float> oneDrop(double bpm, double seconds, int sampleRate)
{
    return eighthNoteGroove(
        bpm, seconds, sampleRate, 11, [&](std::vector<float>& out, int step, double t, size_t at, std::mt19937& noise) {
            if (step % 8 == 4) {
                addBurst(out, at, 60.0, 0.1, 0.6, sampleRate, nullptr);
                addBurst(out, at, 0.0, 0.06, 0.3, sampleRate, &noise);
            }
            if (step % 2 == 1)
                for (int note : { 62, 65, 69 }) addTone(out, note, t, 0.12, 0.08, sampleRate);
        });
}

void addTone(std::vector<float>& out, int midi, double startSeconds, double seconds, double amplitude, int sampleRate)
{
    const double hz = 440.0 * std::pow(2.0, (midi - 69) / 12.0);
    const size_t start = static_cast<size_t>(startSeconds * sampleRate);
    const size_t length = static_cast<size_t>(seconds * sampleRate);
    const double fade = 0.02 * sampleRate;
    for (size_t i = 0; i < length && start + i < out.size(); ++i) {
        const double t = static_cast<double>(i) / sampleRate;
        const double envelope
            = std::min({ 1.0, static_cast<double>(i) / fade, static_cast<double>(length - i) / fade });
        double value = 0.0;
        for (int h = 1; h <= 6 && h * hz < sampleRate / 2.0; ++h)
            value += std::sin(2.0 * std::numbers::pi * h * hz * t) / h;
        out[start + i] += static_cast<float>(amplitude * envelope * value);
    }
}

std::vector<float> progression(const std::vector<std::vector<int>>& chords, double chordSeconds, int sampleRate)
{
    std::vector<float> out(static_cast<size_t>(chords.size() * chordSeconds * sampleRate), 0.0f);
    for (size_t c = 0; c < chords.size(); ++c) {
        const double start = c * chordSeconds;
        for (int note : chords[c]) addTone(out, note, start, chordSeconds, 0.1, sampleRate);
        addTone(out, chords[c][0] - 12, start, chordSeconds, 0.12, sampleRate);
    }
    return out;
}

std::vector<float> cadence(int tonic, bool major, int sampleRate)
{
    const int third = major ? 4 : 3;
    const std::vector<int> one = { tonic, tonic + third, tonic + 7 };
    const std::vector<int> four = { tonic + 5, tonic + 5 + third, tonic + 12 };
    const std::vector<int> five = { tonic + 7, tonic + 7 + third, tonic + 14 };
    return progression({ one, four, five, one, one, four, five, one }, 1.0, sampleRate);
}

std::vector<float> sine(double hz, double amplitude, double seconds, int sampleRate)
{
    std::vector<float> out(static_cast<size_t>(seconds * sampleRate));
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<float>(amplitude * std::sin(2.0 * std::numbers::pi * hz * i / sampleRate));
    return out;
}

void writeWav(const std::filesystem::path& path, const std::vector<float>& samples, int channels, int sampleRate)
{
    std::ofstream file(path, std::ios::binary);
    auto u32 = [&](uint32_t v) { file.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](uint16_t v) { file.write(reinterpret_cast<const char*>(&v), 2); };
    const uint32_t bytes = static_cast<uint32_t>(samples.size() * sizeof(float));
    file.write("RIFF", 4);
    u32(36 + bytes);
    file.write("WAVEfmt ", 8);
    u32(16);
    u16(3); // IEEE float
    u16(static_cast<uint16_t>(channels));
    u32(static_cast<uint32_t>(sampleRate));
    u32(static_cast<uint32_t>(sampleRate * channels * 4));
    u16(static_cast<uint16_t>(channels * 4));
    u16(32);
    file.write("data", 4);
    u32(bytes);
    file.write(reinterpret_cast<const char*>(samples.data()), bytes);
}

} // namespace tmk::test
