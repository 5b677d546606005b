// Key and mode: a chroma vector from tuning-corrected spectral peaks (4096-sample STFT frames), each frame
// normalised and summed over the song (and apart for the bass and the opening seconds). Each of the 24 keys is
// scored by the chroma in its scale (major or natural minor), on its tonic, fifth and third, the bass on its
// tonic and the opening seconds' bass and chroma on it; the best key wins. docs/analysis.md.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "descriptors.h"
#include "fft.h"

namespace tmk::analysis {

namespace {

using Chroma = std::array<double, 12>;

constexpr Chroma kKrumhanslMajor = { 6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88 };
constexpr Chroma kKrumhanslMinor = { 6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17 };
constexpr Chroma kTemperleyMajor
    = { 0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400 };
constexpr Chroma kTemperleyMinor
    = { 0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330 };
// The weights of a key's score (chosen on the development worlds, docs/world.md "Mode"): the chroma in its
// scale decides the diatonic set, the rest the tonic within it. A relative major and minor share their scale,
// and a minor seventh chord holds the relative major triad, so the tonic evidence settles the mode.
constexpr double kScaleWeight = 10.0; // the chroma in the key's scale
constexpr double kTonicWeight = 3.0; // the chroma on the tonic
constexpr double kFifthWeight = 1.0; // on the tonic's fifth
constexpr double kThirdWeight = 0.5; // on the tonic's major or minor third
constexpr double kBassWeight = 0.5; // the bass chroma on the tonic
constexpr double kStartBassWeight = 1.0; // the first seconds' bass on the tonic
constexpr double kStartChromaWeight = 0.5; // the first seconds' chroma on the tonic
constexpr double kBassHz = 180.0; // peaks below this are bass
constexpr double kStartSeconds = 1.5; // within the first bar (4/4) up to 160 BPM
constexpr double kSemitoneSpread = 0.15; // a peak's weight falls off as a Gaussian of its distance to a semitone
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

struct Peak {
    double hz, weight;
};

// The spectral peaks of one frame between 55 Hz and 2 kHz, interpolated; partials 3, 5, 6 and 7 of a lower
// peak (which name another pitch class: a fifth, a major third, ...) are damped.
std::vector<Peak> framePeaks(const float* mag, const Spectrogram& spec)
{
    const int lo = std::max(2, static_cast<int>(55.0 * spec.frameSize / spec.sampleRate));
    const int hi = std::min(spec.bins - 2, static_cast<int>(2000.0 * spec.frameSize / spec.sampleRate));
    float frameMax = 0.0f;
    for (int k = lo; k <= hi; ++k) frameMax = std::max(frameMax, mag[k]);
    std::vector<Peak> peaks;
    if (frameMax <= 1e-6f) return peaks;
    for (int k = lo; k <= hi; ++k) {
        if (mag[k] <= mag[k - 1] || mag[k] < mag[k + 1] || mag[k] < 0.02f * frameMax) continue;
        const double a = std::log(mag[k - 1] + 1e-9), b = std::log(mag[k] + 1e-9), c = std::log(mag[k + 1] + 1e-9);
        const double denominator = a - 2.0 * b + c;
        const double offset = std::abs(denominator) > 1e-12 ? std::clamp(0.5 * (a - c) / denominator, -0.5, 0.5) : 0.0;
        peaks.push_back(Peak { spec.binHz(k) + offset * spec.sampleRate / spec.frameSize, mag[k] });
    }
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
    return peaks;
}

double midiPitch(double hz)
{
    return 69.0 + 12.0 * std::log2(hz / 440.0);
}

// The tuning offset in semitones (-0.5..0.5): the most common deviation of the peaks from the equal-tempered
// grid on A = 440 Hz (a weighted histogram of 5-cent bins, smoothed), so that one detuned part does not move it.
double tuningOffset(const std::vector<std::vector<Peak>>& frames)
{
    constexpr int kBins = 20;
    std::array<double, kBins> histogram {};
    for (const std::vector<Peak>& peaks : frames) {
        for (const Peak& p : peaks) {
            const double pitch = midiPitch(p.hz);
            const double deviation = pitch - std::round(pitch); // -0.5..0.5
            histogram[static_cast<size_t>(std::clamp(static_cast<int>((deviation + 0.5) * kBins), 0, kBins - 1))]
                += p.weight;
        }
    }
    int best = kBins / 2;
    double bestSum = -1.0;
    for (int b = 0; b < kBins; ++b) {
        const double sum = histogram[(b + kBins - 1) % kBins] + histogram[b] + histogram[(b + 1) % kBins];
        if (sum > bestSum) {
            bestSum = sum;
            best = b;
        }
    }
    return (best + 0.5) / kBins - 0.5;
}

// Adds one frame's normalised chroma and bass chroma.
void addFrame(const std::vector<Peak>& peaks, double tuning, Chroma& chroma, Chroma& bass)
{
    Chroma frame {}, frameBass {};
    for (const Peak& p : peaks) {
        const double pitch = midiPitch(p.hz) - tuning;
        const double nearest = std::round(pitch);
        const double deviation = (pitch - nearest) / kSemitoneSpread;
        const double weight = p.weight * std::exp(-0.5 * deviation * deviation);
        const int pc = ((static_cast<int>(nearest) % 12) + 12) % 12;
        frame[pc] += weight;
        if (p.hz < kBassHz) frameBass[pc] += weight;
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

void normalise(Chroma& c)
{
    double sum = 0.0;
    for (double v : c) sum += v;
    if (sum > 0.0)
        for (double& v : c) v /= sum;
}

} // namespace

KeyEstimate estimateKey(std::span<const float> signal, int sampleRate)
{
    KeyEstimate key;
    const Spectrogram spec = computeSpectrogram(signal, sampleRate, kChromaFrame, kChromaHop);
    std::vector<std::vector<Peak>> peaks(spec.frames);
    for (int t = 0; t < spec.frames; ++t) peaks[t] = framePeaks(spec.frame(t), spec);
    const double tuning = tuningOffset(peaks);
    // Songs mostly open on their tonic: the first seconds are also kept apart.
    const int startFrames = static_cast<int>(kStartSeconds * sampleRate / kChromaHop);
    Chroma chroma {}, bass {}, startChroma {}, startBass {};
    for (int t = 0; t < spec.frames; ++t) {
        addFrame(peaks[t], tuning, chroma, bass);
        if (t < startFrames) addFrame(peaks[t], tuning, startChroma, startBass);
    }
    double sum = 0.0, peak = 0.0;
    for (int i = 0; i < 12; ++i) {
        sum += chroma[i];
        peak = std::max(peak, chroma[i]);
    }
    if (sum <= 0.0) return key;
    key.tonalness = peak / (sum / 12.0);
    for (Chroma* c : { &chroma, &bass, &startChroma, &startBass }) normalise(*c);
    auto at = [](const Chroma& c, int pc) { return c[((pc % 12) + 12) % 12]; };
    static constexpr int kMajorScale[7] = { 0, 2, 4, 5, 7, 9, 11 };
    static constexpr int kMinorScale[7] = { 0, 2, 3, 5, 7, 8, 10 };
    auto score = [&](int tonic, int mode) {
        double inScale = 0.0;
        for (int step : mode == 1 ? kMajorScale : kMinorScale) inScale += at(chroma, tonic + step);
        return kScaleWeight * inScale + kTonicWeight * at(chroma, tonic) + kFifthWeight * at(chroma, tonic + 7)
            + kThirdWeight * at(chroma, tonic + (mode == 1 ? 4 : 3)) + kBassWeight * at(bass, tonic)
            + kStartBassWeight * at(startBass, tonic) + kStartChromaWeight * at(startChroma, tonic);
    };
    std::array<int, 2> bestTonic { 0, 0 }; // per mode: minor, major
    std::array<double, 2> bestScore { -1e9, -1e9 };
    for (int mode : { 0, 1 })
        for (int tonic = 0; tonic < 12; ++tonic)
            if (const double v = score(tonic, mode); v > bestScore[mode]) {
                bestScore[mode] = v;
                bestTonic[mode] = tonic;
            }
    const int majorTonic = bestTonic[1], minorTonic = bestTonic[0];
    key.majorTonic = majorTonic;
    key.minorTonic = minorTonic;
    for (int i = 0; i < 12; ++i) {
        key.profile[i] = chroma[i];
        key.profile[12 + i] = bass[i];
        key.profile[24 + i] = startChroma[i];
        key.profile[36 + i] = startBass[i];
    }
    auto evidence = [&](int tonic, const Chroma& kk, const Chroma& temperley) {
        return std::array<double, 8> { at(chroma, tonic), at(chroma, tonic + 7), at(bass, tonic), at(bass, tonic + 7),
            at(startBass, tonic), at(startChroma, tonic), correlation(chroma, kk, tonic),
            correlation(chroma, temperley, tonic) };
    };
    const std::array<double, 8> forMajor = evidence(majorTonic, kKrumhanslMajor, kTemperleyMajor);
    const std::array<double, 8> forMinor = evidence(minorTonic, kKrumhanslMinor, kTemperleyMinor);
    for (size_t i = 0; i < forMajor.size(); ++i) key.modeEvidence[i] = forMajor[i] - forMinor[i];
    const double major = bestScore[1], minor = bestScore[0];
    key.modeMargin = major - minor;
    key.mode = key.modeMargin >= 0.0 ? 1 : 0;
    key.tonic = key.mode == 1 ? majorTonic : minorTonic;
    return key;
}

} // namespace tmk::analysis
