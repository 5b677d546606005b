// The acoustic-share net's input (engine/analysis/acoustic_net.h): 4-frame means of the log-mel, floored,
// level-free (the song's mean removed) and laid out band by band; and the acousticness it gives is on the
// world's 0.02..0.98 scale whatever the level of the song.
#include <algorithm>
#include <gtest/gtest.h>
#include <numeric>

#include "analysis/acoustic_net.h"
#include "analysis/descriptors.h"
#include "signals.h"
#include "tastemaker/analysis.h"

namespace tmk::analysis {
namespace {

TEST(AcousticInput, PooledLevelFreeAndBandMajor)
{
    const std::vector<float> chords = test::cadence(60, true, kAnalysisSampleRate);
    const FrameDescriptors d = computeFrameDescriptors(chords, kAnalysisSampleRate);
    int frames = 0;
    const std::vector<float> input = acousticNetInput(d, frames);
    ASSERT_EQ(frames, d.frames / kAcousticPool);
    ASSERT_EQ(input.size(), static_cast<size_t>(kMelBands) * frames);
    const double mean = std::accumulate(input.begin(), input.end(), 0.0) / input.size();
    EXPECT_NEAR(mean, 0.0, 1e-4);
    // Band-major: band b's frame t is the mean of d's frames 4t..4t+3 (in dB, floored), relative to the mean.
    const int b = 12, t = frames / 2;
    const double first = std::max(
        (d.logMelDb[4 * t][b] + d.logMelDb[4 * t + 1][b] + d.logMelDb[4 * t + 2][b] + d.logMelDb[4 * t + 3][b]) / 4.0,
        kAcousticFloorDb);
    const double second = std::max(
        (d.logMelDb[4 * t + 4][b] + d.logMelDb[4 * t + 5][b] + d.logMelDb[4 * t + 6][b] + d.logMelDb[4 * t + 7][b])
            / 4.0,
        kAcousticFloorDb);
    EXPECT_NEAR(input[static_cast<size_t>(b) * frames + t + 1] - input[static_cast<size_t>(b) * frames + t],
        (second - first) / 20.0, 1e-4);

    // 10 dB quieter: above the floor, every value keeps its level relative to the loudest.
    std::vector<float> quiet = chords;
    for (float& x : quiet) x *= 0.316f;
    int quietFrames = 0;
    const std::vector<float> quietInput
        = acousticNetInput(computeFrameDescriptors(quiet, kAnalysisSampleRate), quietFrames);
    ASSERT_EQ(quietFrames, frames);
    const size_t loudest = static_cast<size_t>(std::max_element(input.begin(), input.end()) - input.begin());
    int compared = 0;
    for (size_t i = 0; i < input.size(); i += 7)
        if (input[i] > input[loudest] - 2.0f) { // within 40 dB of the loudest value
            EXPECT_NEAR(quietInput[i] - quietInput[loudest], input[i] - input[loudest], 2e-3) << i;
            ++compared;
        }
    EXPECT_GT(compared, 100);
    for (const std::vector<float>* signal : std::initializer_list<const std::vector<float>*> { &chords, &quiet }) {
        const double acousticness = analyseSignal(*signal, kAnalysisSampleRate).acousticness;
        EXPECT_GE(acousticness, 0.02);
        EXPECT_LE(acousticness, 0.98);
    }
}

TEST(AcousticInput, ClipsShorterThanOnePooledFrameHaveNoInput)
{
    FrameDescriptors d;
    d.frames = kAcousticPool - 1;
    d.logMelDb.resize(static_cast<size_t>(d.frames));
    int frames = -1;
    EXPECT_TRUE(acousticNetInput(d, frames).empty());
    EXPECT_EQ(frames, 0);
    EXPECT_EQ(acousticNetLogit(committedAcousticNet(), {}, 0), 0.0);
}

} // namespace
} // namespace tmk::analysis
