// Tempo and mode on audio the world did not render: click tracks, a drum pattern and chord progressions
// generated here, and (when sox is installed) made by `sox -n synth`.
#include <cmath>
#include <cstdlib>
#include <gtest/gtest.h>

#include "signals.h"
#include "tastemaker/analysis.h"
#include "testsupport.h"

namespace tmk {
namespace {

constexpr int kRate = 22050; // not the analysis rate: the resampler is on the path

double relativeError(double estimate, double truth)
{
    return std::abs(estimate - truth) / truth;
}

TEST(AnalysisTempo, ClickTracksAtSeveralTempi)
{
    for (double bpm : { 72.0, 90.0, 120.0, 140.0, 155.0 }) {
        const AudioMetrics m = analyseSignal(test::clickTrack(bpm, 20.0, kRate), kRate);
        EXPECT_LT(relativeError(m.tempoBpm, bpm), 0.02) << bpm << " BPM read as " << m.tempoBpm;
    }
}

TEST(AnalysisTempo, DrumPatternWithEighthNoteHats)
{
    // Hi-hats on every eighth: the octave check must keep the quarter-note beat.
    for (double bpm : { 96.0, 120.0, 132.0 }) {
        const AudioMetrics m = analyseSignal(test::drumPattern(bpm, 20.0, kRate), kRate);
        EXPECT_LT(relativeError(m.tempoBpm, bpm), 0.02) << bpm << " BPM read as " << m.tempoBpm;
    }
}

TEST(AnalysisTempo, OneDropIsNotReadAtTwiceItsTempo)
{
    // The half-time check: the off-beat eighths make 2x the densest pulse, the once-a-bar drop says otherwise.
    // Before it, every one of these read at twice its tempo. (At 66 BPM this signal still does: its bar gain,
    // 0.065, falls just under the threshold; docs/world.md.)
    for (double bpm : { 60.0, 72.0, 80.0 }) {
        const AudioMetrics m = analyseSignal(test::oneDrop(bpm, 20.0, kRate), kRate);
        EXPECT_LT(relativeError(m.tempoBpm, bpm), 0.02) << bpm << " BPM read as " << m.tempoBpm;
    }
}

TEST(AnalysisTempo, SilenceHasNoTempoAndStaysInRange)
{
    const std::vector<float> silence(kRate * 3, 0.0f);
    const AudioMetrics m = analyseSignal(silence, kRate);
    EXPECT_EQ(m.tempoBpm, 0.0);
    EXPECT_LE(m.loudnessLufs, -69.9);
    const std::vector<float> tiny(100, 0.1f);
    const AudioMetrics t = analyseSignal(tiny, kRate);
    EXPECT_GE(t.energy, 0.0);
    EXPECT_LE(t.energy, 1.0);
}

TEST(AnalysisMode, MajorAndMinorCadencesInSeveralKeys)
{
    // C major, G major, E flat major; A minor, D minor, F sharp minor.
    for (int tonic : { 60, 67, 63 }) {
        const AudioMetrics m = analyseSignal(test::cadence(tonic, true, kRate), kRate);
        EXPECT_EQ(m.mode, 1) << "major cadence on MIDI " << tonic;
        EXPECT_EQ(m.keyPitchClass, tonic % 12) << "major cadence on MIDI " << tonic;
    }
    for (int tonic : { 57, 62, 66 }) {
        const AudioMetrics m = analyseSignal(test::cadence(tonic, false, kRate), kRate);
        EXPECT_EQ(m.mode, 0) << "minor cadence on MIDI " << tonic;
        EXPECT_EQ(m.keyPitchClass, tonic % 12) << "minor cadence on MIDI " << tonic;
    }
}

TEST(AnalysisMode, SustainedTriads)
{
    EXPECT_EQ(analyseSignal(test::progression({ { 60, 64, 67 } }, 4.0, kRate), kRate).mode, 1); // C major
    EXPECT_EQ(analyseSignal(test::progression({ { 57, 60, 64 } }, 4.0, kRate), kRate).mode, 0); // A minor
}

bool haveSox()
{
    return std::system("command -v sox >/dev/null 2>&1") == 0;
}

TEST(AnalysisSox, ClickTrackAndChordsMadeBySox)
{
    if (!haveSox()) GTEST_SKIP() << "sox is not installed";
    const std::filesystem::path dir = test::freshOutDir("analysis_sox");
    const std::string d = dir.string();
    // 140 BPM: a 20 ms sine click every 60/140 s; 44.1 kHz pluck chords (sox's pluck needs >= 44.1 kHz).
    const std::string script = "cd '" + d
        + "' && "
          "sox -n -r 16000 -c 1 click.wav synth 0.02 sine 1000 pad 0 "
        + std::to_string(60.0 / 140.0 - 0.02)
        + " repeat 39 && "
          "sox -r 44100 -c 3 -n -c 1 c.wav synth 1 pl C3 pl E3 pl G3 && "
          "sox -r 44100 -c 3 -n -c 1 f.wav synth 1 pl F3 pl A3 pl C4 && "
          "sox -r 44100 -c 3 -n -c 1 g.wav synth 1 pl G3 pl B3 pl D4 && "
          "sox c.wav f.wav g.wav c.wav c.wav f.wav g.wav c.wav major.wav && "
          "sox -r 44100 -c 3 -n -c 1 am.wav synth 1 pl A2 pl C3 pl E3 && "
          "sox -r 44100 -c 3 -n -c 1 dm.wav synth 1 pl D3 pl F3 pl A3 && "
          "sox -r 44100 -c 3 -n -c 1 em.wav synth 1 pl E3 pl G3 pl B3 && "
          "sox am.wav dm.wav em.wav am.wav am.wav dm.wav em.wav am.wav minor.wav";
    ASSERT_EQ(std::system(script.c_str()), 0) << script;
    Expected<AudioMetrics> click = analyseFile(dir / "click.wav");
    ASSERT_TRUE(click.ok()) << click.error().message;
    EXPECT_LT(relativeError(click->tempoBpm, 140.0), 0.02) << click->tempoBpm;
    Expected<AudioMetrics> major = analyseFile(dir / "major.wav");
    ASSERT_TRUE(major.ok()) << major.error().message;
    EXPECT_EQ(major->mode, 1);
    EXPECT_EQ(major->keyPitchClass, 0);
    Expected<AudioMetrics> minor = analyseFile(dir / "minor.wav");
    ASSERT_TRUE(minor.ok()) << minor.error().message;
    EXPECT_EQ(minor->mode, 0);
    EXPECT_EQ(minor->keyPitchClass, 9);
}

} // namespace
} // namespace tmk
