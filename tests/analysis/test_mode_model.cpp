// The mode classifier (engine/analysis/mode_model.h): its inputs are the same in every key, its fit learns
// a rule from labelled songs, an empty model leaves the key score's choice, and the committed model is whole.
#include <gtest/gtest.h>
#include <random>

#include "analysis/mode_model.h"

namespace tmk::analysis {
namespace {

KeyEstimate randomKey(std::mt19937& rng)
{
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    KeyEstimate key;
    for (double& v : key.profile) v = unit(rng);
    key.majorTonic = static_cast<int>(rng() % 12);
    key.minorTonic = (key.majorTonic + 9) % 12;
    key.modeMargin = unit(rng) - 0.5;
    key.mode = key.modeMargin >= 0.0 ? 1 : 0;
    key.tonic = key.mode == 1 ? key.majorTonic : key.minorTonic;
    return key;
}

TEST(ModeModel, FeaturesAreTheSameInEveryKey)
{
    std::mt19937 rng(1);
    const KeyEstimate key = randomKey(rng);
    const ModeFeatures reference = modeFeatures(key);
    EXPECT_EQ(reference[48], 1.0); // the best minor key is the relative minor
    for (int shift = 1; shift < 12; ++shift) {
        KeyEstimate moved = key;
        for (int block = 0; block < 4; ++block)
            for (int pc = 0; pc < 12; ++pc)
                moved.profile[block * 12 + (pc + shift) % 12] = key.profile[block * 12 + pc];
        moved.majorTonic = (key.majorTonic + shift) % 12;
        moved.minorTonic = (key.minorTonic + shift) % 12;
        EXPECT_EQ(modeFeatures(moved), reference) << "shifted by " << shift;
    }
}

TEST(ModeModel, TheFitLearnsWhereTheBassSits)
{
    // Minor songs have their bass on the relative minor's tonic (pitch class 9 above the major tonic), major
    // songs on the major tonic: the rule a world song's bass follows.
    std::mt19937 rng(2);
    auto songs = [&](int count, std::vector<ModeFeatures>& features, std::vector<int>& minor) {
        for (int i = 0; i < count; ++i) {
            KeyEstimate key = randomKey(rng);
            const bool isMinor = i % 2 == 1;
            key.profile[12 + (key.majorTonic + (isMinor ? 9 : 0)) % 12] += 1.5;
            features.push_back(modeFeatures(key));
            minor.push_back(isMinor ? 1 : 0);
        }
    };
    std::vector<ModeFeatures> train, test;
    std::vector<int> trainMinor, testMinor;
    songs(400, train, trainMinor);
    songs(200, test, testMinor);
    const ModeModel model = fitModeModel(train, trainMinor, 1e-3);
    ASSERT_EQ(model.weight.size(), static_cast<size_t>(kModeFeatures));
    int right = 0;
    for (size_t i = 0; i < test.size(); ++i) right += (model.logit(test[i]) >= 0.0 ? 1 : 0) == testMinor[i];
    EXPECT_GE(right, 196) << "of 200";
    EXPECT_GT(model.weight[12 + 9], 0.0); // bass on the relative minor's tonic votes minor
    EXPECT_LT(model.weight[12 + 0], 0.0); // bass on the major tonic votes major
}

TEST(ModeModel, AnEmptyModelLeavesTheKeyScoresChoice)
{
    std::mt19937 rng(3);
    KeyEstimate key = randomKey(rng);
    const KeyEstimate before = key;
    applyModeModel(ModeModel {}, key);
    EXPECT_EQ(key.mode, before.mode);
    EXPECT_EQ(key.tonic, before.tonic);
    EXPECT_EQ(ModeModel {}.logit(modeFeatures(key)), 0.0);
}

TEST(ModeModel, TheCommittedModelIsWholeAndSetsTheTonicWithTheMode)
{
    const ModeModel& model = committedModeModel();
    ASSERT_EQ(model.weight.size(), static_cast<size_t>(kModeFeatures));
    ASSERT_EQ(model.mean.size(), static_cast<size_t>(kModeFeatures));
    ASSERT_EQ(model.scale.size(), static_cast<size_t>(kModeFeatures));
    std::mt19937 rng(4);
    for (int i = 0; i < 20; ++i) {
        KeyEstimate key = randomKey(rng);
        applyModeModel(model, key);
        EXPECT_EQ(key.tonic, key.mode == 1 ? key.majorTonic : key.minorTonic);
    }
}

} // namespace
} // namespace tmk::analysis
