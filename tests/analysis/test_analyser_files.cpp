// The Analyser's files, folders, CSV, loudness, progress and cancel.
#include <fstream>
#include <gtest/gtest.h>
#include <mutex>
#include <sstream>

#include "analysis/model_fit.h"
#include "signals.h"
#include "tastemaker/analysis.h"
#include "tastemaker/log.h"
#include "testsupport.h"

namespace tmk {
namespace {

TEST(AnalysisLoudness, MinusTwentyDbfsSineReadsMinusTwentyThreeLufs)
{
    // BS.1770 / EBU R128: a 1 kHz sine of peak amplitude A in one channel reads 20 log10(A) - 3.01 LUFS
    // (its mean square is A^2 / 2 and the K-weighting is ~0 dB at 1 kHz), so -20 dBFS reads -23.0 LUFS.
    for (int rate : { 16000, 44100, 48000 }) {
        const AudioMetrics m = analyseSignal(test::sine(1000.0, 0.1, 5.0, rate), rate);
        EXPECT_NEAR(m.loudnessLufs, -23.01, 0.15) << rate << " Hz";
    }
    // The same sine in both channels of a stereo file: the channels' powers add, +3 dB.
    const std::filesystem::path dir = test::freshOutDir("analysis_loudness");
    const std::vector<float> mono = test::sine(1000.0, 0.1, 5.0, 48000);
    std::vector<float> stereo(mono.size() * 2);
    for (size_t i = 0; i < mono.size(); ++i) stereo[2 * i] = stereo[2 * i + 1] = mono[i];
    test::writeWav(dir / "stereo.wav", stereo, 2, 48000);
    Expected<AudioMetrics> m = analyseFile(dir / "stereo.wav");
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_NEAR(m->loudnessLufs, -20.0, 0.15);
    // 6 dB quieter reads 6 dB lower.
    EXPECT_NEAR(analyseSignal(test::sine(1000.0, 0.05, 5.0, 16000), 16000).loudnessLufs, -29.03, 0.15);
}

struct CapturedLog {
    std::mutex mutex;
    std::vector<std::string> warnings;
};

TEST(AnalysisLibrary, UnreadableFileIsSkippedWithAWarningNamingIt)
{
    const std::filesystem::path dir = test::freshOutDir("analysis_library");
    std::filesystem::create_directories(dir / "nested" / "deeper");
    test::writeWav(dir / "clicks.wav", test::clickTrack(120.0, 6.0, 16000), 1, 16000);
    test::writeWav(dir / "nested" / "deeper" / "chords.wav", test::cadence(60, true, 22050), 1, 22050);
    std::ofstream(dir / "nested" / "broken.wav") << "this is not audio";
    std::ofstream(dir / "notes.txt") << "not audio and not an audio extension";

    auto captured = std::make_shared<CapturedLog>();
    setLogSink([captured](LogLevel level, std::string_view message) {
        std::lock_guard lock(captured->mutex);
        if (level == LogLevel::Warning) captured->warnings.emplace_back(message);
    });
    std::vector<Progress> progress;
    Expected<LibraryAnalysis> result = analyseLibrary(
        { dir }, {}, [&](const Progress& p) { progress.push_back(p); }, nullptr);
    setLogSink(nullptr);
    ASSERT_TRUE(result.ok()) << result.error().message;
    ASSERT_EQ(result->songs.size(), 2u);
    ASSERT_EQ(result->skipped.size(), 1u);
    EXPECT_EQ(result->skipped[0].first.filename(), "broken.wav");
    ASSERT_EQ(captured->warnings.size(), 1u);
    EXPECT_NE(captured->warnings[0].find((dir / "nested" / "broken.wav").string()), std::string::npos)
        << captured->warnings[0];
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back().done, 3);
    EXPECT_EQ(progress.back().total, 3);
    EXPECT_EQ(progress.back().stage, ProgressStage::AnalysingFiles);
    EXPECT_FALSE(result->cancelled);
}

TEST(AnalysisLibrary, MissingInputIsAnErrorNamingIt)
{
    Expected<LibraryAnalysis> result = analyseLibrary({ "/no/such/folder" }, {}, nullptr, nullptr);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("/no/such/folder"), std::string::npos);
}

TEST(AnalysisLibrary, CancelStopsBeforeTheNextFile)
{
    const std::filesystem::path dir = test::freshOutDir("analysis_cancel");
    for (int i = 0; i < 3; ++i)
        test::writeWav(dir / ("c" + std::to_string(i) + ".wav"), test::clickTrack(100.0, 3.0, 16000), 1, 16000);
    CancelToken cancel;
    Expected<LibraryAnalysis> result = analyseLibrary(
        { dir }, {},
        [&](const Progress& p) {
            if (p.done == 1) cancel.requestCancel();
        },
        &cancel);
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result->cancelled);
    EXPECT_EQ(result->songs.size(), 1u);
}

TEST(AnalysisCsv, HeaderAndRanges)
{
    EXPECT_EQ(metricsCsvHeader(),
        "path,tempo,loudness,mode,energy,danceability,acousticness,valence,instrumentalness,speechiness,liveness");
    std::vector<AudioMetrics> songs;
    songs.push_back(analyseSignal(test::drumPattern(110.0, 8.0, 16000), 16000));
    songs.push_back(analyseSignal(test::cadence(62, false, 16000), 16000));
    songs.push_back(analyseSignal(std::vector<float>(16000, 0.0f), 16000));
    songs[0].path = "a, quoted \"name\".wav";
    for (const AudioMetrics& m : songs) {
        EXPECT_TRUE(m.mode == 0 || m.mode == 1);
        EXPECT_GE(m.tempoBpm, 0.0);
        for (double v :
            { m.energy, m.danceability, m.acousticness, m.valence, m.instrumentalness, m.speechiness, m.liveness }) {
            EXPECT_GE(v, 0.0);
            EXPECT_LE(v, 1.0);
        }
    }
    const std::string csv = metricsCsv(songs);
    std::istringstream lines(csv);
    std::string line;
    std::getline(lines, line);
    EXPECT_EQ(line, metricsCsvHeader());
    std::getline(lines, line);
    EXPECT_EQ(line.rfind("\"a, quoted \"\"name\"\".wav\",", 0), 0u) << line;
    int rows = 1;
    while (std::getline(lines, line)) {
        ++rows;
        EXPECT_EQ(std::count(line.begin(), line.end(), ','), 10) << line;
    }
    EXPECT_EQ(rows, 3);
    const std::filesystem::path out = test::freshOutDir("analysis_csv") / "metrics.csv";
    ASSERT_TRUE(writeMetricsCsv(out, songs).ok());
    std::ifstream written(out);
    std::stringstream text;
    text << written.rdbuf();
    EXPECT_EQ(text.str(), csv);
}

TEST(AnalysisFit, SpearmanAndRidgeRecoverAMonotonicTarget)
{
    EXPECT_NEAR(analysis::spearman({ 1, 2, 3, 4 }, { 10, 20, 30, 40 }), 1.0, 1e-12);
    EXPECT_NEAR(analysis::spearman({ 1, 2, 3, 4 }, { 4, 3, 2, 1 }), -1.0, 1e-12);
    EXPECT_NEAR(analysis::spearman({ 1, 2, 2, 3 }, { 1, 2, 2, 3 }), 1.0, 1e-12);
    std::vector<AnalysisFeatures> songs(50);
    std::vector<double> targets(50);
    for (int i = 0; i < 50; ++i) {
        songs[i][3] = i * 0.5;
        songs[i][7] = (i * 37) % 11; // noise
        targets[i] = i / 49.0;
    }
    const analysis::LinearModel model = analysis::fitLogitRidge("energy", songs, targets, {}, 0.01);
    std::vector<double> predicted;
    for (const AnalysisFeatures& s : songs) predicted.push_back(analysis::modelValue(model, s));
    EXPECT_GT(analysis::spearman(predicted, targets), 0.99);
}

} // namespace
} // namespace tmk
