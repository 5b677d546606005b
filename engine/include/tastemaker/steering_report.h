// The steering report (`tastemaker-cli evaluate`, docs/steering.md): does each slider move its metric in the
// generated music, and how much does it move the others? For every chosen slider, clips are generated at a grid of
// slider values with the other sliders at 0 (N seeds x the prompts at each value), every clip is analysed with the
// Analyser (tastemaker/analysis.h), and the report gives, per slider:
//   - the effect of the highest value against the lowest (normally +1 against -1) on the slider's own metric: the
//     difference of the means and the standardised effect, each with a seeded bootstrap 95% interval;
//   - Spearman's correlation of the measured metric with the slider value over all of the slider's clips;
//   - the interference ratio: the largest |standardised effect| on another slider's metric over the on-target one;
//   - a row of the interference matrix: the standardised effect on every measured column.
// Latent metrics (popularity, the YouTube ones, rating) have no measurement: their on-target figures are absent
// (null in report.json), never invented, and their off-target effects are reported.
//
// No torch types here. buildSteeringReport and writeSteeringReport are torch-free (tm_eval);
// runSteeringEvaluation drives a loaded model and its adapter bank (tm_eval_job).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tastemaker/analysis.h"
#include "tastemaker/cancel.h"
#include "tastemaker/error.h"
#include "tastemaker/metrics.h"

namespace tmk {

class MusicgenModel;
class Steering;
struct SteeringReportInfo;

// Prompts in the world's vocabulary (docs/world.md) that no DPO pair is prompted with, used when none are given.
const std::vector<std::string>& defaultSteeringPrompts();

struct SteeringEvalParams {
    std::vector<std::string>
        sliders; // metric ids to move, in this order; empty: every metric the bank has both poles of
    std::vector<std::string> prompts; // empty: defaultSteeringPrompts()
    int64_t seeds = 4; // sampling seeds firstSeed, firstSeed + 1, ... (each generation batches all the prompts)
    uint64_t firstSeed = 0;
    std::vector<double> values = { -1.0, -0.5, 0.0, 0.5, 1.0 }; // slider values, each within [-2, 2], distinct
    double durationSeconds = 8.0; // of each clip
    int64_t bootstrapResamples = 2000;
    uint64_t bootstrapSeed = 0;

    // Names the first field out of range (the ids are checked against the bank by runSteeringEvaluation).
    Expected<void> validate() const;
    // The values in ascending order, the prompts (defaults filled in).
    SteeringEvalParams resolved() const;
};

// The Analyser's measurements of a clip, in the order of `tastemaker-cli analyse`'s CSV: tempo, loudness, mode,
// energy, danceability, acousticness, valence, instrumentalness, speechiness, liveness.
const std::vector<std::string>& steeringColumns();
// One value per steeringColumns(); tempo is NaN (no value) when the Analyser found no pulse. The statistics leave
// out a clip's missing values.
std::vector<double> steeringMeasurements(const AudioMetrics& metrics);

struct SteeringClip {
    std::string slider; // the metric id moved
    double value = 0.0; // its slider value (every other slider at 0)
    uint64_t seed = 0;
    std::string prompt;
    std::vector<double> measured; // steeringMeasurements(): one per steeringColumns(), NaN where there is none
};

struct SteeringEvalRun {
    SteeringEvalParams params; // resolved(), with the sliders chosen
    std::vector<SteeringClip> clips; // in generation order: slider, value, seed, prompt
    int64_t clipsPlanned = 0;
    bool cancelled = false; // stopped early: `clips` holds the clips finished before the cancel
};

struct SteeringEvalProgress {
    int64_t clipsDone = 0, clipsTotal = 0;
    double elapsedSeconds = 0.0;
    double etaSeconds = -1.0; // -1: not known yet
};

struct SteeringEvalCallbacks {
    std::function<void(const SteeringEvalProgress&)> onProgress; // after every generation
    const CancelToken* cancel = nullptr; // polled before every generation; the one under way is finished
    // After each slider's clips, with the run so far (its clips are every finished slider's): what a caller saves
    // so that a process killed mid-run leaves a report whose clips a resumed run reuses.
    std::function<void(const SteeringEvalRun&)> onSliderDone;
};

// Generates and analyses every clip of `params` on the calling thread. `steering` is the model's adapter bank
// (the caller owns it; nothing else merges into it meanwhile); it is left with every slider at 0. The clips at
// value 0 are the same for every slider (the base model), so each seed's are generated once and shared.
// A cancel returns the clips done so far with `cancelled` set; errors name the slider, value and seed.
// `reuse` holds clips an earlier run made with the same model and settings (reusableSteeringClips): a (slider,
// value, seed) whose clips of every prompt are there is taken from it instead of generated.
struct BankSummary;

// The sliders a run evaluates: the `requested` ids (each a metric with both poles in the bank), or every metric
// the bank has both poles of, in metrics.json's order. Errors name the unknown metric or the missing adapter.
Expected<std::vector<std::string>> chooseSteeringSliders(
    const std::vector<std::string>& requested, const BankSummary& bank, const std::vector<MetricInfo>& metrics);

Expected<SteeringEvalRun> runSteeringEvaluation(const std::shared_ptr<const MusicgenModel>& model, Steering& steering,
    const std::vector<MetricInfo>& metrics, const SteeringEvalParams& params,
    const SteeringEvalCallbacks& callbacks = {}, const std::vector<SteeringClip>& reuse = {});

// What a report records of the model (tm_eval_job), the bank (name and content fingerprint of each folder) and the
// build, device, dtype and sampling (seeded with firstSeed). No times, so that the same run gives the same report.json.
Expected<SteeringReportInfo> steeringReportInfo(const MusicgenModel& model, const std::filesystem::path& bankDir,
    const std::vector<MetricInfo>& metrics, uint64_t firstSeed);

// ---- The report (torch-free) ----

struct Estimate {
    double value = 0.0;
    std::optional<double> low, high; // the bootstrap 95% interval; absent when it is undefined
};

struct SteeringCurvePoint {
    double value = 0.0; // slider value
    int64_t clips = 0;
    double mean = 0.0; // of the slider's own metric
    std::optional<double> low, high; // bootstrap 95% interval of the mean
};

struct SteeringSliderReport {
    std::string metric;
    bool measurable = false; // the Analyser measures this metric (it is one of steeringColumns())
    int64_t clips = 0;
    double lowValue = 0.0, highValue = 0.0; // the grid's ends the effects compare
    // On-target figures; all absent when the metric is not measurable.
    std::optional<Estimate> difference; // mean(high) - mean(low), in the metric's units
    std::optional<Estimate> standardisedEffect; // difference / pooled SD
    std::optional<double> spearman; // over every clip: the slider against prompt and seed variation
    // Over the curve: the slider values against the mean at each value (is the response monotonic?). Reported
    // beside the target, which is on `spearman`.
    std::optional<double> spearmanOfMeans;
    std::optional<double> interferenceRatio;
    std::optional<std::string> largestOffTarget; // the other slider metric with the largest |effect|
    std::vector<SteeringCurvePoint> curve; // own metric per slider value (empty when not measurable)
    std::vector<std::optional<double>> effects; // standardised effect on every column (the matrix row)
};

struct SteeringReportInfo {
    std::string model; // name and fingerprint of the model folder
    std::string bank; // of the bank folder
    std::string build; // buildIdentity()
    std::string analyser; // analyserIdentity(); empty in reports written before it was recorded
    std::string device, dtype, sampling;
    std::vector<std::string> sliderMetrics; // every metric id of metrics.json: the columns that count as off-target
    // Each slider's two adapters (the bank's metric with both poles) -> the fingerprints (fileFingerprint) of their
    // adapter_config.json and adapter_model.safetensors, "+" then "-": what a resumed run checks before it reuses
    // that slider's clips.
    std::map<std::string, std::string> adapters;
};

struct SteeringReport {
    SteeringReportInfo info;
    SteeringEvalParams params; // the run's
    std::vector<std::string> columns; // steeringColumns()
    std::vector<SteeringSliderReport> sliders; // in params.sliders order, those with at least one clip
    int64_t clipsDone = 0, clipsPlanned = 0;
    bool complete = true;
    std::vector<SteeringClip> clips;
};

// Computes every figure from the run's clips. Deterministic: the same run gives the same report.
SteeringReport buildSteeringReport(const SteeringEvalRun& run, const SteeringReportInfo& info);

// Writes into `outDir` (created when missing), each file atomically: report.json, report.csv (one row per clip),
// interference.csv, interference.png (the matrix as a heatmap: red positive, blue negative, saturating at
// |effect| 2, grey undefined), and <metric>.png per measurable slider (its metric's mean per value with the 95%
// band). report.json is byte-identical for the same report.
Expected<void> writeSteeringReport(const std::filesystem::path& outDir, const SteeringReport& report);

// A SteeringEvalCallbacks::onSliderDone that writes the report so far (buildSteeringReport, `"complete": false`)
// into `outDir` after every slider but the last, whose report the caller writes: a killed run then leaves its
// finished sliders' clips for a resumed one. A failed write goes to `onError` (when given) and the run goes on.
std::function<void(const SteeringEvalRun&)> reportSoFarWriter(
    std::filesystem::path outDir, SteeringReportInfo info, std::function<void(const Error&)> onError = {});

// Reads a report folder back: report.json, and the clips from report.csv beside it when there is one (its
// measurements round-trip exactly). info.sliderMetrics is not in report.json and stays empty. Errors name the file and
// the entry at fault (a missing or mistyped entry, another format or version, a CSV whose columns differ).
Expected<SteeringReport> readSteeringReport(const std::filesystem::path& dir);

// The clips of `previous` (a report read back with its clips) that a run of `params` on a model and bank described
// by `now` can reuse instead of generating: those of a listed seed and value whose slider's adapters have the
// fingerprint they had (and every clip at value 0, the base model's, which any slider shares). An error, naming
// the first difference, when the reports' model, analyser, device, dtype, sampling, prompts or clip length differ.
Expected<std::vector<SteeringClip>> reusableSteeringClips(
    const SteeringReport& previous, const SteeringReportInfo& now, const SteeringEvalParams& params);

// What a run of `params` writing into `outDir` can reuse of the report already there: reusableSteeringClips of it,
// and how many clips it held. Nothing when `outDir` holds no report.json. A report that cannot be read, or that was
// made with other settings, is an error naming the file or the folder (`evaluate --resume` and the app's runs).
struct ReusableSteeringClips {
    std::vector<SteeringClip> clips;
    size_t earlierClips = 0; // the clips the report in `outDir` held
};
Expected<ReusableSteeringClips> reusableSteeringClipsIn(
    const std::filesystem::path& outDir, const SteeringReportInfo& now, const SteeringEvalParams& params);

// The targets for one slider (docs/steering.md): the high-against-low difference has the right sign
// (positive: the positive pole is the higher metric) and its 95% interval excludes 0; Spearman >= 0.8; the
// interference ratio < 0.5. A figure that is undefined misses its target; a latent slider is not measurable.
inline constexpr double kSteeringSpearmanTarget = 0.8;
inline constexpr double kSteeringInterferenceTarget = 0.5;
enum class TargetResult { Met, Missed, NotMeasurable };
struct SteeringTargets {
    TargetResult effect = TargetResult::NotMeasurable;
    TargetResult spearman = TargetResult::NotMeasurable;
    TargetResult interference = TargetResult::NotMeasurable;
    bool allMet() const;
};
SteeringTargets steeringTargets(const SteeringSliderReport& slider);

struct BankMetric;

// The fingerprints (fileFingerprint) of a slider's two adapters' adapter_config.json and adapter_model.safetensors,
// "+" then "-", as SteeringReportInfo::adapters records them. Errors name the file that cannot be read.
Expected<std::string> sliderAdapterFingerprints(const BankMetric& metric);

// What a bank's own steering report (<bankDir>/steering-report, shipped or written by a run there) measured of the
// sliders the app shows: the report's figures for each slider whose two adapters are, byte for byte, the ones the
// report measured. A slider retrained since is listed in `stale`, not measured. Read when a bank opens, so that
// each slider can say what it was measured to do (the slider panel's tooltips and markers). In tm_eval_job.
struct MeasuredSteering {
    std::filesystem::path reportDir;
    int64_t seeds = 0;
    size_t prompts = 0;
    double seconds = 0.0;
    std::map<std::string, SteeringSliderReport> sliders; // by metric id
    std::vector<std::string> stale; // metric ids measured with other adapters
};
// nullopt when the bank has no report folder with a report.json; an error (naming the file) when it cannot be read
// or an adapter cannot be fingerprinted.
Expected<std::optional<MeasuredSteering>> readMeasuredSteering(const BankSummary& bank);

} // namespace tmk
