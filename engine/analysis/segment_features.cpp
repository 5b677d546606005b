// Features of parts of a song rather than of the whole (descriptors.h, addSegmentFeatures):
// - 2 s windows, for speech, which the world and real songs alike lay over a few bars: the 90th percentile over
//   the windows of a window descriptor, and that percentile minus the median (the contrast with the song's
//   other bars), for the syllabic modulation share, the fricative share, the speech band's level spread and
//   the share of steady partials (speech glides);
// - the first 1.5 s and the last 2 s against the middle, for a crowd's applause: flatness, overall level and
//   the 0.9-2.5 kHz clap band's level relative to the frame;
// - the fastest falls of the bands over 48 ms (2nd and 10th percentiles), for room reverb: a dry note can stop
//   at once, a reverberant one only as fast as its tail decays.
#include <algorithm>
#include <array>
#include <cmath>

#include "descriptors.h"
#include "fft.h"
#include "stats.h"

namespace tmk::analysis {

namespace {

constexpr int kWindowFrames = 256; // 2.05 s at 125 frames a second
constexpr int kWindowHop = 128;
constexpr double kStartSeconds = 1.5;
constexpr double kEndSeconds = 2.0;
constexpr int kFallFrames = 6; // 48 ms

struct WindowDescriptors {
    std::vector<double> syllabic, fricative, speechDbStd, steady;
};

WindowDescriptors windowDescriptors(const FrameDescriptors& d)
{
    WindowDescriptors w;
    const Fft fft(kWindowFrames);
    const double silence = silenceFloorDb(d);
    std::vector<double> power(kWindowFrames / 2 + 1);
    for (int start = 0; start + kWindowFrames <= d.frames; start += kWindowHop) {
        int voiced = 0, fricatives = 0;
        std::vector<double> speechDb, steady;
        for (int t = start; t < start + kWindowFrames; ++t) {
            if (d.frameDb[t] < silence) continue;
            ++voiced;
            if (isFricative(d, t)) ++fricatives;
            speechDb.push_back(speechBandDb(d, t));
            steady.push_back(d.partialSteady[t]);
        }
        std::fill(power.begin(), power.end(), 0.0);
        addModulationPower(d, start, kWindowFrames, fft, power);
        w.syllabic.push_back(syllabicShare(power, d.frameRateHz / kWindowFrames));
        w.fricative.push_back(voiced > 0 ? static_cast<double>(fricatives) / voiced : 0.0);
        w.speechDbStd.push_back(stddev(speechDb));
        w.steady.push_back(mean(steady));
    }
    return w;
}

double clapBandLevel(const FrameDescriptors& d, int t)
{
    double sum = 0.0;
    int bands = 0;
    for (int b = 0; b < kMelBands; ++b) {
        if (d.bandCentreHz[b] < 900.0 || d.bandCentreHz[b] > 2500.0) continue;
        sum += d.logMelDb[t][b];
        ++bands;
    }
    return bands > 0 ? sum / bands - d.frameDb[t] : 0.0;
}

// Edges (the opening and closing seconds) minus the middle, for flatness, level and the clap band.
std::array<double, 3> edgeContrast(const FrameDescriptors& d)
{
    const int startFrames = static_cast<int>(kStartSeconds * d.frameRateHz);
    const int endFrames = static_cast<int>(kEndSeconds * d.frameRateHz);
    if (d.frames < 2 * (startFrames + endFrames)) return { 0.0, 0.0, 0.0 };
    std::array<std::vector<double>, 3> edge, middle;
    for (int t = 0; t < d.frames; ++t) {
        auto& into = t < startFrames || t >= d.frames - endFrames ? edge : middle;
        into[0].push_back(d.logFlatness[t]);
        into[1].push_back(d.frameDb[t]);
        into[2].push_back(clapBandLevel(d, t));
    }
    return { mean(edge[0]) - median(middle[0]), mean(edge[1]) - median(middle[1]), mean(edge[2]) - median(middle[2]) };
}

// The 2nd percentile of the 48 ms level change of the bands in [loHz, hiHz), over frames that start within
// 50 dB of the band's loudest; and the 10th percentile over all bands.
std::array<double, 4> fastestFalls(const FrameDescriptors& d)
{
    if (d.frames <= kFallFrames) return { 0.0, 0.0, 0.0, 0.0 };
    std::array<float, kMelBands> loudest;
    loudest.fill(-200.0f);
    for (int t = 0; t < d.frames; ++t)
        for (int b = 0; b < kMelBands; ++b) loudest[b] = std::max(loudest[b], d.logMelDb[t][b]);
    std::array<std::vector<double>, 3> groups;
    std::vector<double> all;
    for (int b = 0; b < kMelBands; ++b) {
        const int group = d.bandCentreHz[b] < 300.0 ? 0 : d.bandCentreHz[b] < 2000.0 ? 1 : 2;
        for (int t = 0; t + kFallFrames < d.frames; ++t) {
            if (d.logMelDb[t][b] < loudest[b] - 50.0f) continue;
            const double change = d.logMelDb[t + kFallFrames][b] - d.logMelDb[t][b];
            groups[group].push_back(change);
            all.push_back(change);
        }
    }
    return { percentile(groups[0], 0.02), percentile(groups[1], 0.02), percentile(groups[2], 0.02),
        percentile(all, 0.1) };
}

} // namespace

void addSegmentFeatures(const FrameDescriptors& d, AnalysisFeatures& f, int first)
{
    int i = first;
    f[i++] = mean(d.partialSteady);
    f[i++] = mean(d.partialDecay);
    const WindowDescriptors w = windowDescriptors(d);
    for (const std::vector<double>* series : { &w.syllabic, &w.fricative, &w.speechDbStd }) {
        const double high = percentile(*series, 0.9);
        f[i++] = high;
        f[i++] = high - median(*series);
    }
    const double lowSteady = percentile(w.steady, 0.1);
    f[i++] = lowSteady;
    f[i++] = median(w.steady) - lowSteady;
    for (double v : edgeContrast(d)) f[i++] = v;
    for (double v : fastestFalls(d)) f[i++] = v;
}

} // namespace tmk::analysis
