// The steering report's figures (tastemaker/steering_report.h): the clips of each slider grouped by slider value,
// then the statistics of eval/steering_stats.h. Torch-free.
#include "tastemaker/steering_report.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "analysis/calibration.h"
#include "eval/steering_stats.h"
#include "tastemaker/adapters.h"

namespace tmk {

namespace {

using eval::BootstrapOptions;

// One slider's measurements per column, without the clips where a column has no value (tempo without a pulse).
struct SliderSamples {
    std::vector<std::vector<std::vector<double>>> byValue; // column -> slider value index -> measurements
    std::vector<std::vector<double>> sliderValues; // column -> each measurement's slider value (for Spearman)
    std::vector<std::vector<double>> measured; // column -> the measurements, in clip order
    int64_t clips = 0;
};

SliderSamples gather(const std::vector<SteeringClip>& clips, const std::string& slider,
    const std::vector<double>& values, size_t columns)
{
    SliderSamples samples;
    samples.byValue.assign(columns, std::vector<std::vector<double>>(values.size()));
    samples.sliderValues.assign(columns, {});
    samples.measured.assign(columns, {});
    for (const SteeringClip& clip : clips) {
        if (clip.slider != slider || clip.measured.size() != columns) continue;
        const auto at = std::find(values.begin(), values.end(), clip.value);
        if (at == values.end()) continue;
        ++samples.clips;
        for (size_t c = 0; c < columns; ++c) {
            if (!std::isfinite(clip.measured[c])) continue;
            samples.byValue[c][static_cast<size_t>(at - values.begin())].push_back(clip.measured[c]);
            samples.sliderValues[c].push_back(clip.value);
            samples.measured[c].push_back(clip.measured[c]);
        }
    }
    return samples;
}

std::optional<Estimate> estimate(std::span<const double> low, std::span<const double> high,
    const eval::TwoSampleStatistic& statistic, const BootstrapOptions& bootstrap)
{
    const std::optional<double> value = statistic(low, high);
    if (!value) return std::nullopt;
    Estimate result;
    result.value = *value;
    if (std::optional<eval::Interval> interval = eval::bootstrapInterval(low, high, statistic, bootstrap)) {
        result.low = interval->low;
        result.high = interval->high;
    }
    return result;
}

std::vector<SteeringCurvePoint> curve(const std::vector<std::vector<double>>& byValue,
    const std::vector<double>& values, const BootstrapOptions& bootstrap)
{
    std::vector<SteeringCurvePoint> points;
    for (size_t v = 0; v < values.size(); ++v) {
        if (byValue[v].empty()) continue;
        SteeringCurvePoint point;
        point.value = values[v];
        point.clips = static_cast<int64_t>(byValue[v].size());
        point.mean = eval::summarise(byValue[v]).mean;
        if (std::optional<eval::Interval> interval = eval::bootstrapMeanInterval(byValue[v], bootstrap)) {
            point.low = interval->low;
            point.high = interval->high;
        }
        points.push_back(point);
    }
    return points;
}

// The on-target figures of a measurable slider (its metric is column `own`).
void addOnTarget(
    SteeringSliderReport& slider, const SliderSamples& samples, size_t own, const SteeringEvalParams& params)
{
    const BootstrapOptions bootstrap { params.bootstrapResamples, params.bootstrapSeed, 0.95 };
    const std::vector<double>& low = samples.byValue[own].front();
    const std::vector<double>& high = samples.byValue[own].back();
    slider.difference = estimate(low, high, eval::meanDifference, bootstrap);
    slider.standardisedEffect = estimate(low, high, eval::standardisedEffect, bootstrap);
    slider.spearman = eval::spearmanCorrelation(samples.sliderValues[own], samples.measured[own]);
    slider.curve = curve(samples.byValue[own], params.values, bootstrap);
    std::vector<double> values, means;
    for (const SteeringCurvePoint& point : slider.curve) {
        values.push_back(point.value);
        means.push_back(point.mean);
    }
    slider.spearmanOfMeans = eval::spearmanCorrelation(values, means);
}

// The largest off-target effect (every measured column that is another slider's metric) and the ratio.
void addInterference(SteeringSliderReport& slider, const std::vector<std::string>& columns,
    const std::vector<std::string>& sliderMetrics)
{
    std::vector<std::optional<double>> offTarget;
    std::vector<size_t> offTargetColumns;
    std::optional<double> onTarget;
    for (size_t c = 0; c < columns.size(); ++c) {
        if (columns[c] == slider.metric) {
            onTarget = slider.effects[c];
        } else if (std::find(sliderMetrics.begin(), sliderMetrics.end(), columns[c]) != sliderMetrics.end()) {
            offTarget.push_back(slider.effects[c]);
            offTargetColumns.push_back(c);
        }
    }
    const eval::Interference interference = eval::interferenceRatio(onTarget, offTarget);
    if (slider.measurable) slider.interferenceRatio = interference.ratio;
    if (interference.largestOffTarget)
        slider.largestOffTarget = columns[offTargetColumns[*interference.largestOffTarget]];
}

} // namespace

Expected<std::vector<SteeringClip>> reusableSteeringClips(
    const SteeringReport& previous, const SteeringReportInfo& now, const SteeringEvalParams& given)
{
    const SteeringEvalParams params = given.resolved(); // the default prompts filled in
    const std::vector<std::pair<const char*, bool>> differences = {
        { "model", previous.info.model != now.model },
        { "analyser (its measurements would differ)", previous.info.analyser != now.analyser },
        { "device", previous.info.device != now.device },
        { "compute dtype", previous.info.dtype != now.dtype },
        { "sampling settings", previous.info.sampling != now.sampling },
        { "prompts", previous.params.prompts != params.prompts },
        { "clip length", previous.params.durationSeconds != params.durationSeconds },
        { "measured columns", previous.columns != steeringColumns() },
    };
    for (const auto& [what, differs] : differences)
        if (differs)
            return Error { ErrorCode::Mismatch,
                std::string("the earlier report was made with other ") + what
                    + ", so its clips cannot be reused; write this report into another folder" };
    const auto sameAdapters = [&](const std::string& slider) {
        const auto before = previous.info.adapters.find(slider), after = now.adapters.find(slider);
        return before != previous.info.adapters.end() && after != now.adapters.end() && before->second == after->second;
    };
    std::vector<SteeringClip> clips;
    for (const SteeringClip& clip : previous.clips) {
        const bool listedSeed = clip.seed >= params.firstSeed
            && clip.seed < params.firstSeed + static_cast<uint64_t>(std::max<int64_t>(params.seeds, 0));
        const bool listedValue
            = std::find(params.values.begin(), params.values.end(), clip.value) != params.values.end();
        if (listedSeed && listedValue && (clip.value == 0.0 || sameAdapters(clip.slider))) clips.push_back(clip);
    }
    return clips;
}

Expected<ReusableSteeringClips> reusableSteeringClipsIn(
    const std::filesystem::path& outDir, const SteeringReportInfo& now, const SteeringEvalParams& params)
{
    std::error_code ec;
    if (!std::filesystem::exists(outDir / "report.json", ec)) return ReusableSteeringClips {};
    Expected<SteeringReport> previous = readSteeringReport(outDir);
    if (!previous) return previous.error();
    Expected<std::vector<SteeringClip>> reusable = reusableSteeringClips(*previous, now, params);
    if (!reusable)
        return Error { reusable.error().code,
            outDir.string() + " already holds a steering report: " + reusable.error().message };
    return ReusableSteeringClips { std::move(*reusable), previous->clips.size() };
}

const std::vector<std::string>& defaultSteeringPrompts()
{
    // Held out from every bank the pipeline trains: a DPO pair is prompted with its songs' shared genre tags
    // alone ("rock", "hip-hop"), so a prompt with instrument tags, or the genre "classic rock", is never a pair's
    // prompt. Tags in the world's vocabulary (docs/world.md); two lean electric, two acoustic.
    static const std::vector<std::string> prompts = { "classic rock, electric guitar, keyboard, drums",
        "hip hop, drum machine, synth bass", "jazz, piano, double bass, saxophone", "folk, acoustic guitar, violin" };
    return prompts;
}

Expected<void> SteeringEvalParams::validate() const
{
    if (seeds < 1) return Error { ErrorCode::InvalidArgument, "the number of seeds must be at least 1" };
    if (!(durationSeconds > 0.0) || !std::isfinite(durationSeconds))
        return Error { ErrorCode::InvalidArgument, "the clip length must be a positive number of seconds" };
    if (values.size() < 2) return Error { ErrorCode::InvalidArgument, "give at least two slider values" };
    if (std::set<double>(values.begin(), values.end()).size() != values.size())
        return Error { ErrorCode::InvalidArgument, "the slider values must be distinct" };
    for (double value : values)
        if (!std::isfinite(value) || std::abs(value) > kSliderLimit)
            return Error { ErrorCode::InvalidArgument,
                "slider value " + std::to_string(value) + " is outside [-2, 2]" };
    for (const std::string& prompt : prompts)
        if (prompt.empty()) return Error { ErrorCode::InvalidArgument, "a prompt is empty" };
    if (bootstrapResamples < 100)
        return Error { ErrorCode::InvalidArgument, "the bootstrap needs at least 100 resamples" };
    return {};
}

SteeringEvalParams SteeringEvalParams::resolved() const
{
    SteeringEvalParams params = *this;
    std::sort(params.values.begin(), params.values.end());
    if (params.prompts.empty()) params.prompts = defaultSteeringPrompts();
    return params;
}

const std::vector<std::string>& steeringColumns()
{
    static const std::vector<std::string> columns = [] {
        std::vector<std::string> names;
        const std::string header = metricsCsvHeader(); // "path,tempo,loudness,..."
        size_t start = header.find(',') + 1;
        while (start > 0 && start <= header.size()) {
            const size_t end = std::min(header.find(',', start), header.size());
            names.push_back(header.substr(start, end - start));
            start = end + 1;
        }
        return names;
    }();
    return columns;
}

std::vector<double> steeringMeasurements(const AudioMetrics& metrics)
{
    std::vector<double> values;
    for (const std::string& column : steeringColumns()) {
        if (column == "loudness")
            values.push_back(metrics.loudnessLufs);
        else if (column == "tempo" && metrics.tempoBpm == 0.0)
            values.push_back(NAN); // no pulse was found: no tempo, rather than 0 BPM
        else
            values.push_back(analysis::measuredMetric(metrics, column));
    }
    return values;
}

SteeringReport buildSteeringReport(const SteeringEvalRun& run, const SteeringReportInfo& info)
{
    SteeringReport report;
    report.info = info;
    report.params = run.params.resolved();
    report.columns = steeringColumns();
    report.clipsDone = static_cast<int64_t>(run.clips.size());
    report.clipsPlanned = run.clipsPlanned;
    report.complete = !run.cancelled && report.clipsDone == report.clipsPlanned;
    report.clips = run.clips;
    const std::vector<double>& values = report.params.values;
    const std::vector<std::string>& columns = report.columns;
    for (const std::string& metric : report.params.sliders) {
        const SliderSamples samples = gather(run.clips, metric, values, columns.size());
        if (samples.clips == 0) continue;
        SteeringSliderReport slider;
        slider.metric = metric;
        slider.clips = samples.clips;
        slider.lowValue = values.front();
        slider.highValue = values.back();
        for (size_t c = 0; c < columns.size(); ++c)
            slider.effects.push_back(eval::standardisedEffect(samples.byValue[c].front(), samples.byValue[c].back()));
        const auto own = std::find(columns.begin(), columns.end(), metric);
        slider.measurable = own != columns.end();
        if (slider.measurable) addOnTarget(slider, samples, static_cast<size_t>(own - columns.begin()), report.params);
        addInterference(slider, columns, info.sliderMetrics);
        report.sliders.push_back(std::move(slider));
    }
    return report;
}

bool SteeringTargets::allMet() const
{
    return effect == TargetResult::Met && spearman == TargetResult::Met && interference == TargetResult::Met;
}

SteeringTargets steeringTargets(const SteeringSliderReport& slider)
{
    SteeringTargets targets;
    if (!slider.measurable) return targets;
    const auto result = [](bool met) { return met ? TargetResult::Met : TargetResult::Missed; };
    const std::optional<Estimate>& difference = slider.difference;
    targets.effect = result(difference && difference->low && *difference->low > 0.0);
    targets.spearman = result(slider.spearman && *slider.spearman >= kSteeringSpearmanTarget);
    targets.interference = result(slider.interferenceRatio && *slider.interferenceRatio < kSteeringInterferenceTarget);
    return targets;
}

} // namespace tmk
