// The pairs folder (pairs.h): pairs.jsonl, songs.jsonl and report.json, written atomically and byte-identical
// for the same input (numbers in the shortest round-trip form, locale-independent).
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tastemaker/fileio.h"
#include "tastemaker/pairs.h"

namespace tmk {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

void appendJsonString(std::string& out, std::string_view text)
{
    out += '"';
    for (char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                static const char* hex = "0123456789abcdef";
                out += "\\u00";
                out += hex[(c >> 4) & 0xF];
                out += hex[c & 0xF];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

void appendNumber(std::string& out, double value)
{
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    out.append(buffer, result.ptr);
}

Json pathOrNull(const fs::path& path)
{
    return path.empty() ? Json(nullptr) : Json(path.string());
}

std::string pairLines(const std::vector<PreferencePair>& pairs)
{
    std::string text;
    text.reserve(pairs.size() * 150);
    for (const PreferencePair& pair : pairs) {
        text += "{\"metric\":";
        appendJsonString(text, pair.metric);
        text += ",\"prompt\":";
        appendJsonString(text, pair.prompt);
        text += ",\"chosen\":";
        appendJsonString(text, pair.chosen);
        text += ",\"rejected\":";
        appendJsonString(text, pair.rejected);
        text += ",\"chosen_value\":";
        appendNumber(text, pair.chosenValue);
        text += ",\"rejected_value\":";
        appendNumber(text, pair.rejectedValue);
        text += pair.test ? ",\"split\":\"test\"}\n" : ",\"split\":\"train\"}\n";
    }
    return text;
}

std::string songLines(const std::vector<PairSong>& songs)
{
    std::string text;
    for (const PairSong& song : songs) {
        text += "{\"track_id\":";
        appendJsonString(text, song.trackId);
        text += ",\"prompt\":";
        appendJsonString(text, song.prompt);
        text += ",\"audio\":";
        if (song.audio.empty())
            text += "null";
        else
            appendJsonString(text, song.audio.string());
        text += "}\n";
    }
    return text;
}

// Calls `parse` on each non-empty line's JSON; errors name the file and the line.
Expected<void> forEachJsonLine(
    const fs::path& path, const std::function<Expected<void>(const Json&, const std::string& where)>& parse)
{
    Expected<std::string> text = readFileText(path);
    if (!text) return text.error();
    size_t start = 0;
    for (int64_t line = 1; start < text->size(); ++line) {
        size_t end = text->find('\n', start);
        if (end == std::string::npos) end = text->size();
        const std::string_view content(text->data() + start, end - start);
        start = end + 1;
        if (content.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        const std::string where = path.string() + ": line " + std::to_string(line);
        Json value;
        try {
            value = Json::parse(content);
        } catch (const Json::exception&) {
            return Error { ErrorCode::Format, where + " is not valid JSON" };
        }
        if (!value.is_object()) return Error { ErrorCode::Format, where + " is not a JSON object" };
        TMK_TRY(parse(value, where));
    }
    return {};
}

template <typename T> Expected<T> field(const Json& object, const char* key, const std::string& where)
{
    if (!object.contains(key)) return Error { ErrorCode::Format, where + " has no \"" + key + "\"" };
    try {
        return object.at(key).get<T>();
    } catch (const Json::exception&) {
        return Error { ErrorCode::Format, where + ": \"" + key + "\" has the wrong type" };
    }
}

Expected<PreferencePair> parsePair(const Json& line, const std::string& where)
{
    PreferencePair pair;
    for (auto [key, target] : { std::pair { "metric", &pair.metric }, { "prompt", &pair.prompt },
             { "chosen", &pair.chosen }, { "rejected", &pair.rejected } }) {
        Expected<std::string> value = field<std::string>(line, key, where);
        if (!value) return value.error();
        *target = std::move(*value);
    }
    Expected<double> chosen = field<double>(line, "chosen_value", where);
    Expected<double> rejected = field<double>(line, "rejected_value", where);
    Expected<std::string> split = field<std::string>(line, "split", where);
    if (!chosen) return chosen.error();
    if (!rejected) return rejected.error();
    if (!split) return split.error();
    if (*split != "train" && *split != "test")
        return Error { ErrorCode::Format, where + ": \"split\" must be \"train\" or \"test\", not \"" + *split + "\"" };
    if (pair.chosen.empty() || pair.chosen == pair.rejected)
        return Error { ErrorCode::Format, where + ": chosen and rejected must be two different track ids" };
    pair.chosenValue = *chosen;
    pair.rejectedValue = *rejected;
    pair.test = *split == "test";
    return pair;
}

} // namespace

Expected<void> PairBuilderOptions::validate() const
{
    if (tracksCsv.empty())
        return Error { ErrorCode::InvalidArgument, "No tracks CSV was given (the songs' metadata)." };
    if (!(testFraction >= 0.0 && testFraction < 1.0))
        return Error { ErrorCode::InvalidArgument,
            "The test fraction must be at least 0 and below 1, not " + std::to_string(testFraction) + "." };
    if (!(minRankGap >= 0.0 && minRankGap < 1.0))
        return Error { ErrorCode::InvalidArgument,
            "The minimum rank gap must be at least 0 and below 1, not " + std::to_string(minRankGap) + "." };
    return {};
}

const MetricPairStats* PairReport::find(const std::string& metric) const
{
    for (const MetricPairStats& stats : metrics)
        if (stats.metric == metric) return &stats;
    return nullptr;
}

int64_t PairReport::totalPairs() const
{
    int64_t total = 0;
    for (const MetricPairStats& stats : metrics) total += stats.trainPairs + stats.testPairs;
    return total;
}

std::string PairReport::toJson() const
{
    Json root;
    root["format"] = 1;
    root["options"] = { { "tracks", pathOrNull(options.tracksCsv) }, { "youtube", pathOrNull(options.youtubeCsv) },
        { "audio", pathOrNull(options.audioDir) },
        { "rating_column", options.ratingColumn.empty() ? Json(nullptr) : Json(options.ratingColumn) },
        { "seed", options.seed }, { "test_fraction", options.testFraction },
        { "drop_same_recording", options.dropSameRecording },
        { "match_on_other_features", options.matchOnOtherFeatures }, { "min_rank_gap", options.minRankGap } };
    root["rows"] = rows;
    root["songs"] = songs;
    root["genres"] = genres;
    root["same_recording_dropped"] = sameRecordingDropped;
    root["songs_without_features"] = songsWithoutFeatures;
    root["songs_with_audio"] = songsWithAudio;
    root["songs_without_audio"] = songsWithoutAudio;
    root["youtube_rows"] = youtubeRows;
    root["youtube_matched_songs"] = youtubeMatchedSongs;
    int64_t train = 0, test = 0;
    Json metricList = Json::array();
    for (const MetricPairStats& stats : metrics) {
        train += stats.trainPairs;
        test += stats.testPairs;
        if (!stats.available) {
            metricList.push_back(
                { { "metric", stats.metric }, { "available", false }, { "reason", stats.unavailableReason } });
            continue;
        }
        metricList.push_back({ { "metric", stats.metric }, { "available", true },
            { "songs_with_value", stats.songsWithValue }, { "train_pairs", stats.trainPairs },
            { "test_pairs", stats.testPairs }, { "ties", stats.ties }, { "below_gap", stats.belowGap } });
    }
    root["pairs"] = { { "train", train }, { "test", test }, { "total", train + test } };
    root["metrics"] = std::move(metricList);
    Json skippedList = Json::array();
    for (const SkippedRows& rows : skipped)
        skippedList.push_back(
            { { "reason", rows.reason }, { "count", rows.count }, { "example_lines", rows.exampleLines } });
    root["skipped_rows"] = std::move(skippedList);
    return root.dump(2) + "\n";
}

Expected<PairReport> PairReport::fromJson(const std::string& text, const std::string& where)
{
    try {
        const Json root = Json::parse(text);
        PairReport report;
        const Json& options = root.at("options");
        const auto path = [&](const char* key) {
            return options.at(key).is_null() ? fs::path() : fs::path(options.at(key).get<std::string>());
        };
        report.options.tracksCsv = path("tracks");
        report.options.youtubeCsv = path("youtube");
        report.options.audioDir = path("audio");
        report.options.ratingColumn
            = options.at("rating_column").is_null() ? "" : options.at("rating_column").get<std::string>();
        report.options.seed = options.at("seed").get<uint64_t>();
        report.options.testFraction = options.at("test_fraction").get<double>();
        report.options.dropSameRecording = options.value("drop_same_recording", true);
        // Reports written before these options existed used one all-feature matching and no gap.
        report.options.matchOnOtherFeatures = options.value("match_on_other_features", false);
        report.options.minRankGap = options.value("min_rank_gap", 0.0);
        for (auto [key, target] : { std::pair { "rows", &report.rows }, { "songs", &report.songs },
                 { "genres", &report.genres }, { "same_recording_dropped", &report.sameRecordingDropped },
                 { "songs_without_features", &report.songsWithoutFeatures },
                 { "songs_with_audio", &report.songsWithAudio }, { "songs_without_audio", &report.songsWithoutAudio },
                 { "youtube_rows", &report.youtubeRows }, { "youtube_matched_songs", &report.youtubeMatchedSongs } })
            *target = root.value(key, int64_t { 0 });
        for (const Json& m : root.at("metrics")) {
            MetricPairStats stats { m.at("metric").get<std::string>(), m.at("available").get<bool>(),
                m.value("reason", std::string()) };
            stats.songsWithValue = m.value("songs_with_value", int64_t { 0 });
            stats.trainPairs = m.value("train_pairs", int64_t { 0 });
            stats.testPairs = m.value("test_pairs", int64_t { 0 });
            stats.ties = m.value("ties", int64_t { 0 });
            stats.belowGap = m.value("below_gap", int64_t { 0 });
            report.metrics.push_back(std::move(stats));
        }
        for (const Json& s : root.at("skipped_rows"))
            report.skipped.push_back({ s.at("reason").get<std::string>(), s.at("count").get<int64_t>(),
                s.at("example_lines").get<std::vector<int64_t>>() });
        return report;
    } catch (const Json::exception& e) {
        return Error::inFile(ErrorCode::Format, where, std::string("is not a valid pairs report (") + e.what() + ")");
    }
}

fs::path pairsFilePath(const fs::path& dir)
{
    return dir / "pairs.jsonl";
}
fs::path songsFilePath(const fs::path& dir)
{
    return dir / "songs.jsonl";
}
fs::path reportFilePath(const fs::path& dir)
{
    return dir / "report.json";
}

Expected<void> writePairSet(const PairSet& set, const fs::path& outDir)
{
    std::error_code ec;
    fs::create_directories(outDir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, outDir.string(), "could not be created: " + ec.message());
    TMK_TRY(writeFileAtomic(pairsFilePath(outDir), pairLines(set.pairs)));
    TMK_TRY(writeFileAtomic(songsFilePath(outDir), songLines(set.songs)));
    TMK_TRY(writeFileAtomic(reportFilePath(outDir), set.report.toJson()));
    return {};
}

Expected<PairSet> readPairSet(const fs::path& dir)
{
    PairSet set;
    std::error_code ec;
    if (!fs::exists(pairsFilePath(dir), ec))
        return Error::inFile(ErrorCode::NotFound, dir.string(),
            "is not a pairs folder (it has no pairs.jsonl; make one with tastemaker-cli pairs)");
    TMK_TRY(forEachJsonLine(pairsFilePath(dir), [&](const Json& line, const std::string& where) -> Expected<void> {
        Expected<PreferencePair> pair = parsePair(line, where);
        if (!pair) return pair.error();
        set.pairs.push_back(std::move(*pair));
        return {};
    }));
    TMK_TRY(forEachJsonLine(songsFilePath(dir), [&](const Json& line, const std::string& where) -> Expected<void> {
        Expected<std::string> id = field<std::string>(line, "track_id", where);
        Expected<std::string> prompt = field<std::string>(line, "prompt", where);
        if (!id) return id.error();
        if (!prompt) return prompt.error();
        PairSong song { *id, *prompt, {} };
        if (line.contains("audio") && !line.at("audio").is_null()) {
            if (!line.at("audio").is_string())
                return Error { ErrorCode::Format, where + ": \"audio\" must be a path or null" };
            song.audio = line.at("audio").get<std::string>();
        }
        set.songs.push_back(std::move(song));
        return {};
    }));
    if (fs::exists(reportFilePath(dir), ec)) {
        Expected<std::string> text = readFileText(reportFilePath(dir));
        if (!text) return text.error();
        Expected<PairReport> report = PairReport::fromJson(*text, reportFilePath(dir).string());
        if (!report) return report.error();
        set.report = std::move(*report);
    }
    return set;
}

} // namespace tmk
