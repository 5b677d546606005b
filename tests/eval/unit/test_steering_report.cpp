// The steering report's figures and files (tastemaker/steering_report.h) on synthetic clips: one slider that moves
// its own metric, one latent slider that moves tempo only.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tastemaker/analysis.h"
#include "tastemaker/fileio.h"
#include "tastemaker/steering_report.h"
#include "testsupport.h"
#include "world/rng.h"

namespace fs = std::filesystem;
using namespace tmk;
using nlohmann::json;

namespace {

size_t column(const std::string& name)
{
    const std::vector<std::string>& columns = steeringColumns();
    return static_cast<size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
}

// energy moves energy by 0.2 per unit; popularity (latent) moves tempo by 10 BPM per unit; mode never changes.
SteeringEvalRun syntheticRun(int64_t seeds)
{
    SteeringEvalRun run;
    run.params.sliders = { "energy", "popularity" };
    run.params.prompts = { "jazz", "folk, \"quoted\"" };
    run.params.values = { -1, 0, 1 };
    run.params.seeds = seeds;
    run.params.bootstrapResamples = 500;
    run.clipsPlanned = 2 * 3 * 2 * seeds;
    world::Rng rng(7);
    for (const std::string& slider : run.params.sliders)
        for (double value : run.params.values)
            for (int64_t seed = 0; seed < seeds; ++seed)
                for (const std::string& prompt : run.params.prompts) {
                    std::vector<double> measured(steeringColumns().size());
                    for (double& m : measured) m = 0.5 + 0.05 * rng.normal();
                    measured[column("mode")] = 1.0;
                    measured[column("tempo")]
                        = 120.0 + 3.0 * rng.normal() + (slider == "popularity" ? 10.0 * value : 0);
                    if (slider == "energy") measured[column("energy")] += 0.2 * value;
                    run.clips.push_back({ slider, value, static_cast<uint64_t>(seed), prompt, measured });
                }
    return run;
}

SteeringReportInfo info()
{
    SteeringReportInfo info;
    info.model = "tiny (sha256:0)";
    info.bank = "bank (sha256:1)";
    info.analyser = analyserIdentity();
    info.sliderMetrics = { "popularity", "energy", "tempo", "valence" };
    return info;
}

std::string fileText(const fs::path& path)
{
    Expected<std::string> text = readFileText(path);
    EXPECT_TRUE(text) << path;
    return text ? *text : std::string();
}

} // namespace

TEST(SteeringReport, MeasuresTheOnTargetEffectAndItsInterference)
{
    const SteeringReport report = buildSteeringReport(syntheticRun(8), info());
    ASSERT_EQ(report.sliders.size(), 2u);
    const SteeringSliderReport& energy = report.sliders[0];
    EXPECT_EQ(energy.metric, "energy");
    EXPECT_TRUE(energy.measurable);
    EXPECT_EQ(energy.clips, 48);
    ASSERT_TRUE(energy.difference && energy.difference->low && energy.difference->high);
    EXPECT_NEAR(energy.difference->value, 0.4, 0.05);
    EXPECT_GT(*energy.difference->low, 0.0);
    EXPECT_LT(*energy.difference->low, 0.4);
    EXPECT_GT(*energy.difference->high, 0.4);
    ASSERT_TRUE(energy.standardisedEffect && energy.standardisedEffect->low);
    EXPECT_GT(*energy.standardisedEffect->low, 2.0);
    ASSERT_TRUE(energy.spearman);
    EXPECT_GT(*energy.spearman, 0.8);
    ASSERT_TRUE(energy.interferenceRatio);
    EXPECT_LT(*energy.interferenceRatio, 0.5);
    ASSERT_EQ(energy.curve.size(), 3u);
    EXPECT_EQ(energy.curve[0].clips, 16);
    EXPECT_LT(energy.curve[0].mean, energy.curve[2].mean);
    EXPECT_EQ(energy.spearmanOfMeans, std::optional<double>(1.0)) << "the means rise at every step";
    EXPECT_FALSE(energy.effects[column("mode")]) << "mode never changes: its effect is undefined, not 0";
}

TEST(SteeringReport, LatentSlidersHaveNoOnTargetFiguresButTheirOffTargetEffects)
{
    const SteeringReport report = buildSteeringReport(syntheticRun(8), info());
    const SteeringSliderReport& popularity = report.sliders[1];
    EXPECT_EQ(popularity.metric, "popularity");
    EXPECT_FALSE(popularity.measurable);
    EXPECT_FALSE(popularity.difference);
    EXPECT_FALSE(popularity.standardisedEffect);
    EXPECT_FALSE(popularity.spearman);
    EXPECT_FALSE(popularity.spearmanOfMeans);
    EXPECT_FALSE(popularity.interferenceRatio);
    EXPECT_TRUE(popularity.curve.empty());
    ASSERT_TRUE(popularity.effects[column("tempo")]);
    EXPECT_GT(*popularity.effects[column("tempo")], 3.0);
    EXPECT_EQ(popularity.largestOffTarget, std::optional<std::string>("tempo"));
}

TEST(SteeringReport, WritesTheFilesAndTheSameBytesTwice)
{
    const SteeringReport report = buildSteeringReport(syntheticRun(3), info());
    const fs::path a = test::freshOutDir("steering_report_a"), b = test::freshOutDir("steering_report_b");
    ASSERT_TRUE(writeSteeringReport(a, report));
    ASSERT_TRUE(writeSteeringReport(b, buildSteeringReport(syntheticRun(3), info())));
    for (const char* name : { "report.json", "report.csv", "interference.csv", "interference.png", "energy.png" })
        EXPECT_EQ(fileText(a / name), fileText(b / name)) << name;
    EXPECT_FALSE(fs::exists(a / "popularity.png")) << "a latent slider has no measured curve to plot";
    EXPECT_EQ(fileText(a / "energy.png").substr(0, 8), "\x89PNG\r\n\x1a\n");

    const std::string csv = fileText(a / "report.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 36);
    EXPECT_EQ(csv.substr(0, csv.find('\n')),
        "slider,value,seed,prompt,tempo,loudness,mode,energy,danceability,acousticness,valence,instrumentalness,"
        "speechiness,liveness");
    EXPECT_NE(csv.find("\"folk, \"\"quoted\"\"\""), std::string::npos) << "prompts are quoted as CSV fields";
    const std::string matrix = fileText(a / "interference.csv");
    EXPECT_EQ(std::count(matrix.begin(), matrix.end(), '\n'), 3);

    const json j = json::parse(fileText(a / "report.json"));
    EXPECT_EQ(j["format"], "tastemaker-steering-report");
    EXPECT_EQ(j["clips"], 36);
    EXPECT_EQ(j["complete"], true);
    EXPECT_EQ(j["values"], json::array({ -1.0, 0.0, 1.0 }));
    ASSERT_EQ(j["sliders"].size(), 2u);
    EXPECT_EQ(j["sliders"][0]["plot"], "energy.png");
    EXPECT_TRUE(j["sliders"][0]["standardised_effect"]["ci95"].is_array());
    EXPECT_TRUE(j["sliders"][1]["difference"].is_null());
    EXPECT_TRUE(j["sliders"][1]["spearman"].is_null());
    EXPECT_TRUE(j["sliders"][1]["interference_ratio"].is_null());
    EXPECT_TRUE(j["sliders"][1]["effects"]["tempo"].is_number());
    EXPECT_TRUE(j["sliders"][1]["effects"]["mode"].is_null());
    EXPECT_EQ(j["interference"]["rows"], json::array({ "energy", "popularity" }));
    EXPECT_EQ(j["interference"]["effects"][1].size(), steeringColumns().size());
}

TEST(SteeringReport, ACancelledRunIsMarkedIncomplete)
{
    SteeringEvalRun run = syntheticRun(2);
    run.clips.resize(10); // energy's 4 clips at -1 and 4 at 0, and 2 of its 4 at +1
    run.cancelled = true;
    const SteeringReport report = buildSteeringReport(run, info());
    EXPECT_FALSE(report.complete);
    EXPECT_EQ(report.clipsDone, 10);
    ASSERT_EQ(report.sliders.size(), 1u) << "a slider without clips is left out";
    EXPECT_EQ(report.sliders[0].clips, 10);
}

TEST(SteeringReport, ParamsAreChecked)
{
    SteeringEvalParams params;
    EXPECT_TRUE(params.validate());
    params.values = { -1, 2.5 };
    EXPECT_FALSE(params.validate());
    params.values = { 1, 1 };
    EXPECT_FALSE(params.validate());
    params.values = { 1 };
    EXPECT_FALSE(params.validate());
    params.values = { 1, -1 };
    params.seeds = 0;
    EXPECT_FALSE(params.validate());
    params.seeds = 1;
    EXPECT_EQ(params.resolved().values, (std::vector<double> { -1, 1 }));
    EXPECT_EQ(params.resolved().prompts, defaultSteeringPrompts());
}

TEST(SteeringReport, ColumnsFollowTheAnalysersCsv)
{
    EXPECT_EQ(steeringColumns(),
        (std::vector<std::string> { "tempo", "loudness", "mode", "energy", "danceability", "acousticness", "valence",
            "instrumentalness", "speechiness", "liveness" }));
    AudioMetrics metrics;
    metrics.tempoBpm = 123;
    metrics.loudnessLufs = -14;
    metrics.mode = 0;
    metrics.liveness = 0.25;
    const std::vector<double> values = steeringMeasurements(metrics);
    EXPECT_EQ(values[0], 123);
    EXPECT_EQ(values[1], -14);
    EXPECT_EQ(values[2], 0);
    EXPECT_EQ(values[9], 0.25);
    metrics.tempoBpm = 0; // no pulse
    EXPECT_TRUE(std::isnan(steeringMeasurements(metrics)[0]));
}

TEST(SteeringReport, MissingMeasurementsAreLeftOut)
{
    SteeringEvalRun run = syntheticRun(4);
    for (size_t i = 0; i < run.clips.size(); i += 2) run.clips[i].measured[column("tempo")] = NAN;
    const SteeringReport some = buildSteeringReport(run, info());
    EXPECT_TRUE(some.sliders[1].effects[column("tempo")]) << "half of the tempos are enough";
    EXPECT_GT(*some.sliders[1].effects[column("tempo")], 3.0);
    for (SteeringClip& clip : run.clips) clip.measured[column("tempo")] = NAN;
    const SteeringReport none = buildSteeringReport(run, info());
    EXPECT_FALSE(none.sliders[1].effects[column("tempo")]);
    EXPECT_TRUE(none.sliders[0].effects[column("energy")]);
    const fs::path dir = test::freshOutDir("steering_report_missing");
    ASSERT_TRUE(writeSteeringReport(dir, none));
    const std::string csv = fileText(dir / "report.csv");
    EXPECT_NE(csv.find("energy,-1,0,jazz,,"), std::string::npos) << "a missing tempo is an empty cell: " << csv;
    EXPECT_EQ(csv.find("nan"), std::string::npos);
}

TEST(SteeringReport, ReadsBackWhatItWrote)
{
    const SteeringReport written = buildSteeringReport(syntheticRun(3), info());
    const fs::path dir = test::freshOutDir("steering_report_read");
    ASSERT_TRUE(writeSteeringReport(dir, written));
    Expected<SteeringReport> read = readSteeringReport(dir);
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(read->info.model, written.info.model);
    EXPECT_EQ(read->info.analyser, written.info.analyser);
    EXPECT_EQ(read->params.prompts, written.params.prompts);
    EXPECT_EQ(read->params.values, written.params.values);
    EXPECT_EQ(read->params.sliders, written.params.sliders);
    EXPECT_EQ(read->params.bootstrapResamples, 500);
    EXPECT_EQ(read->columns, steeringColumns());
    EXPECT_EQ(read->clipsDone, 36);
    EXPECT_TRUE(read->complete);
    ASSERT_EQ(read->sliders.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        const SteeringSliderReport &a = written.sliders[i], &b = read->sliders[i];
        EXPECT_EQ(a.metric, b.metric);
        EXPECT_EQ(a.measurable, b.measurable);
        EXPECT_EQ(a.clips, b.clips);
        EXPECT_EQ(a.difference.has_value(), b.difference.has_value());
        if (a.difference) {
            EXPECT_EQ(a.difference->low, b.difference->low);
        }
        EXPECT_EQ(a.spearman, b.spearman);
        EXPECT_EQ(a.spearmanOfMeans, b.spearmanOfMeans);
        EXPECT_EQ(a.interferenceRatio, b.interferenceRatio);
        EXPECT_EQ(a.largestOffTarget, b.largestOffTarget);
        EXPECT_EQ(a.curve.size(), b.curve.size());
        EXPECT_EQ(a.effects, b.effects) << "null effects stay undefined";
    }
    ASSERT_EQ(read->clips.size(), written.clips.size());
    EXPECT_EQ(read->clips[5].prompt, written.clips[5].prompt) << "quoted prompts come back";
    EXPECT_EQ(read->clips[5].seed, written.clips[5].seed);
    EXPECT_NEAR(read->clips[5].measured[column("tempo")], written.clips[5].measured[column("tempo")], 1e-3);

    ASSERT_TRUE(std::filesystem::remove(dir / "report.csv"));
    read = readSteeringReport(dir);
    ASSERT_TRUE(read) << "report.csv is optional";
    EXPECT_TRUE(read->clips.empty());
}

TEST(SteeringReport, ReadErrorsNameTheFileAndTheProblem)
{
    const fs::path dir = test::freshOutDir("steering_report_read_bad");
    Expected<SteeringReport> missing = readSteeringReport(dir);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("report.json"), std::string::npos) << missing.error().message;

    const auto readWith = [&](const std::string& text) {
        EXPECT_TRUE(writeFileAtomic(dir / "report.json", std::string_view(text)));
        Expected<SteeringReport> read = readSteeringReport(dir);
        EXPECT_FALSE(read);
        return read ? std::string() : read.error().message;
    };
    EXPECT_NE(readWith("{ \"format\": ").find("is not valid JSON"), std::string::npos);
    EXPECT_NE(readWith("[1, 2]").find("is not a JSON object"), std::string::npos);
    EXPECT_NE(readWith("{ \"format\": \"something else\" }").find("is not a steering report"), std::string::npos);

    ASSERT_TRUE(writeSteeringReport(dir, buildSteeringReport(syntheticRun(2), info())));
    json report = json::parse(fileText(dir / "report.json"));
    report["sliders"][1]["spearman"] = "high";
    std::string message = readWith(report.dump());
    EXPECT_NE(message.find((dir / "report.json").string()), std::string::npos) << message;
    EXPECT_NE(message.find("sliders[1]"), std::string::npos) << message;
    EXPECT_NE(message.find("spearman"), std::string::npos) << message;
    report = json::parse(fileText(dir / "report.json"));
    report["version"] = 7;
    EXPECT_NE(readWith(report.dump()).find("version 7"), std::string::npos);
    report["version"] = 1;
    report["sliders"][0]["effects"].erase("mode");
    EXPECT_NE(readWith(report.dump()).find("\"mode\""), std::string::npos);
}

TEST(SteeringReport, AResumedRunReusesOnlyClipsOfUnchangedAdaptersListedSeedsAndTheBaseModel)
{
    SteeringEvalRun run = syntheticRun(2);
    SteeringReportInfo before = info();
    before.adapters = { { "energy", "sha256:e" }, { "popularity", "sha256:p" } };
    SteeringReport previous = buildSteeringReport(run, before);
    previous.clips = run.clips;
    SteeringReportInfo now = before;
    now.adapters["popularity"] = "sha256:retrained";
    SteeringEvalParams params = run.params;
    params.seeds = 1; // seed 0 only
    Expected<std::vector<SteeringClip>> reused = reusableSteeringClips(previous, now, params);
    ASSERT_TRUE(reused.ok()) << reused.error().message;
    // energy: 3 values x 2 prompts of seed 0; popularity (retrained): only its value-0 clips, the base model's.
    EXPECT_EQ(reused->size(), 8u);
    for (const SteeringClip& clip : *reused) {
        EXPECT_EQ(clip.seed, 0u);
        if (clip.slider == "popularity") {
            EXPECT_EQ(clip.value, 0.0);
        }
    }
    // No prompts given means the default ones, which the earlier run may have used.
    SteeringReport withDefaults = previous;
    withDefaults.params.prompts = defaultSteeringPrompts();
    SteeringEvalParams defaults = params;
    defaults.prompts.clear();
    EXPECT_TRUE(reusableSteeringClips(withDefaults, now, defaults).ok());
    // Clips measured by another analyser (or by one too old to record itself) would mix two scales.
    for (const std::string& analyser : { std::string("analyser 1, models sha256:0"), std::string() }) {
        SteeringReport measuredElsewhere = previous;
        measuredElsewhere.info.analyser = analyser;
        Expected<std::vector<SteeringClip>> refused = reusableSteeringClips(measuredElsewhere, now, params);
        ASSERT_FALSE(refused.ok());
        EXPECT_NE(refused.error().message.find("analyser"), std::string::npos) << refused.error().message;
    }
    params.prompts = { "jazz" };
    Expected<std::vector<SteeringClip>> otherPrompts = reusableSteeringClips(previous, now, params);
    ASSERT_FALSE(otherPrompts.ok());
    EXPECT_NE(otherPrompts.error().message.find("prompts"), std::string::npos) << otherPrompts.error().message;
}

TEST(SteeringReport, TargetsFollowTheIssue)
{
    const SteeringReport report = buildSteeringReport(syntheticRun(8), info());
    const SteeringTargets energy = steeringTargets(report.sliders[0]);
    EXPECT_EQ(energy.effect, TargetResult::Met);
    EXPECT_EQ(energy.spearman, TargetResult::Met);
    EXPECT_EQ(energy.interference, TargetResult::Met);
    EXPECT_TRUE(energy.allMet());
    const SteeringTargets popularity = steeringTargets(report.sliders[1]);
    EXPECT_EQ(popularity.effect, TargetResult::NotMeasurable);
    EXPECT_FALSE(popularity.allMet());

    SteeringSliderReport weak = report.sliders[0];
    weak.difference->low = -0.01; // the interval includes 0
    weak.spearman = 0.79;
    weak.interferenceRatio = 0.5;
    const SteeringTargets missed = steeringTargets(weak);
    EXPECT_EQ(missed.effect, TargetResult::Missed);
    EXPECT_EQ(missed.spearman, TargetResult::Missed);
    EXPECT_EQ(missed.interference, TargetResult::Missed);
    weak.spearman.reset();
    EXPECT_EQ(steeringTargets(weak).spearman, TargetResult::Missed) << "an undefined figure misses its target";
}
