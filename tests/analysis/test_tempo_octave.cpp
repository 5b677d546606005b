// The tempo octave classifier (engine/analysis/tempo_octave.h): which way it corrects an estimate, that it
// leaves songs unlike its training songs alone, that its inputs follow the estimated period, and that the
// committed models are whole. And the beat-grid fit that follows it.
#include <cmath>
#include <gtest/gtest.h>
#include <random>

#include "analysis/tempo_octave.h"
#include "signals.h"
#include "tastemaker/analysis.h"

namespace tmk::analysis {
namespace {

// A model over kTempoOctaveFeatures inputs whose halve and double logits are the given constants.
TempoOctaveModel constantModel(double halve, double twice)
{
    TempoOctaveModel model;
    for (LogisticModel* m : { &model.halve, &model.twice }) {
        m->mean.assign(kTempoOctaveFeatures, 0.0);
        m->scale.assign(kTempoOctaveFeatures, 1.0);
        m->weight.assign(kTempoOctaveFeatures, 0.0);
    }
    model.halve.bias = halve;
    model.twice.bias = twice;
    return model;
}

TEST(TempoOctave, HalvesDoublesOrKeeps)
{
    const TempoOctaveFeatures f {};
    EXPECT_EQ(correctedBpm(TempoOctaveModel {}, f, 140.0), 140.0);
    EXPECT_EQ(correctedBpm(constantModel(2.0, -2.0), f, 140.0), 70.0);
    EXPECT_EQ(correctedBpm(constantModel(-2.0, 2.0), f, 70.0), 140.0);
    EXPECT_EQ(correctedBpm(constantModel(2.0, 3.0), f, 70.0), 140.0); // the likelier correction wins
    EXPECT_EQ(correctedBpm(constantModel(-1.0, -1.0), f, 70.0), 70.0);
    EXPECT_EQ(correctedBpm(constantModel(-2.0, 2.0), f, 130.0), 130.0); // not beyond 250 BPM
    EXPECT_EQ(correctedBpm(constantModel(2.0, -2.0), f, 70.0), 70.0); // not below 40 BPM
}

TEST(TempoOctave, InputsOutsideTheTrainingRangeKeepTheEstimate)
{
    TempoOctaveModel model = constantModel(2.0, -2.0);
    model.low.assign(kTempoOctaveFeatures, 0.0);
    model.high.assign(kTempoOctaveFeatures, 1.0);
    TempoOctaveFeatures f {};
    EXPECT_EQ(correctedBpm(model, f, 140.0), 70.0);
    f[2] = 1.5;
    EXPECT_EQ(correctedBpm(model, f, 140.0), 140.0);
}

TEST(TempoOctave, InputsFollowTheEstimatedPeriod)
{
    // A click track: its onsets repeat every beat and nothing falls between them.
    const std::vector<float> clicks = test::clickTrack(100.0, 12.0, kAnalysisSampleRate);
    const FrameDescriptors d = computeFrameDescriptors(clicks, kAnalysisSampleRate);
    TempoEstimate tempo = estimateTempo(d.onset, d.lowOnset, d.frameRateHz);
    ASSERT_NEAR(tempo.bpm, 100.0, 2.0);
    const TempoOctaveFeatures f = tempoOctaveFeatures(d, tempo);
    EXPECT_GT(f[4 + 2 * 5], 0.8); // 1 beat
    EXPECT_GT(f[4 + 2 * 7], 0.8); // 2 beats
    EXPECT_LT(f[4 + 2 * 2], 0.1); // half a beat
    EXPECT_LT(f[4 + 2 * 6], 0.1); // 1.5 beats
    EXPECT_NEAR(f[28], std::log2(tempo.bpm / 120.0), 1e-12);
    // Read at twice the tempo, half of the "beats" are empty.
    tempo.bpm *= 2.0;
    const TempoOctaveFeatures doubled = tempoOctaveFeatures(d, tempo);
    EXPECT_LT(doubled[4 + 2 * 5], 0.1);
    EXPECT_GT(doubled[4 + 2 * 7], 0.8);
}

TEST(TempoOctave, TheCommittedModelsAreWhole)
{
    const TempoOctaveModel& model = committedTempoOctaveModel();
    for (const LogisticModel* m : { &model.halve, &model.twice }) {
        EXPECT_EQ(m->weight.size(), static_cast<size_t>(kTempoOctaveFeatures));
        EXPECT_EQ(m->mean.size(), static_cast<size_t>(kTempoOctaveFeatures));
        EXPECT_EQ(m->scale.size(), static_cast<size_t>(kTempoOctaveFeatures));
    }
    ASSERT_EQ(model.low.size(), static_cast<size_t>(kTempoOctaveFeatures));
    ASSERT_EQ(model.high.size(), static_cast<size_t>(kTempoOctaveFeatures));
    for (int i = 0; i < kTempoOctaveFeatures; ++i) EXPECT_LE(model.low[i], model.high[i]) << i;
}

// An onset envelope at 125 frames/s: a note on every beat of a steady `bpm` grid (and on some eighths), each
// up to `jitter` seconds early or late, with random strengths, over `seconds`.
std::vector<double> looseNotes(double bpm, double jitter, double seconds, unsigned seed)
{
    constexpr double kRate = 125.0;
    std::mt19937 random(seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<double> envelope(static_cast<size_t>(seconds * kRate), 0.0);
    const double beat = 60.0 / bpm;
    for (double t = 0.3; t < seconds - 0.1; t += beat / 2.0) {
        const bool onBeat = std::fmod(t - 0.3 + 1e-9, beat) < beat / 4.0;
        if (!onBeat && unit(random) < 0.6) continue;
        const double when = t + jitter * (2.0 * unit(random) - 1.0);
        const auto frame = static_cast<size_t>(std::lround(when * kRate));
        if (frame < envelope.size()) envelope[frame] += 0.5 + unit(random);
    }
    return envelope;
}

TEST(BeatGrid, PinsTheTempoOfLooselyTimedNotes)
{
    const std::vector<double> none(1875, 0.0);
    for (double bpm : { 63.0, 97.5, 131.0 }) {
        const std::vector<double> notes = looseNotes(bpm, 0.04, 15.0, static_cast<unsigned>(bpm));
        // From estimates 5% off either way, the whole song's beats bring it back within 0.5%.
        for (double start : { bpm * 0.95, bpm * 1.05, bpm }) {
            const double fitted = fitBeatGrid(notes, none, 125.0, start);
            EXPECT_NEAR(fitted / bpm, 1.0, 0.005) << bpm << " BPM from " << start;
        }
    }
    // It stays within 7% of the estimate (another metrical level is the octave check's business), and leaves
    // silence and songs of fewer than 4 beats alone.
    const std::vector<double> notes = looseNotes(120.0, 0.0, 15.0, 1);
    EXPECT_NEAR(fitBeatGrid(notes, none, 125.0, 90.0), 90.0, 90.0 * 0.071);
    EXPECT_EQ(fitBeatGrid(none, none, 125.0, 120.0), 120.0);
    EXPECT_EQ(fitBeatGrid(looseNotes(60.0, 0.0, 3.0, 1), none, 125.0, 60.0), 60.0);
    EXPECT_EQ(fitBeatGrid(notes, none, 125.0, 0.0), 0.0);
}

TEST(BeatGrid, FollowsARecordingWhoseTempoDrifts)
{
    // Three minutes whose beat speeds up steadily from 114 to 126 BPM (a band rushing): one steady grid over
    // the whole recording fits none of it well; the median of 20 s windows is the middle tempo.
    constexpr double kRate = 125.0;
    std::vector<double> envelope(static_cast<size_t>(180.0 * kRate), 0.0);
    std::mt19937 random(5);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (double t = 0.2; t < 179.5;) {
        envelope[static_cast<size_t>(std::lround(t * kRate))] += 0.5 + unit(random);
        t += 60.0 / (114.0 + 12.0 * t / 180.0);
    }
    const std::vector<double> none(envelope.size(), 0.0);
    EXPECT_NEAR(fitBeatGrid(envelope, none, kRate, 121.0), 120.0, 1.2);
    // A steady long recording still comes back within 0.5% from 5% off.
    const std::vector<double> steady = looseNotes(97.0, 0.03, 180.0, 3);
    EXPECT_NEAR(fitBeatGrid(steady, std::vector<double>(steady.size(), 0.0), kRate, 97.0 * 1.05) / 97.0, 1.0, 0.005);
}

} // namespace
} // namespace tmk::analysis
