// The tempo octave classifier: after estimateTempo, two logistic models ask whether the true beat is twice
// as long ("halve") or half as long ("double") as the estimate, from the onset envelopes' autocorrelation at
// fractions and multiples of the estimated period (docs/analysis.md, "Tempo octave"). The weights are in
// tempo_octave.inc, written by `tastemaker-cli analyse --fit-tempo`.
#pragma once

#include <array>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "descriptors.h"
#include "logistic.h"
#include "tastemaker/error.h"

namespace tmk::analysis {

// Pulse clarity, low-band pulse clarity, beat-phase peakiness and swing; the full-band and low-band onset
// autocorrelation at 1/4, 1/3, 1/2, 2/3, 3/4, 1, 3/2, 2, 3, 4, 6 and 8 estimated beats; log2(bpm / 120) and
// its square.
inline constexpr int kTempoOctaveFeatures = 30;
using TempoOctaveFeatures = std::array<double, kTempoOctaveFeatures>;

struct TempoOctaveModel {
    LogisticModel halve, twice; // the logits of "the beat is twice as long" and "half as long"
    // Each input's range over the training songs: a song with an input outside it (a click track's pulse is
    // more regular than any song's) is unlike what the models learnt from, and keeps its estimate.
    std::vector<double> low, high;
};

TempoOctaveFeatures tempoOctaveFeatures(const FrameDescriptors& frames, const TempoEstimate& tempo);

const TempoOctaveModel& committedTempoOctaveModel();

// The estimate halved when P(halve) > 0.5 and >= P(double), doubled when P(double) > 0.5 (within 40..250
// BPM); unchanged for empty models and for inputs outside the training range.
double correctedBpm(const TempoOctaveModel& model, const TempoOctaveFeatures& features, double bpm);

// The frames and the tempo estimate of a file (read and resampled as analyseFile does).
struct TempoReading {
    TempoOctaveFeatures features {};
    double bpm = 0.0;
};
Expected<TempoReading> tempoReadingOfFile(const std::filesystem::path& path);

std::string tempoOctaveModelToInc(const TempoOctaveModel& model, const std::string& comment);

} // namespace tmk::analysis
