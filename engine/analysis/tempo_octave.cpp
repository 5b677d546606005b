#include "tempo_octave.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tmk::analysis {

namespace {

constexpr double kMultiples[] = { 0.25, 1.0 / 3.0, 0.5, 2.0 / 3.0, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0 };

// A detrended onset envelope and its mean power (the autocorrelation at lag 0).
struct Envelope {
    std::vector<double> x;
    double power = 0.0;
};

Envelope envelope(std::span<const double> onset, int halfWindow)
{
    Envelope e { detrendEnvelope(onset, halfWindow), 0.0 };
    for (double v : e.x) e.power += v * v;
    e.power /= std::max<size_t>(e.x.size(), 1);
    return e;
}

// The largest normalised autocorrelation of the envelope within 2% of `lag` frames (0 when it is silent).
double peakNear(const Envelope& e, double lag)
{
    const int n = static_cast<int>(e.x.size());
    if (e.power <= 1e-12) return 0.0;
    double best = 0.0;
    for (int l = static_cast<int>(std::floor(lag * 0.98)); l <= static_cast<int>(std::ceil(lag * 1.02)); ++l) {
        if (l < 1 || l >= n - 1) continue;
        double sum = 0.0;
        for (int t = 0; t + l < n; ++t) sum += e.x[t] * e.x[t + l];
        best = std::max(best, sum / (n - l) / e.power);
    }
    return best;
}

} // namespace

TempoOctaveFeatures tempoOctaveFeatures(const FrameDescriptors& frames, const TempoEstimate& tempo)
{
    TempoOctaveFeatures f {};
    f[0] = tempo.pulseClarity;
    f[1] = tempo.lowPulseClarity;
    f[2] = tempo.phasePeakiness;
    f[3] = tempo.swing;
    const int halfWindow = onsetTrendHalfWindow(frames.frameRateHz);
    const Envelope full = envelope(frames.onset, halfWindow), low = envelope(frames.lowOnset, halfWindow);
    const double bpm = std::max(tempo.bpm, 1.0);
    const double period = 60.0 * frames.frameRateHz / bpm;
    for (size_t i = 0; i < std::size(kMultiples); ++i) {
        f[4 + 2 * i] = peakNear(full, period * kMultiples[i]);
        f[5 + 2 * i] = peakNear(low, period * kMultiples[i]);
    }
    const double octaves = std::log2(bpm / 120.0);
    f[28] = octaves;
    f[29] = octaves * octaves;
    return f;
}

const TempoOctaveModel& committedTempoOctaveModel()
{
    static const TempoOctaveModel model = {
#include "tempo_octave.inc"
    };
    return model;
}

double correctedBpm(const TempoOctaveModel& model, const TempoOctaveFeatures& features, double bpm)
{
    if (model.halve.empty() || model.twice.empty() || bpm <= 0.0) return bpm;
    if (model.low.size() == features.size() && model.high.size() == features.size())
        for (size_t i = 0; i < features.size(); ++i)
            if (features[i] < model.low[i] || features[i] > model.high[i]) return bpm;
    const double halve = model.halve.logit(features), twice = model.twice.logit(features);
    if (halve > 0.0 && halve >= twice && bpm / 2.0 >= 40.0) return bpm / 2.0;
    if (twice > 0.0 && bpm * 2.0 <= 250.0) return bpm * 2.0;
    return bpm;
}

std::string tempoOctaveModelToInc(const TempoOctaveModel& model, const std::string& comment)
{
    auto list = [](const std::vector<double>& values) {
        std::string text = "{";
        char buffer[32];
        for (size_t i = 0; i < values.size(); ++i) {
            std::snprintf(buffer, sizeof buffer, "%s%.17g", i == 0 ? "" : (i % 6 == 0 ? ",\n " : ", "), values[i]);
            text += buffer;
        }
        return text + "},\n";
    };
    return "// " + comment
        + "\n// {halve: {bias, {means}, {scales}, {weights}}, double: {...}, {input minima}, {input maxima}} over "
          "tempoOctaveFeatures()\n{"
        + logisticToInc(model.halve) + "},\n{" + logisticToInc(model.twice) + "},\n" + list(model.low)
        + list(model.high);
}

} // namespace tmk::analysis
