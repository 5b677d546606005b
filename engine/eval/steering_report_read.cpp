// Reading a steering report folder back (tastemaker/steering_report.h): report.json as
// steering_report_files.cpp writes it, and the clips from report.csv. Torch-free. Every problem names the file and
// the entry (or CSV line) at fault; nothing here throws out of readSteeringReport.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <tuple>

#include "core/json.h"
#include "data/csv_reader.h"
#include "tastemaker/steering_report.h"

namespace tmk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "tastemaker-steering-report";
constexpr int64_t kVersion = 1;

// Typed entries of one JSON object. The first problem is kept (as "<where>: ..."), and every read after it gives a
// default, so that a section reads in straight lines and the caller checks once at the end.
class Section {
public:
    Section(const json& object, std::string where, std::optional<Error>& problem)
        : m_object(object)
        , m_where(std::move(where))
        , m_problem(problem)
    {
        if (!failed() && !m_object.is_object()) fail("is not a JSON object");
    }

    bool failed() const { return m_problem.has_value(); }

    void fail(const std::string& problem)
    {
        if (!m_problem) m_problem = Error::inFile(ErrorCode::Format, m_where, problem);
    }

    bool has(const std::string& key) const { return m_object.is_object() && m_object.contains(key); }
    bool isNull(const std::string& key) const
    {
        return !m_object.is_object() || !m_object.contains(key) || m_object.at(key).is_null();
    }

    template <typename T> T get(const std::string& key)
    {
        if (failed()) return T {};
        Expected<T> value = jsonField<T>(m_object, key, m_where);
        if (!value) {
            m_problem = value.error();
            return T {};
        }
        return std::move(*value);
    }

    // A number that may be null (or absent).
    std::optional<double> optionalNumber(const std::string& key)
    {
        if (failed() || isNull(key)) return std::nullopt;
        return get<double>(key);
    }

    // null, or [low, high].
    std::pair<std::optional<double>, std::optional<double>> interval(const std::string& key)
    {
        if (failed() || isNull(key)) return {};
        const std::vector<double> ends = get<std::vector<double>>(key);
        if (failed()) return {};
        if (ends.size() != 2) {
            fail("entry \"" + key + "\" must be null or [low, high]");
            return {};
        }
        return { ends[0], ends[1] };
    }

    // The object at `key` (a problem when it is absent), or `value` (an element of one of this section's arrays),
    // read as a section of its own that shares this one's problem.
    Section section(const std::string& key, const std::string& name) { return Section(entry(key), name, m_problem); }
    Section element(const json& value, const std::string& name) { return Section(value, name, m_problem); }
    // The array at `key`; a problem when it is absent or not an array.
    const json& array(const std::string& key)
    {
        const json& value = entry(key);
        if (!failed() && !value.is_array()) fail("entry \"" + key + "\" must be an array");
        return failed() ? empty() : value;
    }

    // null, or { "value": ..., "ci95": null | [low, high] }.
    std::optional<Estimate> estimate(const std::string& key)
    {
        if (failed() || isNull(key)) return std::nullopt;
        Section inner = section(key, m_where + ", " + key);
        Estimate estimate;
        estimate.value = inner.get<double>("value");
        std::tie(estimate.low, estimate.high) = inner.interval("ci95");
        return estimate;
    }

private:
    static const json& empty()
    {
        static const json none = json::object();
        return none;
    }
    const json& entry(const std::string& key)
    {
        if (failed()) return empty();
        if (!m_object.contains(key)) {
            fail("has no \"" + key + "\" entry");
            return empty();
        }
        return m_object.at(key);
    }

    const json& m_object;
    std::string m_where;
    std::optional<Error>& m_problem;
};

void readHeader(Section& top, const std::string& where, SteeringReport& report)
{
    if (top.get<std::string>("format") != kFormat && !top.failed())
        top.fail("is not a steering report (its \"format\" is not \"" + std::string(kFormat) + "\")");
    if (const int64_t version = top.get<int64_t>("version"); version != kVersion && !top.failed())
        top.fail("has version " + std::to_string(version) + "; this build reads version " + std::to_string(kVersion));
    report.info.model = top.get<std::string>("model");
    report.info.bank = top.get<std::string>("bank");
    report.info.build = top.get<std::string>("build");
    if (top.has("analyser")) // reports written before it was recorded lack it
        report.info.analyser = top.get<std::string>("analyser");
    report.info.device = top.get<std::string>("device");
    report.info.dtype = top.get<std::string>("dtype");
    report.info.sampling = top.get<std::string>("sampling");
    if (top.has("adapters")) // reports written before it existed lack it
        report.info.adapters = top.get<std::map<std::string, std::string>>("adapters");
    SteeringEvalParams& params = report.params;
    params.prompts = top.get<std::vector<std::string>>("prompts");
    params.seeds = top.get<int64_t>("seeds");
    params.firstSeed = top.get<uint64_t>("first_seed");
    params.values = top.get<std::vector<double>>("values");
    params.durationSeconds = top.get<double>("seconds");
    Section bootstrap = top.section("bootstrap", where + ", bootstrap");
    params.bootstrapResamples = bootstrap.get<int64_t>("resamples");
    params.bootstrapSeed = bootstrap.get<uint64_t>("seed");
    report.clipsDone = top.get<int64_t>("clips");
    report.clipsPlanned = top.get<int64_t>("clips_planned");
    report.complete = top.get<bool>("complete");
    report.columns = top.get<std::vector<std::string>>("columns");
    if (!top.failed() && report.columns.empty()) top.fail("has no measured columns");
}

SteeringSliderReport readSlider(Section& s, const std::string& where, const std::vector<std::string>& columns)
{
    SteeringSliderReport slider;
    slider.metric = s.get<std::string>("metric");
    slider.measurable = s.get<bool>("measurable");
    slider.clips = s.get<int64_t>("clips");
    slider.lowValue = s.get<double>("low_value");
    slider.highValue = s.get<double>("high_value");
    slider.difference = s.estimate("difference");
    slider.standardisedEffect = s.estimate("standardised_effect");
    slider.spearman = s.optionalNumber("spearman");
    // Reports written before it existed lack it.
    if (s.has("spearman_of_means")) slider.spearmanOfMeans = s.optionalNumber("spearman_of_means");
    slider.interferenceRatio = s.optionalNumber("interference_ratio");
    if (!s.isNull("largest_off_target"))
        slider.largestOffTarget
            = s.section("largest_off_target", where + ", largest_off_target").get<std::string>("metric");
    const json& curve = s.array("curve");
    for (size_t i = 0; i < curve.size(); ++i) {
        Section p = s.element(curve[i], where + ", curve[" + std::to_string(i) + "]");
        SteeringCurvePoint point;
        point.value = p.get<double>("value");
        point.clips = p.get<int64_t>("clips");
        point.mean = p.get<double>("mean");
        std::tie(point.low, point.high) = p.interval("ci95");
        slider.curve.push_back(point);
    }
    Section effects = s.section("effects", where + ", effects");
    for (const std::string& column : columns) {
        if (!effects.has(column)) effects.fail("has no \"" + column + "\" entry"); // null: undefined, kept so
        slider.effects.push_back(effects.optionalNumber(column));
    }
    return slider;
}

// report.json into `report` (every field but the clips).
Expected<void> readReportJson(const fs::path& path, SteeringReport& report)
{
    Expected<json> document = readJsonFile(path);
    if (!document) return document.error();
    std::optional<Error> problem;
    Section top(*document, path.string(), problem);
    readHeader(top, path.string(), report);
    const json& sliders = top.array("sliders");
    for (size_t i = 0; i < sliders.size() && !problem; ++i) {
        const std::string where = path.string() + ", sliders[" + std::to_string(i) + "]";
        Section s = top.element(sliders[i], where);
        report.sliders.push_back(readSlider(s, where, report.columns));
        report.params.sliders.push_back(report.sliders.back().metric);
    }
    if (problem) return *problem;
    return {};
}

// report.csv's rows ("slider,value,seed,prompt" and the columns) as clips.
Expected<std::vector<SteeringClip>> readClipsCsv(const fs::path& path, const std::vector<std::string>& columns)
{
    Expected<CsvReader> csv = CsvReader::open(path);
    if (!csv) return csv.error();
    std::vector<std::string> expected = { "slider", "value", "seed", "prompt" };
    expected.insert(expected.end(), columns.begin(), columns.end());
    if (csv->header() != expected)
        return Error::inFile(ErrorCode::Format, path.string(), "its columns differ from report.json's");
    std::vector<SteeringClip> clips;
    while (csv->next()) {
        SteeringClip clip;
        clip.slider = std::string(csv->field(0));
        const std::optional<double> value = parseCsvNumber(csv->field(1));
        const std::string_view seed = csv->field(2);
        const auto parsed = std::from_chars(seed.data(), seed.data() + seed.size(), clip.seed);
        if (!value || parsed.ec != std::errc() || parsed.ptr != seed.data() + seed.size())
            return Error::inFile(ErrorCode::Format, path.string(),
                "line " + std::to_string(csv->line()) + ": the slider value or the seed is not a number");
        clip.value = *value;
        clip.prompt = std::string(csv->field(3));
        for (size_t c = 0; c < columns.size(); ++c)
            clip.measured.push_back(parseCsvNumber(csv->field(static_cast<int>(4 + c))).value_or(NAN));
        clips.push_back(std::move(clip));
    }
    if (!csv->problems().empty())
        return Error::inFile(ErrorCode::Format, path.string(),
            "line " + std::to_string(csv->problems().front().line) + ": " + csv->problems().front().problem);
    return clips;
}

} // namespace

Expected<SteeringReport> readSteeringReport(const fs::path& dir)
{
    SteeringReport report;
    TMK_TRY(readReportJson(dir / "report.json", report));
    std::error_code error;
    if (fs::exists(dir / "report.csv", error)) {
        Expected<std::vector<SteeringClip>> clips = readClipsCsv(dir / "report.csv", report.columns);
        if (!clips) return clips.error();
        report.clips = std::move(*clips);
    }
    return report;
}

} // namespace tmk
