// Frame-level descriptors from one magnitude STFT.
#include <algorithm>
#include <cmath>
#include <tuple>

#include "descriptors.h"
#include "fft.h"

namespace tmk::analysis {

namespace {

double hzToMel(double hz)
{
    return 2595.0 * std::log10(1.0 + hz / 700.0);
}
double melToHz(double mel)
{
    return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
}

// Triangular mel filters from 40 Hz to the Nyquist frequency: for each band, (first bin, weights).
struct MelFilter {
    int firstBin = 0;
    std::vector<float> weights;
    double centreHz = 0.0;
};

std::vector<MelFilter> melFilters(int bins, int sampleRate, int frameSize)
{
    const double lowMel = hzToMel(40.0);
    const double highMel = hzToMel(sampleRate / 2.0);
    std::vector<double> edgesHz(kMelBands + 2);
    for (int i = 0; i < kMelBands + 2; ++i) edgesHz[i] = melToHz(lowMel + (highMel - lowMel) * i / (kMelBands + 1));
    std::vector<MelFilter> filters(kMelBands);
    const double binHz = static_cast<double>(sampleRate) / frameSize;
    for (int b = 0; b < kMelBands; ++b) {
        const double left = edgesHz[b], centre = edgesHz[b + 1], right = edgesHz[b + 2];
        MelFilter& filter = filters[b];
        filter.centreHz = centre;
        filter.firstBin = std::max(0, static_cast<int>(std::floor(left / binHz)));
        const int lastBin = std::min(bins - 1, static_cast<int>(std::ceil(right / binHz)));
        for (int k = filter.firstBin; k <= lastBin; ++k) {
            const double hz = k * binHz;
            double w = hz <= centre ? (hz - left) / (centre - left) : (right - hz) / (right - centre);
            filter.weights.push_back(static_cast<float>(std::max(0.0, w)));
        }
        // Narrow low bands may fall between bins: give them their nearest bin.
        double sum = 0.0;
        for (float w : filter.weights) sum += w;
        if (sum <= 0.0) {
            filter.firstBin = std::min(bins - 1, static_cast<int>(std::lround(centre / binHz)));
            filter.weights = { 1.0f };
        }
    }
    return filters;
}

struct BandShares {
    double totalPower = 0.0, high = 0.0, low = 0.0, speech = 0.0, centroidHz = 0.0, logFlatness = 0.0;
};

BandShares bandShares(const float* magnitude, int bins, double binHz)
{
    BandShares s;
    double weighted = 0.0, logSum = 0.0;
    for (int k = 1; k < bins; ++k) {
        const double power = static_cast<double>(magnitude[k]) * magnitude[k];
        const double hz = k * binHz;
        s.totalPower += power;
        weighted += power * hz;
        logSum += std::log(power + 1e-12);
        if (hz >= 4000.0) s.high += power;
        if (hz < 150.0) s.low += power;
        if (hz >= 300.0 && hz <= 3400.0) s.speech += power;
    }
    const int n = bins - 1;
    const double mean = s.totalPower / n + 1e-12;
    s.logFlatness = (logSum / n - std::log(mean)) / std::log(10.0);
    if (s.totalPower > 1e-12) {
        s.centroidHz = weighted / s.totalPower;
        s.high /= s.totalPower;
        s.low /= s.totalPower;
        s.speech /= s.totalPower;
    } else {
        s.high = s.low = s.speech = 0.0;
    }
    return s;
}

constexpr int kPartialLagFrames = 4; // 32 ms at the 8 ms hop

bool isPeak(const float* mag, int k)
{
    return mag[k] > mag[k - 1] && mag[k] >= mag[k + 1];
}

// The magnitude-weighted shares of this frame's continued peaks that held their level, and that fell
// (FrameDescriptors::partialSteady, partialDecay).
std::pair<double, double> partialStability(const float* now, const float* before, int lo, int hi)
{
    float frameMax = 0.0f;
    for (int k = lo; k <= hi; ++k) frameMax = std::max(frameMax, now[k]);
    if (frameMax <= 1e-6f) return { 0.0, 0.0 };
    const float floor = 0.01f * frameMax; // -40 dB
    double steady = 0.0, decay = 0.0, total = 0.0;
    for (int k = lo; k <= hi; ++k) {
        if (now[k] < floor || !isPeak(now, k)) continue;
        int previous = -1;
        for (int j = k - 1; j <= k + 1; ++j)
            if (isPeak(before, j) && (previous < 0 || before[j] > before[previous])) previous = j;
        if (previous < 0) continue;
        const double change = 20.0 * std::log10((now[k] + 1e-9) / (before[previous] + 1e-9));
        total += now[k];
        if (std::abs(change) < 1.0)
            steady += now[k];
        else if (change <= -1.0 && change > -15.0)
            decay += now[k];
    }
    return total > 0.0 ? std::pair { steady / total, decay / total } : std::pair { 0.0, 0.0 };
}

} // namespace

FrameDescriptors computeFrameDescriptors(std::span<const float> signal, int sampleRate)
{
    const Spectrogram spec = computeSpectrogram(signal, sampleRate, kFrameSize, kHop);
    const std::vector<MelFilter> filters = melFilters(spec.bins, sampleRate, kFrameSize);
    FrameDescriptors d;
    d.frames = spec.frames;
    d.frameRateHz = static_cast<double>(sampleRate) / kHop;
    for (int b = 0; b < kMelBands; ++b) d.bandCentreHz[b] = filters[b].centreHz;
    d.logMelDb.resize(d.frames);
    for (auto* v : { &d.frameDb, &d.onset, &d.lowOnset, &d.centroidHz, &d.logFlatness, &d.highShare, &d.lowShare,
             &d.speechBand, &d.speechShare, &d.partialSteady, &d.partialDecay })
        v->assign(d.frames, 0.0);
    // A full-scale sine's peak bin is about frameSize / 4 with a Hann window: scale so it reads about 0 dB.
    const double norm = 1.0 / (kFrameSize / 4.0);
    const double binHz = static_cast<double>(sampleRate) / kFrameSize;
    const int partialLo = std::max(2, static_cast<int>(200.0 / binHz));
    const int partialHi = std::min(spec.bins - 3, static_cast<int>(4000.0 / binHz));
    for (int t = 0; t < d.frames; ++t) {
        const float* mag = spec.frame(t);
        for (int b = 0; b < kMelBands; ++b) {
            const MelFilter& f = filters[b];
            double power = 0.0;
            for (size_t i = 0; i < f.weights.size(); ++i) {
                const double m = mag[f.firstBin + i] * norm;
                power += f.weights[i] * m * m;
            }
            d.logMelDb[t][b] = static_cast<float>(10.0 * std::log10(power + 1e-10));
        }
        const BandShares s = bandShares(mag, spec.bins, binHz);
        d.frameDb[t] = 10.0 * std::log10(s.totalPower * norm * norm + 1e-10);
        d.centroidHz[t] = s.centroidHz;
        d.logFlatness[t] = s.logFlatness;
        d.highShare[t] = s.high;
        d.lowShare[t] = s.low;
        d.speechShare[t] = s.speech;
        d.speechBand[t] = std::sqrt(s.speech * s.totalPower) * norm;
        if (t >= kPartialLagFrames)
            std::tie(d.partialSteady[t], d.partialDecay[t])
                = partialStability(mag, spec.frame(t - kPartialLagFrames), partialLo, partialHi);
        if (t == 0) continue;
        double flux = 0.0, lowFlux = 0.0;
        int lowBands = 0;
        for (int b = 0; b < kMelBands; ++b) {
            // Differences below a -70 dB floor are noise, not onsets.
            const double now = std::max(d.logMelDb[t][b], -70.0f), before = std::max(d.logMelDb[t - 1][b], -70.0f);
            const double rise = std::max(0.0, now - before);
            flux += rise;
            if (filters[b].centreHz < 200.0) {
                lowFlux += rise;
                ++lowBands;
            }
        }
        d.onset[t] = flux / kMelBands;
        d.lowOnset[t] = lowBands > 0 ? lowFlux / lowBands : 0.0;
    }
    return d;
}

} // namespace tmk::analysis
