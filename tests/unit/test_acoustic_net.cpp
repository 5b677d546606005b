// The Analyser's acoustic-share net (engine/analysis/acoustic_net.h) and its trainer
// (engine/devtools/acoustic_net_training.cpp): the torch-free forward pass equals libtorch's conv1d on the
// same flat weights, the trainer learns a separable toy problem, bad input is refused, and the committed
// weights have the shape they claim.
#include <cmath>
#include <gtest/gtest.h>
#include <random>

#include "analysis/acoustic_net.h"
#include "tastemaker/devtools/acoustic_net_training.h"

namespace tmk {
namespace {

using analysis::kMelBands;

AcousticExample randomExample(int frames, std::mt19937& rng)
{
    std::normal_distribution<float> noise(0.0f, 1.0f);
    AcousticExample e;
    e.frames = frames;
    e.input.resize(static_cast<size_t>(kMelBands) * frames);
    for (float& x : e.input) x = noise(rng);
    return e;
}

// A toy "acoustic" song: its energy decays after each onset in the low bands; an "electronic" one holds it.
AcousticExample toyExample(bool acoustic, std::mt19937& rng)
{
    std::normal_distribution<float> noise(0.0f, 0.3f);
    AcousticExample e;
    e.frames = 96;
    e.input.resize(static_cast<size_t>(kMelBands) * e.frames);
    for (int b = 0; b < kMelBands; ++b)
        for (int t = 0; t < e.frames; ++t) {
            const double level = b < kMelBands / 2 ? (acoustic ? std::exp(-0.3 * (t % 12)) : 0.6) : 0.2;
            e.input[static_cast<size_t>(b) * e.frames + t] = static_cast<float>(level) + noise(rng);
        }
    e.share = acoustic ? 0.8 : 0.2;
    for (int i = 0; i < kAcousticRoles; ++i) e.parts[static_cast<size_t>(i)] = acoustic ? 1 : 0;
    e.parts[3] = -1; // no pad
    return e;
}

TEST(AcousticNet, TheAnalysersForwardPassEqualsLibtorchs)
{
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> weight(-0.3f, 0.3f);
    analysis::AcousticNet net;
    net.channels = 6;
    net.dilations = { 1, 2, 4, 8 };
    net.weights.resize(net.expectedWeights());
    for (float& w : net.weights) w = weight(rng);
    // Clips shorter than the receptive field (31 frames) included: the zero padding must agree too.
    std::vector<AcousticExample> songs;
    for (int frames : { 1, 5, 17, 64, 301 }) songs.push_back(randomExample(frames, rng));
    const std::vector<double> reference = acousticNetTorchLogits(net, songs);
    ASSERT_EQ(reference.size(), songs.size());
    for (size_t i = 0; i < songs.size(); ++i) {
        const double ours = analysis::acousticNetLogit(net, songs[i].input, songs[i].frames);
        EXPECT_NEAR(ours, reference[i], 1e-4 * (1.0 + std::abs(reference[i]))) << songs[i].frames << " frames";
        EXPECT_NE(ours, 0.0);
    }
}

TEST(AcousticNet, AMisshapenNetOrInputReadsZero)
{
    std::mt19937 rng(4);
    analysis::AcousticNet net;
    net.channels = 4;
    net.dilations = { 1 };
    net.weights.assign(net.expectedWeights() - 1, 0.1f);
    const AcousticExample song = randomExample(10, rng);
    EXPECT_EQ(analysis::acousticNetLogit(net, song.input, song.frames), 0.0);
    net.weights.push_back(0.1f);
    EXPECT_NE(analysis::acousticNetLogit(net, song.input, song.frames), 0.0);
    EXPECT_EQ(analysis::acousticNetLogit(net, song.input, song.frames + 1), 0.0);
}

TEST(AcousticNet, TrainingSeparatesDecayingFromHeldSounds)
{
    std::mt19937 rng(5);
    std::vector<AcousticExample> train, validation;
    for (int i = 0; i < 64; ++i) train.push_back(toyExample(i % 2 == 0, rng));
    for (int i = 0; i < 20; ++i) validation.push_back(toyExample(i % 2 == 0, rng));
    AcousticTrainingOptions options;
    options.channels = 8;
    options.epochs = 20;
    options.learningRate = 1e-2;
    options.cropFrames = 48;
    options.batch = 16;
    std::vector<AcousticEpoch> epochs;
    Expected<analysis::AcousticNet> net
        = trainAcousticNet(train, validation, options, [&](const AcousticEpoch& e) { epochs.push_back(e); });
    ASSERT_TRUE(net) << net.error().message;
    ASSERT_EQ(epochs.size(), 20u);
    EXPECT_LT(epochs.back().loss, epochs.front().loss);
    EXPECT_GE(epochs.back().accuracy, 0.95);
    EXPECT_EQ(net->weights.size(), net->expectedWeights());
    int right = 0;
    for (const AcousticExample& song : validation)
        right += (analysis::acousticNetLogit(*net, song.input, song.frames) >= 0.0) == (song.share >= 0.5);
    EXPECT_GE(right, 19);

    // The same seed gives the same weights.
    Expected<analysis::AcousticNet> again = trainAcousticNet(train, {}, options, nullptr);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->weights, net->weights);
}

TEST(AcousticNet, BadOptionsAndExamplesAreRefused)
{
    std::mt19937 rng(6);
    std::vector<AcousticExample> train { toyExample(true, rng) };
    AcousticTrainingOptions options;
    options.dilations = {};
    EXPECT_FALSE(trainAcousticNet(train, {}, options, nullptr));
    options = {};
    options.learningRate = 0.0;
    EXPECT_FALSE(trainAcousticNet(train, {}, options, nullptr));
    options = {};
    EXPECT_FALSE(trainAcousticNet({}, {}, options, nullptr));
    train[0].share = 1.5;
    Expected<analysis::AcousticNet> net = trainAcousticNet(train, {}, options, nullptr);
    ASSERT_FALSE(net);
    EXPECT_NE(net.error().message.find("share"), std::string::npos) << net.error().message;
    train[0].share = 0.5;
    train[0].input.pop_back();
    net = trainAcousticNet(train, {}, options, nullptr);
    ASSERT_FALSE(net);
    EXPECT_NE(net.error().message.find("misshapen"), std::string::npos) << net.error().message;
}

TEST(AcousticNet, CancellingStopsTraining)
{
    std::mt19937 rng(7);
    std::vector<AcousticExample> train { toyExample(true, rng), toyExample(false, rng) };
    CancelToken cancel;
    cancel.requestCancel();
    Expected<analysis::AcousticNet> net = trainAcousticNet(train, {}, AcousticTrainingOptions {}, nullptr, &cancel);
    ASSERT_FALSE(net);
    EXPECT_EQ(net.error().code, ErrorCode::Cancelled);
}

TEST(AcousticNet, TheCommittedNetHasTheShapeItClaims)
{
    const analysis::AcousticNet& net = analysis::committedAcousticNet();
    EXPECT_GT(net.channels, 0);
    EXPECT_FALSE(net.dilations.empty());
    EXPECT_EQ(net.weights.size(), net.expectedWeights());
    for (float w : net.weights) ASSERT_TRUE(std::isfinite(w));
}

} // namespace
} // namespace tmk
