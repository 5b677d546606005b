// `tastemaker-cli evaluate` and the evaluation job end to end on the tiny public model and its 26-adapter fixture
// bank: half-second clips, two seeds, one prompt, two sliders (energy is measured, popularity is latent). The tiny
// model's clips have no pulse, so their tempo is missing throughout.
#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.h"
#include "tastemaker/adapters.h"
#include "tastemaker/fileio.h"
#include "tastemaker/metrics.h"
#include "tastemaker/steering.h"
#include "tastemaker/steering_report.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace tmk;
using nlohmann::json;
using test::runProcess;

namespace {

std::string model()
{
    return (test::dataDir() / "musicgen-tiny-public").string();
}
std::string bank()
{
    return (test::dataDir() / "adapters-tiny-public" / "bank").string();
}

// Equal, with a missing value (NaN) equal to a missing value.
bool sameMeasurements(const std::vector<double>& a, const std::vector<double>& b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
        [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); });
}

std::string fileText(const fs::path& path)
{
    Expected<std::string> text = readFileText(path);
    EXPECT_TRUE(text) << path;
    return text ? *text : std::string();
}

test::ProcessResult evaluate(const fs::path& out, const fs::path& prompts,
    const std::string& metrics = "energy,popularity", const std::string& values = "-1,1",
    const std::vector<std::string>& extra = {})
{
    std::vector<std::string> args
        = { "evaluate", "--model", model(), "--bank", bank(), "--metrics", metrics, "--prompts", prompts.string(),
              "--seeds", "2", "--values", values, "--bootstrap", "200", "--out", out.string() };
    args.insert(args.end(), extra.begin(), extra.end());
    if (std::find(extra.begin(), extra.end(), "--seconds") == extra.end())
        args.insert(args.end(), { "--seconds", "0.5" });
    return runProcess(test::cliPath().string(), args);
}

} // namespace

TEST(CliEvaluate, WritesTheReportAndTheSameReportTwice)
{
    const fs::path dir = test::freshOutDir("cli_evaluate");
    ASSERT_TRUE(writeFileAtomic(dir / "prompts.txt", std::string_view("# held out\n\njazz\n")));
    const test::ProcessResult first = evaluate(dir / "a", dir / "prompts.txt");
    ASSERT_EQ(first.exitCode, 0) << first.err;
    EXPECT_NE(first.err.find("evaluate: 8/8 clips"), std::string::npos) << first.err;
    EXPECT_NE(first.out.find("| energy |"), std::string::npos) << first.out;

    const json report = json::parse(fileText(dir / "a" / "report.json"));
    EXPECT_EQ(report["clips"], 8); // 2 sliders x 2 values x 2 seeds x 1 prompt
    EXPECT_EQ(report["complete"], true);
    EXPECT_EQ(report["prompts"], json::array({ "jazz" }));
    ASSERT_EQ(report["sliders"].size(), 2u);
    const json& energy = report["sliders"][0];
    EXPECT_EQ(energy["metric"], "energy");
    EXPECT_EQ(energy["measurable"], true);
    EXPECT_EQ(energy["curve"].size(), 2u);
    EXPECT_EQ(energy["plot"], "energy.png");
    EXPECT_TRUE(energy["standardised_effect"].is_object()) << energy.dump();
    EXPECT_TRUE(energy["spearman"].is_number()) << energy.dump();
    const json& popularity = report["sliders"][1];
    EXPECT_EQ(popularity["measurable"], false);
    for (const char* figure : { "difference", "standardised_effect", "spearman", "interference_ratio", "plot" })
        EXPECT_TRUE(popularity[figure].is_null()) << figure << " of a latent slider must not be invented";
    for (const json& slider : report["sliders"]) EXPECT_EQ(slider["effects"].size(), steeringColumns().size());
    EXPECT_EQ(report["interference"]["rows"], json::array({ "energy", "popularity" }));

    const std::string csv = fileText(dir / "a" / "report.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 8);
    EXPECT_TRUE(fs::exists(dir / "a" / "energy.png"));
    EXPECT_TRUE(fs::exists(dir / "a" / "interference.png"));
    EXPECT_TRUE(fs::exists(dir / "a" / "interference.csv"));
    EXPECT_FALSE(fs::exists(dir / "a" / "popularity.png"));

    const test::ProcessResult second = evaluate(dir / "b", dir / "prompts.txt");
    ASSERT_EQ(second.exitCode, 0) << second.err;
    EXPECT_EQ(fileText(dir / "a" / "report.json"), fileText(dir / "b" / "report.json"));
    EXPECT_EQ(csv, fileText(dir / "b" / "report.csv"));
}

TEST(CliEvaluate, AResumedRunReusesTheClipsItCanAndGivesTheUninterruptedReport)
{
    const fs::path dir = test::freshOutDir("cli_evaluate_resume");
    ASSERT_TRUE(writeFileAtomic(dir / "prompts.txt", std::string_view("jazz\nfolk\n")));
    // One slider first, then both with --resume: energy's clips (and the shared value-0 clips) are reused.
    const test::ProcessResult first = evaluate(dir / "resumed", dir / "prompts.txt", "energy", "-1,0,1");
    ASSERT_EQ(first.exitCode, 0) << first.err;
    const test::ProcessResult resumed
        = evaluate(dir / "resumed", dir / "prompts.txt", "energy,popularity", "-1,0,1", { "--resume" });
    ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
    EXPECT_NE(resumed.err.find("reusing 12 of the 12 clips"), std::string::npos) << resumed.err;
    const test::ProcessResult fresh = evaluate(dir / "fresh", dir / "prompts.txt", "energy,popularity", "-1,0,1");
    ASSERT_EQ(fresh.exitCode, 0) << fresh.err;
    EXPECT_EQ(fileText(dir / "resumed" / "report.json"), fileText(dir / "fresh" / "report.json"));
    EXPECT_EQ(fileText(dir / "resumed" / "report.csv"), fileText(dir / "fresh" / "report.csv"));
    const json report = json::parse(fileText(dir / "fresh" / "report.json"));
    EXPECT_TRUE(report["adapters"]["energy"].get<std::string>().starts_with("sha256:")) << report["adapters"];

    // Other settings make the earlier clips useless: refused, naming what differs.
    const test::ProcessResult longer
        = evaluate(dir / "resumed", dir / "prompts.txt", "energy", "-1,0,1", { "--resume", "--seconds", "0.6" });
    EXPECT_NE(longer.exitCode, 0);
    EXPECT_NE(longer.err.find("clip length"), std::string::npos) << longer.err;
    EXPECT_EQ(fileText(dir / "resumed" / "report.json"), fileText(dir / "fresh" / "report.json"))
        << "a refused resume leaves the report as it was";
}

// --jobs 2: the sliders in two processes, then one report. The decoded audio and the analyser's sums depend on
// the thread count in their last digits, so both runs use one thread a process (the jobs inherit
// OMP_NUM_THREADS); then the report is byte-identical, and the processes' folders are gone.
TEST(CliEvaluate, JobsWriteTheReportOneProcessWrites)
{
    const fs::path dir = test::freshOutDir("cli_evaluate_jobs");
    ASSERT_TRUE(writeFileAtomic(dir / "prompts.txt", std::string_view("jazz\n")));
    ::setenv("OMP_NUM_THREADS", "1", 1);
    const test::ProcessResult one = evaluate(dir / "one", dir / "prompts.txt", "energy,popularity", "-1,0,1");
    const test::ProcessResult two
        = evaluate(dir / "two", dir / "prompts.txt", "energy,popularity", "-1,0,1", { "--jobs", "2" });
    ::unsetenv("OMP_NUM_THREADS");
    ASSERT_EQ(one.exitCode, 0) << one.err;
    ASSERT_EQ(two.exitCode, 0) << two.err;
    EXPECT_NE(two.err.find("2 sliders in 2 processes"), std::string::npos) << two.err;
    EXPECT_EQ(fileText(dir / "one" / "report.json"), fileText(dir / "two" / "report.json"));
    EXPECT_EQ(fileText(dir / "one" / "report.csv"), fileText(dir / "two" / "report.csv"));
    EXPECT_FALSE(fs::exists(dir / "two" / ".jobs"));
    const test::ProcessResult bad = evaluate(dir / "bad", dir / "prompts.txt", "energy", "-1,1", { "--jobs", "0" });
    EXPECT_NE(bad.exitCode, 0);
    EXPECT_NE(bad.err.find("--jobs"), std::string::npos) << bad.err;
}

TEST(CliEvaluate, RejectsBadArgumentsNamingThem)
{
    const fs::path dir = test::freshOutDir("cli_evaluate_bad");
    ASSERT_TRUE(writeFileAtomic(dir / "prompts.txt", std::string_view("jazz\n")));
    const test::ProcessResult unknown = evaluate(dir / "out", dir / "prompts.txt", "loudness");
    EXPECT_EQ(unknown.exitCode, 2) << unknown.err;
    EXPECT_NE(unknown.err.find("loudness"), std::string::npos) << unknown.err;
    const test::ProcessResult range = evaluate(dir / "out", dir / "prompts.txt", "tempo", "-3,1");
    EXPECT_EQ(range.exitCode, 2) << range.err;
    ASSERT_TRUE(writeFileAtomic(dir / "empty.txt", std::string_view("# nothing\n")));
    const test::ProcessResult empty = evaluate(dir / "out", dir / "empty.txt");
    EXPECT_NE(empty.exitCode, 0);
    EXPECT_NE(empty.err.find("empty.txt"), std::string::npos) << empty.err;
    EXPECT_FALSE(fs::exists(dir / "out" / "report.json"));
}

TEST(SteeringEvaluation, ACancelFinishesTheGenerationUnderWayAndValueZeroIsTheBaseModel)
{
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    ASSERT_TRUE(metrics) << metrics.error().message;
    auto loaded = MusicgenModel::load(model(), {});
    ASSERT_TRUE(loaded) << loaded.error().message;
    auto steering = Steering::load(*loaded, bank(), *metrics);
    ASSERT_TRUE(steering) << steering.error().message;

    SteeringEvalParams params;
    params.sliders = { "energy", "valence" };
    params.prompts = { "jazz", "folk" };
    params.seeds = 1;
    params.values = { 0, 1 };
    params.durationSeconds = 0.5;
    const Expected<SteeringEvalRun> full = runSteeringEvaluation(*loaded, **steering, *metrics, params);
    ASSERT_TRUE(full) << full.error().message;
    ASSERT_EQ(full->clips.size(), 8u);
    EXPECT_FALSE(full->cancelled);
    // Value 0 is the base model for every slider: valence's clips at 0 are energy's.
    EXPECT_TRUE(sameMeasurements(full->clips[0].measured, full->clips[4].measured));
    EXPECT_EQ(full->clips[4].slider, "valence");
    EXPECT_TRUE((*steering)->current().empty()) << "the job leaves every slider at 0";

    // After each slider, the run so far (what `evaluate` saves, so that a killed run keeps it for --resume).
    // reportSoFarWriter writes the first slider's report and leaves the last one to the caller.
    std::vector<size_t> saved;
    const fs::path partial = test::freshOutDir("report_so_far");
    const auto writer = reportSoFarWriter(partial, {});
    SteeringEvalCallbacks checkpoints;
    checkpoints.onSliderDone = [&](const SteeringEvalRun& sofar) {
        saved.push_back(sofar.clips.size());
        EXPECT_EQ(sofar.clipsPlanned, 8);
        EXPECT_EQ(buildSteeringReport(sofar, {}).complete, sofar.clips.size() == 8u);
        writer(sofar);
    };
    ASSERT_TRUE(runSteeringEvaluation(*loaded, **steering, *metrics, params, checkpoints));
    EXPECT_EQ(saved, (std::vector<size_t> { 4, 8 }));
    const json written = json::parse(fileText(partial / "report.json"));
    EXPECT_EQ(written["clips"], 4);
    EXPECT_EQ(written["complete"], false);

    CancelToken cancel;
    SteeringEvalCallbacks callbacks;
    int64_t reports = 0;
    callbacks.cancel = &cancel;
    callbacks.onProgress = [&](const SteeringEvalProgress& progress) {
        ++reports;
        EXPECT_EQ(progress.clipsTotal, 8);
        cancel.requestCancel(); // as Ctrl+C during the first generation
    };
    const Expected<SteeringEvalRun> cancelled = runSteeringEvaluation(*loaded, **steering, *metrics, params, callbacks);
    ASSERT_TRUE(cancelled) << cancelled.error().message;
    EXPECT_TRUE(cancelled->cancelled);
    EXPECT_EQ(reports, 1);
    ASSERT_EQ(cancelled->clips.size(), 2u) << "the generation under way (both prompts of one seed) is kept";
    EXPECT_TRUE(sameMeasurements(cancelled->clips[1].measured, full->clips[1].measured));
    EXPECT_FALSE(buildSteeringReport(*cancelled, {}).complete);
}

// The app reads a bank's own report (<bank>/steering-report) when the bank opens, and each slider says what it was
// measured to do, as long as its adapters are the ones measured.
TEST(MeasuredSteering, ABanksOwnReportMeasuresTheSlidersWhoseAdaptersItMeasured)
{
    const fs::path dir = test::freshOutDir("measured_steering");
    const fs::path copy = dir / "bank";
    fs::copy(bank(), copy, fs::copy_options::recursive);
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    ASSERT_TRUE(metrics) << metrics.error().message;
    const auto summary = [&]() {
        Expected<BankSummary> read = readBankSummary(copy, *metrics);
        EXPECT_TRUE(read) << read.error().message;
        return read ? *read : BankSummary {};
    };

    Expected<std::optional<MeasuredSteering>> none = readMeasuredSteering(summary());
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_FALSE(none->has_value()) << "a bank without a report has no measurements";

    ASSERT_TRUE(writeFileAtomic(dir / "prompts.txt", std::string_view("jazz\n")));
    const test::ProcessResult run = evaluate(copy / "steering-report", dir / "prompts.txt");
    ASSERT_EQ(run.exitCode, 0) << run.err;
    Expected<std::optional<MeasuredSteering>> read = readMeasuredSteering(summary());
    ASSERT_TRUE(read) << read.error().message;
    ASSERT_TRUE(read->has_value());
    const MeasuredSteering& measured = **read;
    EXPECT_EQ(measured.seeds, 2);
    EXPECT_EQ(measured.prompts, 1u);
    EXPECT_EQ(measured.seconds, 0.5);
    ASSERT_EQ(measured.sliders.size(), 2u);
    EXPECT_TRUE(measured.sliders.at("energy").measurable);
    EXPECT_TRUE(measured.sliders.at("energy").difference.has_value());
    EXPECT_FALSE(measured.sliders.at("popularity").measurable);
    EXPECT_TRUE(measured.stale.empty());

    // energy+ retrained (here: its config rewritten): energy's figures no longer describe the bank.
    const fs::path config = copy / "energy+" / "adapter_config.json";
    ASSERT_TRUE(writeFileAtomic(config, fileText(config) + "\n"));
    Expected<std::optional<MeasuredSteering>> after = readMeasuredSteering(summary());
    ASSERT_TRUE(after && after->has_value());
    EXPECT_EQ((*after)->sliders.count("energy"), 0u);
    EXPECT_EQ((*after)->sliders.count("popularity"), 1u);
    EXPECT_EQ((*after)->stale, std::vector<std::string> { "energy" });

    ASSERT_TRUE(writeFileAtomic(copy / "steering-report" / "report.json", std::string_view("{\"format\": 7")));
    Expected<std::optional<MeasuredSteering>> broken = readMeasuredSteering(summary());
    ASSERT_FALSE(broken);
    EXPECT_NE(broken.error().message.find("report.json"), std::string::npos) << broken.error().message;
}
