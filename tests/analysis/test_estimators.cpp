// The learned estimators' fitting and gating (engine/analysis/estimators.h, calibration.h): speechiness and
// liveness read a floor unless their presence model finds speech or a crowd, and the amount models rank the
// songs that have them. On synthetic feature vectors whose truth is known, and on audio made here.
#include <gtest/gtest.h>
#include <random>

#include "analysis/calibration.h"
#include "analysis/model_fit.h"
#include "signals.h"
#include "tastemaker/analysis.h"

namespace tmk::analysis {
namespace {

constexpr int kSpeechFeature = 3, kSpeechAmountFeature = 4, kCrowdFeature = 7, kCrowdAmountFeature = 8,
              kReverbFeature = 9;

// Songs whose features carry their speech, crowd and reverb (plus noise), with the world's truth formulas.
std::vector<WorldSong> syntheticSongs(int count, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<WorldSong> songs(count);
    for (WorldSong& s : songs) {
        for (double& f : s.measured.features) f = noise(rng);
        const bool spoken = unit(rng) < 0.25, live = unit(rng) < 0.3;
        const double share = spoken ? 0.15 + 0.6 * unit(rng) : 0.0, crowd = live ? 0.25 + 0.75 * unit(rng) : 0.0;
        const double reverb = live ? 0.3 + 0.5 * unit(rng) : 0.4 * unit(rng);
        s.measured.features[kSpeechFeature] = (spoken ? 2.0 : -2.0) + 0.5 * noise(rng);
        s.measured.features[kSpeechAmountFeature] = 4.0 * share + 0.1 * noise(rng);
        s.measured.features[kCrowdFeature] = (live ? 2.0 : -2.0) + 0.5 * noise(rng);
        s.measured.features[kCrowdAmountFeature] = 2.0 * crowd + 0.1 * noise(rng);
        s.measured.features[kReverbFeature] = 3.0 * reverb + 0.1 * noise(rng);
        for (const char* metric :
            { "tempo", "mode", "energy", "danceability", "acousticness", "valence", "instrumentalness" })
            s.truth[metric] = unit(rng);
        s.truth["speechiness"] = 0.03 + 0.9 * share;
        s.truth["liveness"] = 0.05 + 0.75 * crowd + 0.15 * reverb;
    }
    return songs;
}

TEST(GatedEstimators, FitPresenceAmountAndStudioModels)
{
    std::string log;
    const std::vector<LinearModel> models = fitEstimators(syntheticSongs(600, 1), 0.01, log);
    for (const char* name : { "speechiness", kSpeechPresence, "liveness", kLivePresence, kStudioLiveness })
        EXPECT_EQ(
            std::count_if(models.begin(), models.end(), [&](const LinearModel& m) { return m.metric == name; }), 1)
            << name << "\n"
            << log;

    const std::vector<WorldSong> test = syntheticSongs(300, 2);
    std::vector<double> speechEstimate, speechTruth, liveEstimate, liveTruth;
    int floorWhenSilent = 0, silent = 0, aboveFloorWhenSpoken = 0, spoken = 0, liveSplitRight = 0;
    for (const WorldSong& s : test) {
        const double speech = estimateMetric(models, "speechiness", s.measured.features);
        const double live = estimateMetric(models, "liveness", s.measured.features);
        if (s.truth.at("speechiness") > kSpokenTruth) {
            ++spoken;
            aboveFloorWhenSpoken += speech > kSpeechFloor;
        } else {
            ++silent;
            floorWhenSilent += speech == kSpeechFloor;
        }
        liveSplitRight += (s.truth.at("liveness") > kLiveTruth) == (live >= kLiveFloor);
        speechEstimate.push_back(speech);
        speechTruth.push_back(s.truth.at("speechiness"));
        liveEstimate.push_back(live);
        liveTruth.push_back(s.truth.at("liveness"));
    }
    // The presence features separate the classes by 8 standard deviations of their noise.
    EXPECT_EQ(floorWhenSilent, silent);
    EXPECT_EQ(aboveFloorWhenSpoken, spoken);
    EXPECT_EQ(liveSplitRight, static_cast<int>(test.size()));
    // The amount models rank within each class, so the whole ranking follows the truth.
    EXPECT_GT(spearman(speechEstimate, speechTruth), 0.9);
    EXPECT_GT(spearman(liveEstimate, liveTruth), 0.9);
}

TEST(GatedEstimators, ChordsAloneHaveNoSpeechAndNoCrowd)
{
    for (bool major : { true, false }) {
        const AudioMetrics m = analyseSignal(test::cadence(60, major, kAnalysisSampleRate), kAnalysisSampleRate);
        EXPECT_EQ(m.speechiness, kSpeechFloor) << "major " << major;
        EXPECT_LT(m.liveness, kLiveFloor) << "major " << major;
    }
}

TEST(GatedEstimators, TheAnalyserNamesItsVersionAndModels)
{
    const std::string identity = analyserIdentity();
    EXPECT_EQ(identity.rfind("analyser " + std::to_string(kAnalyserVersion) + ", models sha256:", 0), 0u) << identity;
    EXPECT_EQ(identity.size(), ("analyser " + std::to_string(kAnalyserVersion) + ", models sha256:").size() + 16)
        << identity;
    EXPECT_EQ(identity, analyserIdentity());
}

} // namespace
} // namespace tmk::analysis
