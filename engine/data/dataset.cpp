#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include "data/csv_reader.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kProgressEveryRows = 8192;

Error cancelledError()
{
    return Error { ErrorCode::Cancelled, "Building the preference pairs was cancelled." };
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Skipped rows grouped by reason, in order of first occurrence.
class SkipLog {
public:
    void add(const std::string& reason, int64_t line)
    {
        auto [it, inserted] = m_index.try_emplace(reason, m_rows.size());
        if (inserted) m_rows.push_back(SkippedRows { reason, 0, {} });
        SkippedRows& rows = m_rows[it->second];
        ++rows.count;
        if (rows.exampleLines.size() < 10) rows.exampleLines.push_back(line);
    }
    void addProblems(const CsvReader& reader)
    {
        for (const CsvProblem& problem : reader.problems()) add(reader.name() + ": " + problem.problem, problem.line);
    }
    std::vector<SkippedRows> take() { return std::move(m_rows); }

private:
    std::map<std::string, size_t> m_index;
    std::vector<SkippedRows> m_rows;
};

enum class Source { Tracks, Youtube };

struct ColumnRef {
    Source source = Source::Tracks;
    int slot = 0; // index into the source's list of read columns
};

// The columns read from one CSV: their indices in the file, in slot order.
struct ColumnSlots {
    std::vector<int> columns;
    int slotFor(int column)
    {
        for (size_t i = 0; i < columns.size(); ++i)
            if (columns[i] == column) return static_cast<int>(i);
        columns.push_back(column);
        return static_cast<int>(columns.size()) - 1;
    }
};

void collectLeaves(const MetricExpression& node, std::vector<const MetricExpression*>& out)
{
    if (node.op == MetricExpression::Op::Column || node.op == MetricExpression::Op::UserColumn) out.push_back(&node);
    for (const MetricExpression& arg : node.args) collectLeaves(arg, out);
}

int findWithAliases(const CsvReader& reader, const MetricExpression& node, const std::string& userColumn)
{
    if (node.op == MetricExpression::Op::UserColumn) return reader.findColumn(userColumn);
    if (int index = reader.findColumn(node.column); index >= 0) return index;
    for (const std::string& alias : node.aliases)
        if (int index = reader.findColumn(alias); index >= 0) return index;
    return -1;
}

std::string describeColumn(const MetricExpression& node, const std::string& userColumn)
{
    if (node.op == MetricExpression::Op::UserColumn) return "\"" + userColumn + "\" (named as the rating column)";
    std::string text = node.column;
    for (size_t i = 0; i < node.aliases.size(); ++i) text += (i == 0 ? " (or " : ", ") + node.aliases[i];
    return text + (node.aliases.empty() ? "" : ")");
}

std::string joinList(const std::vector<std::string>& items)
{
    std::string text;
    for (size_t i = 0; i < items.size(); ++i) text += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
    return text;
}

// How each metric's leaves map to read columns, or why the metric is unavailable.
struct MetricPlan {
    std::vector<DatasetMetric> metrics;
    std::unordered_map<const MetricExpression*, ColumnRef> refs;
    ColumnSlots trackSlots, youtubeSlots;
};

MetricPlan planMetrics(const std::vector<MetricInfo>& metrics, const CsvReader& tracks, const CsvReader* youtube,
    const std::string& userColumn)
{
    MetricPlan plan;
    plan.metrics.resize(metrics.size());
    const std::string datasets
        = youtube ? "neither " + tracks.name() + " nor " + youtube->name() + " has" : tracks.name() + " does not have";
    for (size_t m = 0; m < metrics.size(); ++m) {
        DatasetMetric& metric = plan.metrics[m];
        std::vector<const MetricExpression*> leaves;
        collectLeaves(metrics[m].expression, leaves);
        if (metrics[m].expression.needsUserColumn() && userColumn.empty()) {
            metric.unavailableReason
                = "needs a column with " + metrics[m].id + " values, and none was named (pairs --rating-column NAME)";
            continue;
        }
        std::vector<std::string> missing;
        std::vector<std::pair<const MetricExpression*, ColumnRef>> found;
        for (const MetricExpression* leaf : leaves) {
            if (int column = findWithAliases(tracks, *leaf, userColumn); column >= 0) {
                found.push_back({ leaf, ColumnRef { Source::Tracks, plan.trackSlots.slotFor(column) } });
            } else if (int ytColumn = youtube ? findWithAliases(*youtube, *leaf, userColumn) : -1; ytColumn >= 0) {
                found.push_back({ leaf, ColumnRef { Source::Youtube, plan.youtubeSlots.slotFor(ytColumn) } });
                metric.usesYoutube = true;
            } else {
                const std::string name = describeColumn(*leaf, userColumn);
                if (std::find(missing.begin(), missing.end(), name) == missing.end()) missing.push_back(name);
            }
        }
        if (!missing.empty()) {
            metric.unavailableReason = std::string("needs the column") + (missing.size() > 1 ? "s " : " ")
                + joinList(missing) + ", which " + datasets
                + (!youtube && metrics[m].source == "YouTube" ? " (no YouTube dataset was given)" : "");
            continue;
        }
        metric.available = true;
        for (const auto& [leaf, ref] : found) plan.refs[leaf] = ref;
    }
    return plan;
}

struct TrackColumns {
    int trackId = -1, genre = -1, artists = -1, title = -1, audioPath = -1;
    std::array<int, kAudioFeatureCount> features {};
    std::vector<int> recording; // features + key, mode, duration_ms when present
};

Expected<TrackColumns> findTrackColumns(const CsvReader& reader, const fs::path& path, bool needNames)
{
    TrackColumns columns;
    std::vector<std::string> missing;
    const auto need = [&](std::string_view name, int& index) {
        index = reader.findColumn(name);
        if (index < 0) missing.emplace_back(name);
    };
    need("track_id", columns.trackId);
    need("track_genre", columns.genre);
    for (int f = 0; f < kAudioFeatureCount; ++f)
        need(audioFeatureColumns()[static_cast<size_t>(f)], columns.features[static_cast<size_t>(f)]);
    if (needNames) {
        need("artists", columns.artists);
        need("track_name", columns.title);
    }
    if (!missing.empty())
        return Error::inFile(ErrorCode::Format, path.string(),
            "has no column" + std::string(missing.size() > 1 ? "s " : " ") + joinList(missing)
                + " (a Spotify Tracks CSV needs track_id, track_genre and the 9 audio features"
                + (needNames ? "; joining YouTube data needs artists and track_name)" : ")"));
    columns.audioPath = reader.findColumn("audio_path");
    columns.recording.assign(columns.features.begin(), columns.features.end());
    for (std::string_view extra : { "key", "mode", "duration_ms" })
        if (int index = reader.findColumn(extra); index >= 0) columns.recording.push_back(index);
    return columns;
}

struct TracksRead {
    std::vector<double> slotValues; // [song * slots + slot]
    std::vector<std::pair<std::string, std::string>> names; // per song: artists, title (with YouTube data)
};

void addSong(Dataset& data, TracksRead& read, const CsvReader& reader, const TrackColumns& columns,
    const ColumnSlots& slots, std::string_view id, int genre)
{
    DatasetSong song;
    song.trackId = std::string(id);
    song.genres.push_back(genre);
    song.line = reader.line();
    song.hasFeatures = true;
    for (size_t f = 0; f < kAudioFeatureCount; ++f) {
        const std::optional<double> value = parseCsvNumber(reader.field(columns.features[f]));
        song.hasFeatures = song.hasFeatures && value.has_value();
        song.features[f] = value.value_or(kMissing);
    }
    if (song.hasFeatures) {
        for (int column : columns.recording) song.recordingKey.append(trim(reader.field(column))).push_back('|');
    }
    if (columns.audioPath >= 0) song.audioPath = std::string(trim(reader.field(columns.audioPath)));
    for (int column : slots.columns) read.slotValues.push_back(parseCsvNumber(reader.field(column)).value_or(kMissing));
    if (columns.artists >= 0)
        read.names.emplace_back(std::string(reader.field(columns.artists)), std::string(reader.field(columns.title)));
    data.songs.push_back(std::move(song));
}

Expected<TracksRead> readTracks(CsvReader& reader, const PairBuilderOptions& options, const ColumnSlots& slots,
    Dataset& data, SkipLog& skips, const ProgressCallback& progress, const CancelToken* cancel)
{
    Expected<TrackColumns> columns = findTrackColumns(reader, options.tracksCsv, !options.youtubeCsv.empty());
    if (!columns) return columns.error();
    TracksRead read;
    std::unordered_map<std::string, int> songIndex;
    std::unordered_map<std::string, int> genreIndex;
    std::string key;
    while (reader.next()) {
        if (reader.rowsRead() % kProgressEveryRows == 0) {
            if (cancel && cancel->isCancelled()) return cancelledError();
            if (progress)
                progress({ ProgressStage::ReadingTracks, static_cast<int64_t>(reader.bytesDone()),
                    static_cast<int64_t>(reader.bytesTotal()) });
        }
        const std::string_view id = trim(reader.field(columns->trackId));
        const std::string_view genreName = trim(reader.field(columns->genre));
        if (id.empty() || genreName.empty()) {
            skips.add(reader.name() + ": " + (id.empty() ? "empty track_id" : "empty track_genre"), reader.line());
            continue;
        }
        key.assign(genreName);
        auto [genreIt, newGenre] = genreIndex.try_emplace(key, static_cast<int>(data.genres.size()));
        if (newGenre) data.genres.push_back(key);
        key.assign(id);
        auto [songIt, newSong] = songIndex.try_emplace(key, static_cast<int>(data.songs.size()));
        if (newSong) {
            addSong(data, read, reader, *columns, slots, id, genreIt->second);
        } else {
            std::vector<int>& genres = data.songs[static_cast<size_t>(songIt->second)].genres;
            if (std::find(genres.begin(), genres.end(), genreIt->second) == genres.end())
                genres.push_back(genreIt->second);
        }
    }
    data.rows = reader.rowsRead();
    skips.addProblems(reader);
    if (progress)
        progress({ ProgressStage::ReadingTracks, static_cast<int64_t>(reader.bytesTotal()),
            static_cast<int64_t>(reader.bytesTotal()) });
    return read;
}

int findNameColumn(const CsvReader& reader, std::initializer_list<std::string_view> names)
{
    for (std::string_view name : names)
        if (int index = reader.findColumn(name); index >= 0) return index;
    return -1;
}

// Reads the YouTube rows' metric columns and joins them to the songs (DatasetSong::youtubeRow).
Expected<std::vector<double>> readYoutube(CsvReader& reader, const PairBuilderOptions& options,
    const ColumnSlots& slots, const TracksRead& tracks, Dataset& data, SkipLog& skips, const ProgressCallback& progress,
    const CancelToken* cancel)
{
    const int artist = findNameColumn(reader, { "Artist", "artists" });
    const int title = findNameColumn(reader, { "Track", "track_name", "song" });
    if (artist < 0 || title < 0)
        return Error::inFile(ErrorCode::Format, options.youtubeCsv.string(),
            "has no " + std::string(artist < 0 ? "Artist" : "Track")
                + " column to join the songs on (by artist and title)");
    std::vector<double> slotValues;
    std::unordered_map<std::string, int> byName; // normalised "artist\x1ftitle" -> first YouTube row
    int row = 0;
    while (reader.next()) {
        if (reader.rowsRead() % kProgressEveryRows == 0) {
            if (cancel && cancel->isCancelled()) return cancelledError();
            if (progress)
                progress({ ProgressStage::ReadingYouTube, static_cast<int64_t>(reader.bytesDone()),
                    static_cast<int64_t>(reader.bytesTotal()) });
        }
        const std::string artistKey = normaliseStrict(reader.field(artist));
        const std::string titleKey = normaliseTitleLoose(reader.field(title));
        if (artistKey.empty() || titleKey.empty()) {
            skips.add(reader.name() + ": empty artist or track name", reader.line());
            continue;
        }
        for (int column : slots.columns) slotValues.push_back(parseCsvNumber(reader.field(column)).value_or(kMissing));
        byName.try_emplace(artistKey + '\x1f' + titleKey, row++);
    }
    data.youtubeRows = reader.rowsRead();
    skips.addProblems(reader);
    for (size_t s = 0; s < data.songs.size(); ++s) {
        const std::string titleKey = '\x1f' + normaliseTitleLoose(tracks.names[s].second);
        std::string_view artists = tracks.names[s].first;
        int best = -1;
        while (!artists.empty()) {
            const size_t semicolon = std::min(artists.find(';'), artists.size());
            auto found = byName.find(normaliseStrict(artists.substr(0, semicolon)) + titleKey);
            if (found != byName.end() && (best < 0 || found->second < best)) best = found->second;
            artists.remove_prefix(std::min(semicolon + 1, artists.size()));
        }
        data.songs[s].youtubeRow = best;
        data.youtubeMatchedSongs += best >= 0 ? 1 : 0;
    }
    if (progress)
        progress({ ProgressStage::ReadingYouTube, static_cast<int64_t>(reader.bytesTotal()),
            static_cast<int64_t>(reader.bytesTotal()) });
    return slotValues;
}

void evaluateMetrics(const std::vector<MetricInfo>& infos, MetricPlan& plan, const TracksRead& tracks,
    const std::vector<double>& youtubeValues, Dataset& data)
{
    const size_t trackSlots = plan.trackSlots.columns.size();
    const size_t youtubeSlots = plan.youtubeSlots.columns.size();
    for (size_t m = 0; m < infos.size(); ++m) {
        DatasetMetric& metric = plan.metrics[m];
        if (!metric.available) continue;
        metric.values.assign(data.songs.size(), kMissing);
        for (size_t s = 0; s < data.songs.size(); ++s) {
            const int youtubeRow = data.songs[s].youtubeRow;
            std::optional<double> value = infos[m].expression.evaluate([&](const MetricExpression& node)
                                                                           -> std::optional<double> {
                const ColumnRef& ref = plan.refs.at(&node);
                double cell = kMissing;
                if (ref.source == Source::Tracks)
                    cell = tracks.slotValues[s * trackSlots + static_cast<size_t>(ref.slot)];
                else if (youtubeRow >= 0)
                    cell
                        = youtubeValues[static_cast<size_t>(youtubeRow) * youtubeSlots + static_cast<size_t>(ref.slot)];
                return std::isnan(cell) ? std::nullopt : std::optional<double>(cell);
            });
            if (value) {
                metric.values[s] = *value;
                ++metric.songsWithValue;
            }
        }
        if (metric.songsWithValue == 0) {
            metric.available = false;
            metric.values.clear();
            metric.unavailableReason = "has no value for any song: its columns (" + infos[m].expression.toString()
                + ") are empty or not numbers" + (metric.usesYoutube ? ", or no song matched a YouTube row" : "");
        }
    }
    data.metrics = std::move(plan.metrics);
}

} // namespace

const std::array<std::string_view, kAudioFeatureCount>& audioFeatureColumns()
{
    static const std::array<std::string_view, kAudioFeatureCount> names = { "danceability", "energy", "loudness",
        "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo" };
    return names;
}

std::string Dataset::prompt(const DatasetSong& song) const
{
    std::string text;
    for (size_t i = 0; i < song.genres.size(); ++i)
        text += (i == 0 ? "" : ", ") + genres[static_cast<size_t>(song.genres[i])];
    return text;
}

Expected<Dataset> loadDataset(const PairBuilderOptions& options, const std::vector<MetricInfo>& metrics,
    const ProgressCallback& progress, const CancelToken* cancel)
{
    if (progress) progress({ ProgressStage::ReadingTracks, 0, 0 });
    Expected<CsvReader> tracks = CsvReader::open(options.tracksCsv);
    if (!tracks) return tracks.error();
    std::optional<CsvReader> youtube;
    if (!options.youtubeCsv.empty()) {
        Expected<CsvReader> opened = CsvReader::open(options.youtubeCsv);
        if (!opened) return opened.error();
        youtube.emplace(std::move(*opened));
    }
    if (cancel && cancel->isCancelled()) return cancelledError();
    MetricPlan plan = planMetrics(metrics, *tracks, youtube ? &*youtube : nullptr, options.ratingColumn);
    Dataset data;
    SkipLog skips;
    Expected<TracksRead> read = readTracks(*tracks, options, plan.trackSlots, data, skips, progress, cancel);
    if (!read) return read.error();
    std::vector<double> youtubeValues;
    if (youtube) {
        Expected<std::vector<double>> values
            = readYoutube(*youtube, options, plan.youtubeSlots, *read, data, skips, progress, cancel);
        if (!values) return values.error();
        youtubeValues = std::move(*values);
    }
    evaluateMetrics(metrics, plan, *read, youtubeValues, data);
    data.skipped = skips.take();
    return data;
}

} // namespace tmk
