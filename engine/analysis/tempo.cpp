// Tempo: autocorrelation of the onset envelope (spectral flux), an octave check that weighs each candidate
// beat period by the evidence at 2 beats and at the bar (4 beats), against 3 beats and 4/3 of the period, and
// by a broad prior around 120 BPM, a half-time check, and a refinement that fits the period to the peaks at
// 1..4 beats.
#include <algorithm>
#include <cmath>

#include "descriptors.h"

namespace tmk::analysis {

namespace {

constexpr double kMinBpm = 50.0;
constexpr double kMaxBpm = 200.0;
constexpr double kPriorCentreBpm = 120.0;
constexpr double kPriorOctaves = 1.0;
constexpr double kLowBandWeight = 0.5;
// The weights of the autocorrelation at 2, 4 (a bar of 4/4), 3 and 4/3 beats in a candidate's score: a beat
// is confirmed at 2 beats and at the bar; a period of 3 beats or a 4/3 relation means a syncopated
// sub-pattern (a dotted rhythm) rather than the beat.
constexpr double kW2 = 1.0;
constexpr double kW4 = 1.0;
constexpr double kW3 = -0.5;
constexpr double kW43 = -1.0;
constexpr int kPhaseBins = 24;
// The half-time check (a one-drop or half-time groove read at twice its tempo): a fast candidate whose
// half period holds almost nothing (no subdivision: the candidate is itself the subdivision) and whose
// pattern repeats clearly better over 8 candidate beats than over 4 (the true bar is 8 of them) is the
// eighth note of a beat twice as long. Chosen on the 1,600 development songs (docs/world.md).
constexpr double kHalfTimeMinBpm = 110.0;
constexpr double kHalfTimeMaxSubdivision = 0.2;
constexpr double kHalfTimeMinBarGain = 0.07;
// The beat-grid fit: periods within 7% of the estimate, in steps of 0.2%, on the envelope smoothed by a
// Gaussian of 24 ms (the world's loosest notes are up to 45 ms early or late).
constexpr double kGridSearchRange = 0.07;
constexpr double kGridSearchStep = 0.002;
constexpr double kGridSmoothingSeconds = 0.024;
// A recording longer than 1.5 windows of 20 s is fitted window by window (tempo may drift through a song).
constexpr double kGridWindowSeconds = 20.0;

} // namespace

std::vector<double> detrendEnvelope(std::span<const double> x, int halfWindow)
{
    const int n = static_cast<int>(x.size());
    std::vector<double> prefix(n + 1, 0.0);
    for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + x[i];
    std::vector<double> y(n);
    for (int i = 0; i < n; ++i) {
        const int a = std::max(0, i - halfWindow), b = std::min(n, i + halfWindow + 1);
        y[i] = std::max(0.0, x[i] - (prefix[b] - prefix[a]) / (b - a));
    }
    return y;
}

namespace {

// The envelope estimateTempo reads: the detrended full-band onsets plus half the detrended low band.
std::vector<double> pulseEnvelope(std::span<const double> onset, std::span<const double> lowOnset, double frameRateHz)
{
    const int halfWindow = onsetTrendHalfWindow(frameRateHz);
    std::vector<double> envelope = detrendEnvelope(onset, halfWindow);
    const std::vector<double> low = detrendEnvelope(lowOnset, halfWindow);
    for (size_t t = 0; t < envelope.size() && t < low.size(); ++t) envelope[t] += kLowBandWeight * low[t];
    return envelope;
}

// r[L] = mean of x[t] x[t + L], divided by r[0]; empty when x is silent.
std::vector<double> autocorrelation(const std::vector<double>& x, int maxLag)
{
    const int n = static_cast<int>(x.size());
    maxLag = std::min(maxLag, n - 1);
    std::vector<double> r(std::max(0, maxLag + 1), 0.0);
    for (int lag = 0; lag <= maxLag; ++lag) {
        double sum = 0.0;
        for (int t = 0; t + lag < n; ++t) sum += x[t] * x[t + lag];
        r[lag] = sum / (n - lag);
    }
    if (r.empty() || r[0] <= 1e-12) return {};
    const double r0 = r[0];
    for (double& v : r) v /= r0;
    return r;
}

double at(const std::vector<double>& r, int lag)
{
    return lag >= 0 && lag < static_cast<int>(r.size()) ? r[lag] : 0.0;
}

// The fractional position of the peak at `lag` (a parabola through its neighbours).
double interpolatePeak(const std::vector<double>& r, int lag)
{
    if (lag <= 0 || lag + 1 >= static_cast<int>(r.size())) return lag;
    const double a = r[lag - 1], b = r[lag], c = r[lag + 1];
    const double denominator = a - 2.0 * b + c;
    if (std::abs(denominator) < 1e-12) return lag;
    return lag + std::clamp(0.5 * (a - c) / denominator, -0.5, 0.5);
}

int maxNear(const std::vector<double>& r, int centre, int radius)
{
    int best = centre;
    for (int l = std::max(1, centre - radius); l <= std::min<int>(r.size() - 2, centre + radius); ++l)
        if (r[l] > at(r, best)) best = l;
    return best;
}

// The largest 3-frame mean of r within `radius` of `centre`: a peak's height whether it falls on one frame or
// is split between two (a fractional period), so long lags of a sharp click compare fairly with short ones.
double broadPeak(const std::vector<double>& r, int centre, int radius)
{
    double best = 0.0;
    for (int l = std::max(1, centre - radius); l <= std::min<int>(r.size() - 2, centre + radius); ++l)
        best = std::max(best, (r[l - 1] + r[l] + r[l + 1]) / 3.0);
    return best;
}

double priorWeight(double bpm)
{
    const double octaves = std::log2(bpm / kPriorCentreBpm) / kPriorOctaves;
    return std::exp(-0.5 * octaves * octaves);
}

// The beat period in frames (fractional), fitted to the autocorrelation peaks at 1..4 beats.
double refinePeriod(const std::vector<double>& r, int beatLag)
{
    const double first = interpolatePeak(r, beatLag);
    double numerator = first, denominator = 1.0;
    for (int k = 2; k <= 4; ++k) {
        const int centre = static_cast<int>(std::lround(k * first));
        if (centre + 2 >= static_cast<int>(r.size())) break;
        const int peak = maxNear(r, centre, k);
        if (r[peak] < 0.5 * r[beatLag]) continue;
        numerator += k * interpolatePeak(r, peak);
        denominator += k * k;
    }
    return numerator / denominator;
}

void measurePhase(const std::vector<double>& envelope, double period, TempoEstimate& estimate)
{
    std::array<double, kPhaseBins> sum {}, count {};
    for (size_t t = 0; t < envelope.size(); ++t) {
        const double phase = std::fmod(t / period, 1.0);
        const int bin = std::min(kPhaseBins - 1, static_cast<int>(phase * kPhaseBins));
        sum[bin] += envelope[t];
        count[bin] += 1.0;
    }
    std::array<double, kPhaseBins> h {};
    double mean = 0.0;
    int peak = 0;
    for (int b = 0; b < kPhaseBins; ++b) {
        h[b] = count[b] > 0 ? sum[b] / count[b] : 0.0;
        mean += h[b] / kPhaseBins;
        if (h[b] > h[peak]) peak = b;
    }
    if (mean <= 1e-12) return;
    estimate.phasePeakiness = h[peak] / mean;
    const double half = h[(peak + kPhaseBins / 2) % kPhaseBins];
    const double twoThirds = h[(peak + 2 * kPhaseBins / 3) % kPhaseBins];
    estimate.swing = twoThirds / (half + twoThirds + 1e-12);
}

} // namespace

TempoEstimate estimateTempo(std::span<const double> onset, std::span<const double> lowOnset, double frameRateHz)
{
    TempoEstimate estimate;
    const std::vector<double> envelope = pulseEnvelope(onset, lowOnset, frameRateHz);
    const std::vector<double> low = detrendEnvelope(lowOnset, onsetTrendHalfWindow(frameRateHz));
    const int minLag = static_cast<int>(std::floor(60.0 * frameRateHz / kMaxBpm));
    const int maxLag = static_cast<int>(std::ceil(60.0 * frameRateHz / kMinBpm));
    const std::vector<double> r = autocorrelation(envelope, 4 * maxLag + 8);
    if (static_cast<int>(r.size()) <= 2 * minLag + 2) return estimate;

    int bestLag = 0;
    double bestScore = 0.0;
    for (int lag = minLag; lag <= std::min<int>(maxLag, r.size() - 2); ++lag) {
        if (r[lag] < r[lag - 1] || r[lag] < r[lag + 1] || r[lag] <= 0.0) continue;
        const double bpm = 60.0 * frameRateHz / lag;
        const double score = (r[lag] + kW2 * at(r, maxNear(r, 2 * lag, 2)) + kW4 * at(r, maxNear(r, 4 * lag, 4))
                                 + kW3 * at(r, maxNear(r, 3 * lag, 3)) + kW43 * at(r, maxNear(r, (4 * lag + 1) / 3, 2)))
            * priorWeight(bpm);
        if (score > bestScore) {
            bestScore = score;
            bestLag = lag;
        }
    }
    if (bestLag == 0) return estimate;
    if (60.0 * frameRateHz / bestLag >= kHalfTimeMinBpm && 8 * bestLag + 10 < static_cast<int>(r.size())) {
        const double subdivision = broadPeak(r, bestLag / 2, 1);
        const double barGain = broadPeak(r, 8 * bestLag, 8) - broadPeak(r, 4 * bestLag, 4);
        if (subdivision < kHalfTimeMaxSubdivision && barGain > kHalfTimeMinBarGain)
            bestLag = maxNear(r, 2 * bestLag, 2);
    }
    const double period = refinePeriod(r, bestLag);
    estimate.bpm = 60.0 * frameRateHz / period;
    estimate.pulseClarity = std::clamp(r[bestLag], 0.0, 1.0);
    const std::vector<double> lowR = autocorrelation(low, bestLag + 2);
    estimate.lowPulseClarity = lowR.empty() ? 0.0 : std::clamp(at(lowR, maxNear(lowR, bestLag, 1)), 0.0, 1.0);
    measurePhase(envelope, period, estimate);
    return estimate;
}

namespace {

// The steady pulse period (frames) within kGridSearchRange of `period0` whose best phase puts the most of the
// smoothed envelope on its beats; 0 when the window holds no onsets or fewer than 4 beats.
double fitPeriod(std::span<const double> smooth, double period0)
{
    const int n = static_cast<int>(smooth.size());
    if (n < 4 * period0) return 0.0;
    auto sample = [&](double position) {
        const int i = static_cast<int>(position);
        const double f = position - i;
        return i + 1 < n ? (1.0 - f) * smooth[i] + f * smooth[i + 1] : smooth[n - 1];
    };
    // The mean envelope on the beats of the best phase, for a period.
    auto score = [&](double period) {
        double best = 0.0;
        for (double phase = 0.0; phase < period; phase += 0.5) {
            double sum = 0.0;
            int beats = 0;
            for (double t = phase; t < n - 1; t += period, ++beats) sum += sample(t);
            if (beats > 0) best = std::max(best, sum / beats);
        }
        return best;
    };
    const int steps = static_cast<int>(std::lround(kGridSearchRange / kGridSearchStep));
    std::vector<double> scores(2 * steps + 1);
    int bestStep = steps;
    for (int s = -steps; s <= steps; ++s) {
        scores[s + steps] = score(period0 * (1.0 + s * kGridSearchStep));
        if (scores[s + steps] > scores[bestStep]) bestStep = s + steps;
    }
    if (scores[bestStep] <= 0.0) return 0.0;
    double offset = bestStep - steps;
    if (bestStep > 0 && bestStep < 2 * steps) { // a parabola through the neighbours
        const double a = scores[bestStep - 1], b = scores[bestStep], c = scores[bestStep + 1];
        const double denominator = a - 2.0 * b + c;
        if (std::abs(denominator) > 1e-12) offset += std::clamp(0.5 * (a - c) / denominator, -0.5, 0.5);
    }
    return period0 * (1.0 + offset * kGridSearchStep);
}

} // namespace

double fitBeatGrid(std::span<const double> onset, std::span<const double> lowOnset, double frameRateHz, double bpm)
{
    if (bpm <= 0.0) return bpm;
    const std::vector<double> raw = pulseEnvelope(onset, lowOnset, frameRateHz);
    const int n = static_cast<int>(raw.size());
    // Smooth by a Gaussian of 24 ms: loosely timed notes still add up near their beat.
    const double sigma = kGridSmoothingSeconds * frameRateHz;
    const int radius = static_cast<int>(std::ceil(3.0 * sigma));
    std::vector<double> kernel(2 * radius + 1);
    for (int i = -radius; i <= radius; ++i) kernel[i + radius] = std::exp(-0.5 * (i / sigma) * (i / sigma));
    std::vector<double> smooth(n, 0.0);
    for (int t = 0; t < n; ++t)
        for (int i = -radius; i <= radius; ++i)
            if (t + i >= 0 && t + i < n) smooth[t] += kernel[i + radius] * raw[t + i];
    // One fit over a clip of up to 1.5 windows; over a longer recording, whose players may speed up or slow
    // down, one fit per window (half-overlapping, the last one ending with the recording) and their median.
    const double period0 = 60.0 * frameRateHz / bpm;
    const int window = static_cast<int>(std::lround(kGridWindowSeconds * frameRateHz));
    std::vector<double> periods;
    if (n <= 3 * window / 2) {
        periods.push_back(fitPeriod(smooth, period0));
    } else {
        std::vector<int> starts;
        for (int start = 0; start + window <= n; start += window / 2) starts.push_back(start);
        if (starts.back() + window < n) starts.push_back(n - window);
        for (int start : starts)
            periods.push_back(fitPeriod(std::span<const double>(smooth).subspan(start, window), period0));
    }
    std::erase(periods, 0.0);
    if (periods.empty()) return bpm;
    std::sort(periods.begin(), periods.end());
    const size_t m = periods.size();
    const double period = m % 2 ? periods[m / 2] : 0.5 * (periods[m / 2 - 1] + periods[m / 2]);
    return 60.0 * frameRateHz / period;
}

} // namespace tmk::analysis
