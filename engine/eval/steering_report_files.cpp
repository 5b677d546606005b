// The steering report's files (tastemaker/steering_report.h): report.json, report.csv, interference.csv and the
// PNGs, each written atomically. Nothing here depends on time or on the machine, so the same report gives the
// same bytes.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/json.h"
#include "eval/steering_plot.h"
#include "tastemaker/csv_field.h"
#include "tastemaker/fileio.h"
#include "tastemaker/steering_report.h"

namespace tmk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json optionalNumber(const std::optional<double>& value)
{
    return value ? json(*value) : json(nullptr);
}

json interval(const std::optional<double>& low, const std::optional<double>& high)
{
    return low && high ? json::array({ *low, *high }) : json(nullptr);
}

json estimateJson(const std::optional<Estimate>& estimate)
{
    if (!estimate) return nullptr;
    return json { { "value", estimate->value }, { "ci95", interval(estimate->low, estimate->high) } };
}

json sliderJson(const SteeringSliderReport& slider, const std::vector<std::string>& columns)
{
    json curve = json::array();
    for (const SteeringCurvePoint& p : slider.curve)
        curve.push_back(
            { { "value", p.value }, { "clips", p.clips }, { "mean", p.mean }, { "ci95", interval(p.low, p.high) } });
    json effects = json::object();
    std::optional<double> largest;
    for (size_t c = 0; c < columns.size(); ++c) {
        effects[columns[c]] = optionalNumber(slider.effects[c]);
        if (slider.largestOffTarget == columns[c]) largest = slider.effects[c];
    }
    json offTarget = nullptr;
    if (slider.largestOffTarget)
        offTarget = { { "metric", *slider.largestOffTarget }, { "standardised_effect", optionalNumber(largest) } };
    return json {
        { "metric", slider.metric },
        { "measurable", slider.measurable },
        { "clips", slider.clips },
        { "low_value", slider.lowValue },
        { "high_value", slider.highValue },
        { "difference", estimateJson(slider.difference) },
        { "standardised_effect", estimateJson(slider.standardisedEffect) },
        { "spearman", optionalNumber(slider.spearman) },
        { "spearman_of_means", optionalNumber(slider.spearmanOfMeans) },
        { "interference_ratio", optionalNumber(slider.interferenceRatio) },
        { "largest_off_target", offTarget },
        { "curve", curve },
        { "effects", effects },
        { "plot", slider.measurable && !slider.curve.empty() ? json(slider.metric + ".png") : json(nullptr) },
    };
}

json reportJson(const SteeringReport& report)
{
    const SteeringEvalParams& params = report.params;
    json sliders = json::array(), rows = json::array(), matrix = json::array();
    for (const SteeringSliderReport& slider : report.sliders) {
        sliders.push_back(sliderJson(slider, report.columns));
        rows.push_back(slider.metric);
        json row = json::array();
        for (const std::optional<double>& effect : slider.effects) row.push_back(optionalNumber(effect));
        matrix.push_back(row);
    }
    return json {
        { "format", "tastemaker-steering-report" },
        { "version", 1 },
        { "model", report.info.model },
        { "bank", report.info.bank },
        { "build", report.info.build },
        { "analyser", report.info.analyser },
        { "device", report.info.device },
        { "dtype", report.info.dtype },
        { "sampling", report.info.sampling },
        { "adapters", report.info.adapters },
        { "prompts", params.prompts },
        { "seeds", params.seeds },
        { "first_seed", params.firstSeed },
        { "values", params.values },
        { "seconds", params.durationSeconds },
        { "bootstrap",
            { { "resamples", params.bootstrapResamples }, { "seed", params.bootstrapSeed }, { "level", 0.95 } } },
        { "clips", report.clipsDone },
        { "clips_planned", report.clipsPlanned },
        { "complete", report.complete },
        { "columns", report.columns },
        { "sliders", sliders },
        { "interference", { { "rows", rows }, { "columns", report.columns }, { "effects", matrix } } },
    };
}

// Six significant digits; an empty cell where a clip has no value (tempo without a pulse).
std::string number(double value)
{
    if (!std::isfinite(value)) return "";
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value);
    return text;
}

// "<first>,<column>,<column>,...\n"
// The shortest text that reads back as the same double, so that a resumed run (which reuses report.csv's clips)
// gives the report an uninterrupted one does; an empty cell where a clip has no value.
std::string exactNumber(double value)
{
    if (!std::isfinite(value)) return "";
    char text[32];
    const std::to_chars_result written = std::to_chars(text, text + sizeof text, value);
    return std::string(text, written.ptr);
}

std::string csvHeader(const std::string& first, const std::vector<std::string>& columns)
{
    std::string text = first;
    for (const std::string& column : columns) text += "," + column;
    return text + "\n";
}

std::string clipsCsv(const SteeringReport& report)
{
    std::string text = csvHeader("slider,value,seed,prompt", report.columns);
    for (const SteeringClip& clip : report.clips) {
        text += clip.slider + "," + exactNumber(clip.value) + "," + std::to_string(clip.seed) + ","
            + csvField(clip.prompt);
        for (double value : clip.measured) text += "," + exactNumber(value);
        text += "\n";
    }
    return text;
}

std::string interferenceCsv(const SteeringReport& report)
{
    std::string text = csvHeader("slider", report.columns);
    for (const SteeringSliderReport& slider : report.sliders) {
        text += slider.metric;
        for (const std::optional<double>& effect : slider.effects) text += "," + number(effect.value_or(NAN));
        text += "\n";
    }
    return text;
}

Expected<void> writePlots(const fs::path& outDir, const SteeringReport& report)
{
    std::vector<std::vector<std::optional<double>>> effects;
    std::vector<std::optional<size_t>> onTarget;
    for (const SteeringSliderReport& slider : report.sliders) {
        effects.push_back(slider.effects);
        const auto own = std::find(report.columns.begin(), report.columns.end(), slider.metric);
        onTarget.push_back(
            own == report.columns.end() ? std::nullopt : std::optional<size_t>(own - report.columns.begin()));
        if (slider.measurable && !slider.curve.empty())
            TMK_TRY(eval::writeCurvePng(outDir / (slider.metric + ".png"), slider.curve));
    }
    return eval::writeHeatmapPng(outDir / "interference.png", effects, onTarget);
}

} // namespace

Expected<void> writeSteeringReport(const fs::path& outDir, const SteeringReport& report)
{
    std::error_code error;
    fs::create_directories(outDir, error);
    if (error) return Error::inFile(ErrorCode::Io, outDir.string(), "cannot create the folder: " + error.message());
    TMK_TRY(writeFileAtomic(outDir / "report.csv", std::string_view(clipsCsv(report))));
    TMK_TRY(writeFileAtomic(outDir / "interference.csv", std::string_view(interferenceCsv(report))));
    TMK_TRY(writePlots(outDir, report));
    return writeJsonFileAtomic(outDir / "report.json", reportJson(report));
}

std::function<void(const SteeringEvalRun&)> reportSoFarWriter(
    fs::path outDir, SteeringReportInfo info, std::function<void(const Error&)> onError)
{
    return [outDir = std::move(outDir), info = std::move(info), onError = std::move(onError)](
               const SteeringEvalRun& sofar) {
        if (static_cast<int64_t>(sofar.clips.size()) >= sofar.clipsPlanned) return;
        Expected<void> written = writeSteeringReport(outDir, buildSteeringReport(sofar, info));
        if (!written && onError) onError(written.error());
    };
}

} // namespace tmk
