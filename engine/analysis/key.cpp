// Key and mode: a chroma vector from spectral peaks (4096-sample STFT frames; each peak between 55 Hz and
// 2 kHz is interpolated, mapped to its nearest semitone and weighted by its magnitude and its closeness
// to that semitone), each frame normalised, summed over the song, and correlated with the 24 rotations of
// the Krumhansl-Kessler and Temperley major and minor key profiles. A bass chroma (peaks below 250 Hz)
// adds weight to the candidate tonic, which separates a major key from its relative minor.
#include <algorithm>
#include <cmath>

#include "descriptors.h"
#include "fft.h"

namespace tmk::analysis {

namespace {

using Chroma = std::array<double, 12>;

constexpr Chroma kKrumhanslMajor = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
constexpr Chroma kKrumhanslMinor = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
constexpr Chroma kTemperleyMajor = {0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400};
constexpr Chroma kTemperleyMinor = {0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330};
constexpr double kBassWeight = 0.5;
constexpr int kChromaFrame = 4096;
constexpr int kChromaHop = 2048;

double correlation(const Chroma& chroma, const Chroma& profile, int tonic)
{
    double meanC = 0.0, meanP = 0.0;
    for (int i = 0; i < 12; ++i) {
        meanC += chroma[i] / 12.0;
        meanP += profile[i] / 12.0;
    }
    double cov = 0.0, varC = 0.0, varP = 0.0;
    for (int i = 0; i < 12; ++i) {
        const double c = chroma[(i + tonic) % 12] - meanC, p = profile[i] - meanP;
        cov += c * p;
        varC += c * c;
        varP += p * p;
    }
    return varC > 1e-12 ? cov / std::sqrt(varC * varP) : 0.0;
}

void addFramePeaks(const float* mag, const Spectrogram& spec, Chroma& chroma, Chroma& bass)
{
    const int lo = std::max(2, static_cast<int>(55.0 * spec.frameSize / spec.sampleRate));
    const int hi = std::min(spec.bins - 2, static_cast<int>(2000.0 * spec.frameSize / spec.sampleRate));
    float frameMax = 0.0f;
    for (int k = lo; k <= hi; ++k) frameMax = std::max(frameMax, mag[k]);
    if (frameMax <= 1e-6f) return;
    struct Peak {
        double hz, weight;
    };
    std::vector<Peak> peaks;
    for (int k = lo; k <= hi; ++k) {
        if (mag[k] <= mag[k - 1] || mag[k] < mag[k + 1] || mag[k] < 0.02f * frameMax) continue;
        const double a = std::log(mag[k - 1] + 1e-9), b = std::log(mag[k] + 1e-9), c = std::log(mag[k + 1] + 1e-9);
        const double denominator = a - 2.0 * b + c;
        const double offset = std::abs(denominator) > 1e-12 ? std::clamp(0.5 * (a - c) / denominator, -0.5, 0.5) : 0.0;
        peaks.push_back(Peak{spec.binHz(k) + offset * spec.sampleRate / spec.frameSize, mag[k]});
    }
    // Partials 3, 5, 6 and 7 of a lower peak name another pitch class (a fifth, a major third, ...): damp them.
    for (size_t i = 0; i < peaks.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            const double ratio = peaks[i].hz / peaks[j].hz;
            const double h = std::round(ratio);
            if ((h == 3 || h == 5 || h == 6 || h == 7) && std::abs(ratio - h) < 0.02 * h
                && peaks[j].weight > 0.1 * peaks[i].weight) {
                peaks[i].weight *= 0.25;
                break;
            }
        }
    }
    Chroma frame{}, frameBass{};
    for (const Peak& p : peaks) {
        const double pitch = 69.0 + 12.0 * std::log2(p.hz / 440.0);
        const double nearest = std::round(pitch);
        const double deviation = (pitch - nearest) / 0.3;
        const double weight = p.weight * std::exp(-0.5 * deviation * deviation);
        const int pc = ((static_cast<int>(nearest) % 12) + 12) % 12;
        frame[pc] += weight;
        if (p.hz < 250.0) frameBass[pc] += weight;
    }
    double sum = 0.0, bassSum = 0.0;
    for (int i = 0; i < 12; ++i) {
        sum += frame[i];
        bassSum += frameBass[i];
    }
    for (int i = 0; i < 12; ++i) {
        if (sum > 0.0) chroma[i] += frame[i] / sum;
        if (bassSum > 0.0) bass[i] += frameBass[i] / bassSum;
    }
}

}  // namespace

KeyEstimate estimateKey(std::span<const float> signal, int sampleRate)
{
    KeyEstimate key;
    const Spectrogram spec = computeSpectrogram(signal, sampleRate, kChromaFrame, kChromaHop);
    Chroma chroma{}, bass{};
    for (int t = 0; t < spec.frames; ++t) addFramePeaks(spec.frame(t), spec, chroma, bass);
    double sum = 0.0, bassSum = 0.0, peak = 0.0;
    for (int i = 0; i < 12; ++i) {
        sum += chroma[i];
        bassSum += bass[i];
        peak = std::max(peak, chroma[i]);
    }
    if (sum <= 0.0) return key;
    key.tonalness = peak / (sum / 12.0);
    double bestMajor = -1e9, bestMinor = -1e9;
    int tonicMajor = 0, tonicMinor = 0;
    for (int tonic = 0; tonic < 12; ++tonic) {
        const double bassTerm = bassSum > 0.0 ? kBassWeight * bass[tonic] / bassSum : 0.0;
        const double major = 0.5 * (correlation(chroma, kKrumhanslMajor, tonic) + correlation(chroma, kTemperleyMajor, tonic))
            + bassTerm;
        const double minor = 0.5 * (correlation(chroma, kKrumhanslMinor, tonic) + correlation(chroma, kTemperleyMinor, tonic))
            + bassTerm;
        if (major > bestMajor) {
            bestMajor = major;
            tonicMajor = tonic;
        }
        if (minor > bestMinor) {
            bestMinor = minor;
            tonicMinor = tonic;
        }
    }
    key.modeMargin = bestMajor - bestMinor;
    key.mode = key.modeMargin >= 0.0 ? 1 : 0;
    key.tonic = key.mode == 1 ? tonicMajor : tonicMinor;
    return key;
}

}  // namespace tmk::analysis
