// buildPairs (pairs.h): songs -> filters -> per-song split -> per-metric pools -> within-genre greedy matching
// on z-scored audio features other than the metric's own -> (chosen, rejected) per metric, with a rank gap. The
// algorithm and its choices: docs/pairs.md.
#include "data/pair_builder.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "data/dataset.h"
#include "tastemaker/pairs.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

// The songs that take part in pairing, after the audio, feature and same-recording filters.
struct Eligibility {
    std::vector<char> included;
    std::vector<char> test; // the song's split
    std::vector<fs::path> audio;
};

Expected<Eligibility> filterSongs(const Dataset& data, const PairBuilderOptions& options, PairReport& report)
{
    const size_t n = data.songs.size();
    Eligibility result { std::vector<char>(n, 1), std::vector<char>(n, 0), std::vector<fs::path>(n) };
    if (!options.audioDir.empty()) {
        Expected<AudioFolder> folder = AudioFolder::scan(options.audioDir);
        if (!folder) return folder.error();
        for (size_t s = 0; s < n; ++s) {
            result.audio[s] = folder->find(data.songs[s].trackId, data.songs[s].audioPath);
            result.included[s] = !result.audio[s].empty();
            (result.included[s] ? report.songsWithAudio : report.songsWithoutAudio) += 1;
        }
    }
    std::unordered_set<std::string> recordings;
    std::unordered_set<int> genres;
    for (size_t s = 0; s < n; ++s) {
        const DatasetSong& song = data.songs[s];
        if (!result.included[s]) continue;
        if (!song.hasFeatures) {
            result.included[s] = 0;
            ++report.songsWithoutFeatures;
            continue;
        }
        if (options.dropSameRecording
            && !recordings.insert(std::to_string(song.genres.front()) + '|' + song.recordingKey).second) {
            result.included[s] = 0;
            ++report.sameRecordingDropped;
            continue;
        }
        result.test[s] = splitDraw(options.seed, song.trackId) < options.testFraction;
        genres.insert(song.genres.front());
    }
    report.genres = static_cast<int64_t>(genres.size());
    return result;
}

// The audio features a metric leaves out of its matching (true: left out).
using FeatureMask = std::array<bool, kAudioFeatureCount>;

bool sameColumn(std::string_view a, std::string_view b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

// The features `expression` is computed from: its columns (and their aliases), and the user's rating column.
void markOwnFeatures(const MetricExpression& expression, const std::string& ratingColumn, FeatureMask& mask)
{
    std::vector<std::string_view> names;
    if (expression.op == MetricExpression::Op::Column) {
        names.push_back(expression.column);
        names.insert(names.end(), expression.aliases.begin(), expression.aliases.end());
    }
    if (expression.op == MetricExpression::Op::UserColumn) names.push_back(ratingColumn);
    for (size_t f = 0; f < kAudioFeatureCount; ++f)
        for (std::string_view name : names) mask[f] = mask[f] || sameColumn(name, audioFeatureColumns()[f]);
    for (const MetricExpression& arg : expression.args) markOwnFeatures(arg, ratingColumn, mask);
}

// Pairs among one set of songs (a pool): matched within (first genre, split) on features z-scored per genre,
// without the features in `leftOut`.
std::vector<std::pair<int, int>> matchGenre(
    const Dataset& data, const std::vector<int>& members, const Eligibility& songs, const FeatureMask& leftOut)
{
    // Z-score each feature over the genre's pool members (both splits): one geometry per genre.
    std::array<double, kAudioFeatureCount> mean {}, scale {};
    for (int s : members)
        for (size_t f = 0; f < kAudioFeatureCount; ++f) mean[f] += data.songs[static_cast<size_t>(s)].features[f];
    for (double& m : mean) m /= static_cast<double>(members.size());
    for (int s : members)
        for (size_t f = 0; f < kAudioFeatureCount; ++f) {
            const double d = data.songs[static_cast<size_t>(s)].features[f] - mean[f];
            scale[f] += d * d;
        }
    for (size_t f = 0; f < kAudioFeatureCount; ++f) {
        const double sd = std::sqrt(scale[f] / static_cast<double>(members.size()));
        scale[f] = sd > 0.0 && !leftOut[f] ? 1.0 / sd : 0.0;
    }
    std::vector<std::pair<int, int>> pairs;
    for (char split : { char { 0 }, char { 1 } }) {
        std::vector<int> group;
        for (int s : members)
            if (songs.test[static_cast<size_t>(s)] == split) group.push_back(s);
        std::vector<int> byId(group.size());
        std::iota(byId.begin(), byId.end(), 0);
        std::sort(byId.begin(), byId.end(), [&](int a, int b) {
            return data.songs[static_cast<size_t>(group[static_cast<size_t>(a)])].trackId
                < data.songs[static_cast<size_t>(group[static_cast<size_t>(b)])].trackId;
        });
        std::vector<int> rank(group.size());
        for (size_t r = 0; r < byId.size(); ++r) rank[static_cast<size_t>(byId[r])] = static_cast<int>(r);
        std::vector<FeaturePoint> points(group.size());
        for (size_t i = 0; i < group.size(); ++i)
            for (size_t f = 0; f < kAudioFeatureCount; ++f)
                points[i][f] = (data.songs[static_cast<size_t>(group[i])].features[f] - mean[f]) * scale[f];
        for (auto [a, b] : matchClosestPairs(points, rank))
            pairs.emplace_back(group[static_cast<size_t>(a)], group[static_cast<size_t>(b)]);
    }
    return pairs;
}

struct Pool {
    std::vector<int> members; // song indices, ascending
    std::map<int, std::vector<int>> byGenre;
};

// One matching of a pool's songs; metrics with the same pool and the same left-out features share it.
struct Matching {
    int pool = -1;
    FeatureMask leftOut {};
    std::vector<std::pair<int, int>> pairs;
};

// The pool of each available metric (songs with a value); metrics with the same songs share one pool.
std::vector<int> assignPools(const Dataset& data, const Eligibility& songs, std::vector<Pool>& pools)
{
    std::vector<int> poolOf(data.metrics.size(), -1);
    for (size_t m = 0; m < data.metrics.size(); ++m) {
        if (!data.metrics[m].available) continue;
        // Songs joined to the same YouTube row share its statistics (several album ids of one song): for a
        // YouTube metric only the first of them per genre takes part, since pairing them can only give ties.
        std::vector<int> members;
        std::set<std::pair<int, int>> youtubeRows; // (first genre, YouTube row)
        for (size_t s = 0; s < data.songs.size(); ++s) {
            if (!songs.included[s] || std::isnan(data.metrics[m].values[s])) continue;
            const DatasetSong& song = data.songs[s];
            if (data.metrics[m].usesYoutube && !youtubeRows.insert({ song.genres.front(), song.youtubeRow }).second)
                continue;
            members.push_back(static_cast<int>(s));
        }
        auto same = std::find_if(pools.begin(), pools.end(), [&](const Pool& pool) { return pool.members == members; });
        if (same != pools.end()) {
            poolOf[m] = static_cast<int>(same - pools.begin());
            continue;
        }
        Pool pool;
        for (int s : members) pool.byGenre[data.songs[static_cast<size_t>(s)].genres.front()].push_back(s);
        pool.members = std::move(members);
        poolOf[m] = static_cast<int>(pools.size());
        pools.push_back(std::move(pool));
    }
    return poolOf;
}

// Within-genre correlation of `values` with each audio feature over a pool: both z-scored per genre, then
// correlated over all members.
std::array<double, kAudioFeatureCount> genreCorrelations(
    const Dataset& data, const Pool& pool, const std::vector<double>& values)
{
    std::array<double, kAudioFeatureCount> sxy {}, sxx {};
    double syy = 0.0;
    for (const auto& [genre, members] : pool.byGenre) {
        const double n = static_cast<double>(members.size());
        double my = 0.0;
        std::array<double, kAudioFeatureCount> mx {};
        for (int s : members) {
            my += values[static_cast<size_t>(s)] / n;
            for (size_t f = 0; f < kAudioFeatureCount; ++f) mx[f] += data.songs[static_cast<size_t>(s)].features[f] / n;
        }
        for (int s : members) {
            const double dy = values[static_cast<size_t>(s)] - my;
            syy += dy * dy;
            for (size_t f = 0; f < kAudioFeatureCount; ++f) {
                const double dx = data.songs[static_cast<size_t>(s)].features[f] - mx[f];
                sxy[f] += dx * dy;
                sxx[f] += dx * dx;
            }
        }
    }
    std::array<double, kAudioFeatureCount> r {};
    for (size_t f = 0; f < kAudioFeatureCount; ++f)
        r[f] = sxx[f] > 0.0 && syy > 0.0 ? sxy[f] / std::sqrt(sxx[f] * syy) : 0.0;
    return r;
}

// The matching of each available metric: its pool, without the features it is computed from and those that
// measure much the same (|within-genre r| >= kSameQualityCorrelation; energy goes with loudness).
std::vector<int> assignMatchings(const Dataset& data, const std::vector<MetricInfo>& metrics,
    const PairBuilderOptions& options, const std::vector<Pool>& pools, const std::vector<int>& poolOf,
    std::vector<Matching>& matchings)
{
    constexpr double kSameQualityCorrelation = 0.5;
    std::vector<int> matchingOf(poolOf.size(), -1);
    for (size_t m = 0; m < poolOf.size(); ++m) {
        if (poolOf[m] < 0) continue;
        FeatureMask leftOut {};
        if (options.matchOnOtherFeatures) {
            markOwnFeatures(metrics[m].expression, options.ratingColumn, leftOut);
            const auto r = genreCorrelations(data, pools[static_cast<size_t>(poolOf[m])], data.metrics[m].values);
            for (size_t f = 0; f < kAudioFeatureCount; ++f)
                leftOut[f] = leftOut[f] || std::abs(r[f]) >= kSameQualityCorrelation;
        }
        auto same = std::find_if(matchings.begin(), matchings.end(),
            [&](const Matching& x) { return x.pool == poolOf[m] && x.leftOut == leftOut; });
        if (same == matchings.end()) same = matchings.insert(matchings.end(), Matching { poolOf[m], leftOut, {} });
        matchingOf[m] = static_cast<int>(same - matchings.begin());
    }
    return matchingOf;
}

Expected<void> match(const Dataset& data, const Eligibility& songs, const std::vector<Pool>& pools,
    std::vector<Matching>& matchings, const ProgressCallback& progress, const CancelToken* cancel)
{
    int64_t total = 0, done = 0;
    for (const Matching& matching : matchings)
        total += static_cast<int64_t>(pools[static_cast<size_t>(matching.pool)].byGenre.size());
    for (Matching& matching : matchings) {
        for (const auto& [genre, members] : pools[static_cast<size_t>(matching.pool)].byGenre) {
            if (cancel && cancel->isCancelled())
                return Error { ErrorCode::Cancelled, "Building the preference pairs was cancelled." };
            std::vector<std::pair<int, int>> pairs = matchGenre(data, members, songs, matching.leftOut);
            matching.pairs.insert(matching.pairs.end(), pairs.begin(), pairs.end());
            if (progress) progress({ ProgressStage::MatchingSongs, ++done, total });
        }
    }
    return {};
}

// Each pool member's percentile rank of `values` within its genre, in [0, 1] (ties share their mean rank; a
// genre of one song gets 0.5). Indexed by song.
std::vector<double> genrePercentiles(const Pool& pool, const std::vector<double>& values)
{
    std::vector<double> percentile(values.size(), 0.5);
    for (const auto& [genre, members] : pool.byGenre) {
        std::vector<int> order = members;
        std::sort(order.begin(), order.end(),
            [&](int a, int b) { return values[static_cast<size_t>(a)] < values[static_cast<size_t>(b)]; });
        const double last = static_cast<double>(order.size()) - 1.0;
        for (size_t i = 0; i < order.size();) {
            size_t j = i;
            while (j + 1 < order.size()
                && values[static_cast<size_t>(order[j + 1])] == values[static_cast<size_t>(order[i])])
                ++j;
            const double rank = 0.5 * static_cast<double>(i + j);
            for (size_t k = i; k <= j; ++k) percentile[static_cast<size_t>(order[k])] = last > 0 ? rank / last : 0.5;
            i = j + 1;
        }
    }
    return percentile;
}

// The genre tags both songs have, in the order of the one with the smaller track id.
std::string pairPrompt(const Dataset& data, const DatasetSong& a, const DatasetSong& b)
{
    const DatasetSong& first = a.trackId < b.trackId ? a : b;
    const DatasetSong& second = a.trackId < b.trackId ? b : a;
    std::string prompt;
    for (int genre : first.genres) {
        if (std::find(second.genres.begin(), second.genres.end(), genre) == second.genres.end()) continue;
        prompt += (prompt.empty() ? "" : ", ") + data.genres[static_cast<size_t>(genre)];
    }
    return prompt;
}

// Fills set.pairs and the report's metric stats; marks the songs in a pair in `used`.
void makePairs(const Dataset& data, const std::vector<MetricInfo>& metrics, const PairBuilderOptions& options,
    const Eligibility& songs, const std::vector<Pool>& pools, const std::vector<int>& poolOf,
    const std::vector<Matching>& matchings, const std::vector<int>& matchingOf, PairSet& set, std::vector<char>& used)
{
    for (size_t m = 0; m < metrics.size(); ++m) {
        const DatasetMetric& metric = data.metrics[m];
        MetricPairStats stats { metrics[m].id, metric.available, metric.unavailableReason };
        if (metric.available) {
            const Pool& pool = pools[static_cast<size_t>(poolOf[m])];
            const std::vector<double> percentile = genrePercentiles(pool, metric.values);
            stats.songsWithValue = static_cast<int64_t>(pool.members.size());
            std::vector<PreferencePair> pairs;
            for (auto [a, b] : matchings[static_cast<size_t>(matchingOf[m])].pairs) {
                const double va = metric.values[static_cast<size_t>(a)], vb = metric.values[static_cast<size_t>(b)];
                if (va == vb) {
                    ++stats.ties;
                    continue;
                }
                if (std::abs(percentile[static_cast<size_t>(a)] - percentile[static_cast<size_t>(b)])
                    < options.minRankGap) {
                    ++stats.belowGap;
                    continue;
                }
                const int chosen = va > vb ? a : b, rejected = va > vb ? b : a;
                used[static_cast<size_t>(a)] = used[static_cast<size_t>(b)] = 1;
                const DatasetSong& c = data.songs[static_cast<size_t>(chosen)];
                const DatasetSong& r = data.songs[static_cast<size_t>(rejected)];
                const bool test = songs.test[static_cast<size_t>(chosen)] != 0;
                pairs.push_back({ metrics[m].id, pairPrompt(data, c, r), c.trackId, r.trackId, std::max(va, vb),
                    std::min(va, vb), test });
                (test ? stats.testPairs : stats.trainPairs) += 1;
            }
            std::sort(pairs.begin(), pairs.end(), [](const PreferencePair& x, const PreferencePair& y) {
                return std::tie(x.chosen, x.rejected) < std::tie(y.chosen, y.rejected);
            });
            set.pairs.insert(
                set.pairs.end(), std::make_move_iterator(pairs.begin()), std::make_move_iterator(pairs.end()));
        }
        set.report.metrics.push_back(std::move(stats));
    }
}

void collectSongs(const Dataset& data, const Eligibility& songs, const std::vector<char>& used, PairSet& set)
{
    for (size_t s = 0; s < data.songs.size(); ++s)
        if (used[s]) set.songs.push_back({ data.songs[s].trackId, data.prompt(data.songs[s]), songs.audio[s] });
    std::sort(
        set.songs.begin(), set.songs.end(), [](const PairSong& a, const PairSong& b) { return a.trackId < b.trackId; });
}

} // namespace

Expected<PairSet> buildPairs(const PairBuilderOptions& options, const std::vector<MetricInfo>& metrics,
    const ProgressCallback& progress, const CancelToken* cancel)
{
    TMK_TRY(options.validate());
    Expected<Dataset> data = loadDataset(options, metrics, progress, cancel);
    if (!data) return data.error();
    PairSet set;
    PairReport& report = set.report;
    report.options = options;
    report.rows = data->rows;
    report.songs = static_cast<int64_t>(data->songs.size());
    report.youtubeRows = data->youtubeRows;
    report.youtubeMatchedSongs = data->youtubeMatchedSongs;
    report.skipped = data->skipped;
    Expected<Eligibility> songs = filterSongs(*data, options, report);
    if (!songs) return songs.error();
    std::vector<Pool> pools;
    const std::vector<int> poolOf = assignPools(*data, *songs, pools);
    std::vector<Matching> matchings;
    const std::vector<int> matchingOf = assignMatchings(*data, metrics, options, pools, poolOf, matchings);
    TMK_TRY(match(*data, *songs, pools, matchings, progress, cancel));
    std::vector<char> used(data->songs.size(), 0);
    makePairs(*data, metrics, options, *songs, pools, poolOf, matchings, matchingOf, set, used);
    collectSongs(*data, *songs, used, set);
    return set;
}

} // namespace tmk
