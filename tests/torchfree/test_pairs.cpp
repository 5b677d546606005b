// The pair builder on the committed sample (tests/data/datasets): songs, the YouTube join, availability,
// disjoint matching on the other features with a rank gap, splits, determinism, audio matching, malformed rows,
// cancel and the pairs folder.
#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <tuple>

#include "data/dataset.h"
#include "data/pair_builder.h"
#include "simple_csv.h"
#include "tastemaker/pairs.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace tmk;

namespace {

fs::path datasets()
{
    return test::dataDir() / "datasets";
}
fs::path tracksSample()
{
    return datasets() / "tracks_sample.csv.gz";
}
fs::path youtubeSample()
{
    return datasets() / "youtube_sample.csv.gz";
}

const std::vector<MetricInfo>& metrics()
{
    static const std::vector<MetricInfo> loaded = [] {
        Expected<std::vector<MetricInfo>> m = loadMetrics();
        EXPECT_TRUE(m.ok());
        return m.ok() ? *m : std::vector<MetricInfo> {};
    }();
    return loaded;
}

const std::vector<std::string> kSpotifyMetrics = { "popularity", "acousticness", "danceability", "energy",
    "instrumentalness", "liveness", "speechiness", "valence", "tempo" };

// The sample re-read with the simple test reader: each track id's first row and its genres in file order.
struct Source {
    std::vector<std::string> header;
    std::vector<std::string> order; // ids by first appearance
    std::map<std::string, std::vector<std::string>> firstRow;
    std::map<std::string, std::vector<std::string>> genres;
    int column(const std::string& name) const { return test::columnOf(header, name); }
    double value(const std::string& id, const std::string& name) const
    {
        return std::stod(firstRow.at(id)[static_cast<size_t>(column(name))]);
    }
};

Source readSource(const fs::path& path)
{
    const auto rows = test::parseCsvText(test::readAllInflated(path));
    Source source;
    source.header = rows.at(0);
    const int id = source.column("track_id"), genre = source.column("track_genre");
    for (size_t r = 1; r < rows.size(); ++r) {
        const std::string& key = rows[r][static_cast<size_t>(id)];
        if (source.firstRow.emplace(key, rows[r]).second) source.order.push_back(key);
        std::vector<std::string>& tags = source.genres[key];
        if (std::find(tags.begin(), tags.end(), rows[r][static_cast<size_t>(genre)]) == tags.end())
            tags.push_back(rows[r][static_cast<size_t>(genre)]);
    }
    return source;
}

std::string joined(const std::vector<std::string>& tags)
{
    std::string text;
    for (const std::string& tag : tags) text += (text.empty() ? "" : ", ") + tag;
    return text;
}

std::vector<std::string> splitTags(const std::string& prompt)
{
    std::vector<std::string> tags;
    for (size_t start = 0; start <= prompt.size();) {
        size_t end = prompt.find(", ", start);
        if (end == std::string::npos) end = prompt.size();
        tags.push_back(prompt.substr(start, end - start));
        start = end + 2;
    }
    return tags;
}

bool hasArtist(const std::string& artists, const std::string& artist)
{
    for (size_t start = 0; start <= artists.size();) {
        size_t end = std::min(artists.find(';', start), artists.size());
        if (normaliseStrict(artists.substr(start, end - start)) == normaliseStrict(artist)) return true;
        start = end + 1;
    }
    return false;
}

PairBuilderOptions sampleOptions()
{
    PairBuilderOptions options;
    options.tracksCsv = tracksSample();
    return options;
}

PairSet build(PairBuilderOptions options)
{
    if (options.tracksCsv.empty()) options.tracksCsv = tracksSample();
    Expected<PairSet> set = buildPairs(options, metrics());
    EXPECT_TRUE(set.ok()) << set.error().message;
    return set.ok() ? std::move(*set) : PairSet {};
}

std::vector<const PreferencePair*> pairsOf(const PairSet& set, const std::string& metric)
{
    std::vector<const PreferencePair*> pairs;
    for (const PreferencePair& pair : set.pairs)
        if (pair.metric == metric) pairs.push_back(&pair);
    return pairs;
}

} // namespace

TEST(Pairs, SongsAreUniqueTrackIdsWithTheUnionOfTheirGenres)
{
    const Source source = readSource(tracksSample());
    PairBuilderOptions options;
    options.dropSameRecording = false;
    const PairSet set = build(options);
    EXPECT_EQ(set.report.rows, 500);
    EXPECT_EQ(set.report.songs, static_cast<int64_t>(source.order.size()));
    EXPECT_EQ(set.report.genres, 5);
    // Same recordings under two ids tie on every metric, so not every song ends up in a pair here.
    ASSERT_GT(set.songs.size(), source.order.size() * 3 / 4);
    int multiGenre = 0;
    for (const PairSong& song : set.songs) {
        ASSERT_TRUE(source.genres.count(song.trackId)) << song.trackId;
        EXPECT_EQ(song.prompt, joined(source.genres.at(song.trackId))) << song.trackId;
        EXPECT_TRUE(song.audio.empty());
        multiGenre += source.genres.at(song.trackId).size() > 1;
    }
    EXPECT_GT(multiGenre, 20) << "the sample has tracks listed under several genres";
    EXPECT_TRUE(std::is_sorted(set.songs.begin(), set.songs.end(),
        [](const PairSong& a, const PairSong& b) { return a.trackId < b.trackId; }));
}

TEST(Pairs, SameRecordingsUnderOtherIdsAreDroppedByDefault)
{
    const Source source = readSource(tracksSample());
    std::set<std::string> seen;
    int64_t expectedDropped = 0;
    for (const std::string& id : source.order) {
        std::string key = source.genres.at(id).front();
        for (const char* column : { "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
                 "instrumentalness", "liveness", "valence", "tempo", "duration_ms" })
            key += "|" + source.firstRow.at(id)[static_cast<size_t>(source.column(column))];
        expectedDropped += !seen.insert(key).second;
    }
    ASSERT_GT(expectedDropped, 0);
    const PairSet dropped = build({});
    EXPECT_EQ(dropped.report.sameRecordingDropped, expectedDropped);
    EXPECT_EQ(dropped.report.find("energy")->songsWithValue, dropped.report.songs - expectedDropped);
    PairBuilderOptions keep;
    keep.dropSameRecording = false;
    EXPECT_EQ(build(keep).report.find("energy")->songsWithValue, dropped.report.songs);
}

TEST(Pairs, PairsAreDisjointWithinGenreAndChosenIsHigherInTheSourceCsv)
{
    const Source source = readSource(tracksSample());
    const PairSet set = build({});
    for (const std::string& metric : kSpotifyMetrics) {
        const MetricPairStats* stats = set.report.find(metric);
        ASSERT_NE(stats, nullptr);
        ASSERT_TRUE(stats->available) << metric;
        const auto pairs = pairsOf(set, metric);
        EXPECT_EQ(static_cast<int64_t>(pairs.size()), stats->trainPairs + stats->testPairs);
        // One matching per (genre, split) group: every song but at most one per group is in a pair, a tie or a
        // pair under the rank gap.
        const int64_t matched = 2 * (stats->trainPairs + stats->testPairs + stats->ties + stats->belowGap);
        EXPECT_LE(matched, stats->songsWithValue);
        EXPECT_GE(matched, stats->songsWithValue - 2 * set.report.genres) << metric;
        std::set<std::string> used;
        for (const PreferencePair* pair : pairs) {
            EXPECT_TRUE(used.insert(pair->chosen).second) << metric << ": " << pair->chosen << " is in two pairs";
            EXPECT_TRUE(used.insert(pair->rejected).second) << metric << ": " << pair->rejected << " is in two pairs";
            EXPECT_EQ(pair->chosenValue, source.value(pair->chosen, metric)) << metric << " " << pair->chosen;
            EXPECT_EQ(pair->rejectedValue, source.value(pair->rejected, metric)) << metric << " " << pair->rejected;
            EXPECT_GT(source.value(pair->chosen, metric), source.value(pair->rejected, metric)) << metric;
            const auto& chosenTags = source.genres.at(pair->chosen);
            const auto& rejectedTags = source.genres.at(pair->rejected);
            EXPECT_EQ(chosenTags.front(), rejectedTags.front()) << "paired within the first genre";
            for (const std::string& tag : splitTags(pair->prompt)) {
                EXPECT_NE(std::find(chosenTags.begin(), chosenTags.end(), tag), chosenTags.end()) << pair->prompt;
                EXPECT_NE(std::find(rejectedTags.begin(), rejectedTags.end(), tag), rejectedTags.end()) << pair->prompt;
            }
        }
    }
    EXPECT_GT(set.report.find("instrumentalness")->ties, 0) << "the sample has instrumentalness ties (0 vs 0)";
    EXPECT_GT(set.report.find("popularity")->ties, 0);
    EXPECT_GT(set.report.find("tempo")->belowGap, 0) << "the default rank gap drops near-equal pairs";
}

// Four songs of one genre: A and B alike in danceability, C and D too; A and C alike in tempo, B and D too.
// Every other feature is equal. Energy and the rest are constant, so tempo is the only metric that varies.
fs::path writeTwoWayTracks(const fs::path& dir)
{
    fs::create_directories(dir);
    std::string csv = "track_id,artists,track_name,popularity,danceability,energy,loudness,speechiness,acousticness,"
                      "instrumentalness,liveness,valence,tempo,track_genre\n";
    for (const auto& [id, danceability, tempo] :
        { std::tuple { "A", "0.0", "100" }, { "B", "0.1", "130" }, { "C", "1.0", "100.5" }, { "D", "1.1", "130.5" } })
        csv += std::string(id) + ",Band," + id + ",50," + danceability + ",0.5,-8,0.05,0.5,0.0,0.1,0.5," + tempo
            + ",rock\n";
    std::ofstream(dir / "tracks.csv") << csv;
    return dir / "tracks.csv";
}

std::set<std::pair<std::string, std::string>> pairIds(const PairSet& set, const std::string& metric)
{
    std::set<std::pair<std::string, std::string>> ids;
    for (const PreferencePair* pair : pairsOf(set, metric)) ids.insert({ pair->chosen, pair->rejected });
    return ids;
}

TEST(Pairs, AMetricsPairsAreMatchedOnTheOtherFeaturesAndDifferInItByTheRankGap)
{
    PairBuilderOptions options;
    options.tracksCsv = writeTwoWayTracks(test::freshOutDir("pairs_two_way"));
    options.testFraction = 0.0;
    // Matched without tempo, the pairs are the danceability neighbours, which differ by 30 BPM.
    const PairSet own = build(options);
    using Ids = std::set<std::pair<std::string, std::string>>;
    EXPECT_EQ(pairIds(own, "tempo"), (Ids { { "B", "A" }, { "D", "C" } }));
    // Matched without danceability, its pairs are the tempo neighbours.
    EXPECT_EQ(pairIds(own, "danceability"), (Ids { { "C", "A" }, { "D", "B" } }));

    // On all nine features (the original procedure) tempo pairs songs 0.5 BPM apart.
    options.matchOnOtherFeatures = false;
    options.minRankGap = 0.0;
    const PairSet all = build(options);
    EXPECT_EQ(pairIds(all, "tempo"), (Ids { { "C", "A" }, { "D", "B" } }));

    // Percentile ranks of tempo are 0, 1/3, 2/3, 1: those pairs are 1/3 apart, under a gap of 0.5.
    options.minRankGap = 0.5;
    const PairSet gapped = build(options);
    EXPECT_TRUE(pairIds(gapped, "tempo").empty());
    EXPECT_EQ(gapped.report.find("tempo")->belowGap, 2);
    options.minRankGap = 0.3;
    EXPECT_EQ(build(options).report.find("tempo")->belowGap, 0);

    options.minRankGap = 1.0;
    Expected<PairSet> invalid = buildPairs(options, metrics());
    ASSERT_FALSE(invalid.ok());
    EXPECT_NE(invalid.error().message.find("rank gap"), std::string::npos) << invalid.error().message;
}

TEST(Pairs, NoSongIsInBothSplitsAndTheSplitFollowsTheFraction)
{
    const PairSet set = build({});
    std::map<std::string, bool> splitOf;
    int64_t test = 0;
    for (const PreferencePair& pair : set.pairs) {
        for (const std::string& id : { pair.chosen, pair.rejected }) {
            auto [it, inserted] = splitOf.emplace(id, pair.test);
            EXPECT_EQ(it->second, pair.test) << id << " is in both splits";
        }
        test += pair.test;
    }
    const double fraction = static_cast<double>(test) / static_cast<double>(set.pairs.size());
    EXPECT_GT(fraction, 0.08);
    EXPECT_LT(fraction, 0.35);
    PairBuilderOptions none;
    none.testFraction = 0.0;
    for (const PreferencePair& pair : build(none).pairs) EXPECT_FALSE(pair.test);
    PairBuilderOptions bad;
    bad.tracksCsv = tracksSample();
    bad.testFraction = 1.0;
    Expected<PairSet> rejected = buildPairs(bad, metrics());
    ASSERT_FALSE(rejected.ok());
    EXPECT_EQ(rejected.error().code, ErrorCode::InvalidArgument);
}

TEST(Pairs, OneSeedGivesByteIdenticalFilesAndAnotherSeedOtherSplits)
{
    PairBuilderOptions options;
    options.youtubeCsv = youtubeSample();
    const fs::path a = test::freshOutDir("pairs_determinism_a"), b = test::freshOutDir("pairs_determinism_b");
    const fs::path c = test::freshOutDir("pairs_determinism_c");
    ASSERT_TRUE(writePairSet(build(options), a).ok());
    ASSERT_TRUE(writePairSet(build(options), b).ok());
    for (const char* file : { "pairs.jsonl", "songs.jsonl", "report.json" }) {
        ASSERT_FALSE(test::fileBytes(a / file).empty()) << file;
        EXPECT_EQ(test::fileBytes(a / file), test::fileBytes(b / file)) << file;
    }
    options.seed = 7;
    ASSERT_TRUE(writePairSet(build(options), c).ok());
    EXPECT_NE(test::fileBytes(a / "pairs.jsonl"), test::fileBytes(c / "pairs.jsonl"));
}

TEST(Pairs, YoutubeMetricsComeFromTheJoinedRowsAndPairOnlySongsWithStatistics)
{
    const Source source = readSource(tracksSample());
    const auto youtube = test::parseCsvText(test::readAllInflated(youtubeSample()));
    const int artist = test::columnOf(youtube[0], "Artist"), views = test::columnOf(youtube[0], "Views");
    const int likes = test::columnOf(youtube[0], "Likes"), comments = test::columnOf(youtube[0], "Comments");
    PairBuilderOptions options;
    options.youtubeCsv = youtubeSample();
    const PairSet set = build(options);
    EXPECT_EQ(set.report.youtubeRows, static_cast<int64_t>(youtube.size() - 1));
    EXPECT_GT(set.report.youtubeMatchedSongs, 100);
    EXPECT_LT(set.report.youtubeMatchedSongs, set.report.songs);
    // A value is the statistic of a YouTube row by one of the song's artists.
    const auto rowValues = [&](const std::string& id, const std::string& metric) {
        std::vector<double> values;
        const std::string artists = source.firstRow.at(id)[static_cast<size_t>(source.column("artists"))];
        for (size_t r = 1; r < youtube.size(); ++r) {
            const auto& row = youtube[r];
            if (!hasArtist(artists, row[static_cast<size_t>(artist)]) || row[static_cast<size_t>(views)].empty())
                continue;
            const double v = std::stod(row[static_cast<size_t>(views)]);
            if (metric == "view_count")
                values.push_back(v);
            else if (!row[static_cast<size_t>(likes)].empty() && !row[static_cast<size_t>(comments)].empty() && v > 0)
                values.push_back(1000.0
                    * (std::stod(row[static_cast<size_t>(likes)]) + std::stod(row[static_cast<size_t>(comments)])) / v);
        }
        return values;
    };
    for (const std::string metric : { "view_count", "interactions_per_kview" }) {
        const MetricPairStats* stats = set.report.find(metric);
        ASSERT_TRUE(stats && stats->available) << metric;
        EXPECT_LE(stats->songsWithValue, set.report.youtubeMatchedSongs);
        const auto pairs = pairsOf(set, metric);
        EXPECT_GT(pairs.size(), 40u) << metric;
        for (const PreferencePair* pair : pairs) {
            EXPECT_GT(pair->chosenValue, pair->rejectedValue);
            for (const auto& [id, value] :
                { std::pair { pair->chosen, pair->chosenValue }, std::pair { pair->rejected, pair->rejectedValue } }) {
                const std::vector<double> candidates = rowValues(id, metric);
                EXPECT_TRUE(std::any_of(candidates.begin(), candidates.end(),
                    [&](double c) { return std::abs(c - value) <= 1e-9 * std::abs(c); }))
                    << metric << " of " << id << " = " << value << " is no YouTube row of its artists";
            }
        }
    }
    EXPECT_EQ(set.report.find("energy")->songsWithValue, build({}).report.find("energy")->songsWithValue)
        << "Spotify metrics pair every song, with or without YouTube statistics";
}

TEST(Pairs, TitleNormalisationFoldsAccentsCaseAndEditionTags)
{
    EXPECT_EQ(normaliseStrict("Beyonc\xC3\xA9"), "beyonce");
    EXPECT_EQ(normaliseStrict("Beyonce\xCC\x81"), "beyonce") << "a combining accent";
    EXPECT_EQ(normaliseStrict("  Guns N' Roses  "), "guns n roses");
    EXPECT_EQ(normaliseStrict("Simon & Garfunkel"), "simon and garfunkel");
    EXPECT_EQ(normaliseStrict("Mot\xC3\xB6rhead"), "motorhead");
    EXPECT_EQ(normaliseStrict("\xC5\x81\xC3\xB3"
                              "d\xC5\xBA"),
        "lodz");
    EXPECT_EQ(normaliseStrict("\xE5\xA4\x9C\xE3\x81\xAB\xE9\xA7\x86\xE3\x81\x91\xE3\x82\x8B"),
        "\xE5\xA4\x9C\xE3\x81\xAB\xE9\xA7\x86\xE3\x81\x91\xE3\x82\x8B");
    EXPECT_EQ(normaliseTitleLoose("Don't Stop Me Now - Remastered 2011"), "don t stop me now");
    EXPECT_EQ(normaliseTitleLoose("Sunflower (feat. Swae Lee) [Spider-Man]"), "sunflower");
    EXPECT_EQ(normaliseTitleLoose("Lean On feat. M\xC3\x98 & DJ Snake"), "lean on");
    EXPECT_EQ(normaliseTitleLoose("Left Hand Free ft. Somebody"), "left hand free");
    EXPECT_EQ(normaliseTitleLoose("Aftermath"), "aftermath") << "\"ft.\" only at a word start";
    EXPECT_EQ(normaliseTitleLoose("(Intro)"), "intro") << "a title that is all tags keeps its words";
    EXPECT_EQ(normaliseTitleLoose("Feel Good Inc."), normaliseTitleLoose("FEEL GOOD INC"));
}

TEST(Pairs, UnavailableMetricsSayWhichColumnsAreMissing)
{
    const PairSet spotifyOnly = build({});
    for (const std::string metric : { "view_count", "interactions_per_kview", "like_ratio" }) {
        const MetricPairStats* stats = spotifyOnly.report.find(metric);
        ASSERT_FALSE(stats->available) << metric;
        EXPECT_NE(stats->unavailableReason.find("tracks_sample.csv.gz"), std::string::npos) << stats->unavailableReason;
        EXPECT_NE(stats->unavailableReason.find("no YouTube dataset"), std::string::npos) << stats->unavailableReason;
        EXPECT_TRUE(pairsOf(spotifyOnly, metric).empty());
    }
    EXPECT_NE(spotifyOnly.report.find("view_count")->unavailableReason.find("Views"), std::string::npos);
    PairBuilderOptions options;
    options.youtubeCsv = youtubeSample();
    const PairSet withYoutube = build(options);
    const std::string& likeRatio = withYoutube.report.find("like_ratio")->unavailableReason;
    EXPECT_FALSE(withYoutube.report.find("like_ratio")->available);
    for (const char* word : { "Dislikes", "tracks_sample.csv.gz", "youtube_sample.csv.gz" })
        EXPECT_NE(likeRatio.find(word), std::string::npos) << likeRatio;
    EXPECT_EQ(likeRatio.find("Likes,"), std::string::npos) << "only the missing column is named: " << likeRatio;
    const MetricPairStats* rating = withYoutube.report.find("rating");
    EXPECT_FALSE(rating->available);
    EXPECT_NE(rating->unavailableReason.find("--rating-column"), std::string::npos) << rating->unavailableReason;

    options.ratingColumn = "stars";
    const PairSet unrated = build(options);
    const MetricPairStats* missing = unrated.report.find("rating");
    EXPECT_FALSE(missing->available);
    EXPECT_NE(missing->unavailableReason.find("\"stars\""), std::string::npos) << missing->unavailableReason;

    options.ratingColumn = "ENERGY"; // any numeric column works as a rating, matched case-insensitively
    const PairSet rated = build(options);
    ASSERT_TRUE(rated.report.find("rating")->available);
    const auto ratingPairs = pairsOf(rated, "rating"), energyPairs = pairsOf(rated, "energy");
    ASSERT_EQ(ratingPairs.size(), energyPairs.size());
    for (size_t i = 0; i < ratingPairs.size(); ++i) {
        EXPECT_EQ(ratingPairs[i]->chosen, energyPairs[i]->chosen);
        EXPECT_EQ(ratingPairs[i]->rejected, energyPairs[i]->rejected);
    }

    std::vector<MetricInfo> textual = { metrics().front() }; // a column that exists but holds no numbers
    textual[0].id = "album";
    textual[0].expression.column = "album_name";
    Expected<PairSet> noValues = buildPairs(sampleOptions(), textual);
    ASSERT_TRUE(noValues.ok());
    EXPECT_FALSE(noValues->report.metrics[0].available);
    EXPECT_NE(noValues->report.metrics[0].unavailableReason.find("no value for any song"), std::string::npos);
}

TEST(Pairs, MalformedRowsAreSkippedAndReportedWithLineNumbers)
{
    PairBuilderOptions options;
    options.tracksCsv = datasets() / "malformed_rows.csv";
    const PairSet set = build(options);
    EXPECT_EQ(set.report.rows, 10);
    EXPECT_EQ(set.report.songs, 5);
    std::map<std::string, std::vector<int64_t>> skipped;
    for (const SkippedRows& rows : set.report.skipped) {
        EXPECT_EQ(rows.count, static_cast<int64_t>(rows.exampleLines.size()));
        skipped[rows.reason] = rows.exampleLines;
    }
    EXPECT_EQ(skipped["malformed_rows.csv: wrong number of fields (expected 14)"], (std::vector<int64_t> { 6, 11 }));
    EXPECT_EQ(skipped["malformed_rows.csv: text after a closing quote"], (std::vector<int64_t> { 8 }));
    EXPECT_EQ(skipped["malformed_rows.csv: unterminated quoted field"], (std::vector<int64_t> { 12 }));
    EXPECT_EQ(skipped["malformed_rows.csv: empty track_id"], (std::vector<int64_t> { 10 }));
    EXPECT_EQ(skipped.size(), 4u);
    EXPECT_EQ(
        set.report.find("energy")->trainPairs + set.report.find("energy")->testPairs + set.report.find("energy")->ties,
        2);
    EXPECT_NE(set.report.toJson().find("\"example_lines\""), std::string::npos);

    options.tracksCsv = datasets() / "bad_header.csv";
    Expected<PairSet> badHeader = buildPairs(options, metrics());
    ASSERT_FALSE(badHeader.ok());
    EXPECT_NE(badHeader.error().message.find("bad_header.csv"), std::string::npos) << badHeader.error().message;
    options.tracksCsv = youtubeSample(); // a CSV, but not a tracks CSV
    Expected<PairSet> wrongKind = buildPairs(options, metrics());
    ASSERT_FALSE(wrongKind.ok());
    EXPECT_NE(wrongKind.error().message.find("youtube_sample.csv.gz"), std::string::npos) << wrongKind.error().message;
    EXPECT_NE(wrongKind.error().message.find("track_id"), std::string::npos) << wrongKind.error().message;
}

TEST(Pairs, AudioIsFoundByTrackIdOrAudioPathAndSongsWithoutItAreExcluded)
{
    const fs::path dir = test::freshOutDir("pairs_audio");
    const fs::path audio = dir / "audio";
    fs::create_directories(audio / "sub");
    fs::create_directories(audio / "custom");
    for (const fs::path& file :
        { audio / "a1.wav", audio / "a2.FLAC", audio / "sub" / "a3.mp3", audio / "custom" / "x.ogg", audio / "a6.txt" })
        std::ofstream(file) << "not really audio";
    std::string csv = "track_id,artists,track_name,popularity,danceability,energy,loudness,speechiness,acousticness,"
                      "instrumentalness,liveness,"
                      "valence,tempo,track_genre,audio_path\n";
    const std::vector<std::pair<std::string, std::string>> songs
        = { { "a1", "" }, { "a2", "" }, { "a3", "" }, { "a4", "custom/x.ogg" }, { "a5", "missing.wav" }, { "a6", "" } };
    for (size_t i = 0; i < songs.size(); ++i) {
        const std::string v = std::to_string(0.1 * static_cast<double>(i + 1));
        csv += songs[i].first + ",Band,Song," + std::to_string(10 + i) + "," + v + "," + v + ",-5," + v + "," + v
            + ",0.5," + v + "," + v + ",1" + std::to_string(i) + "0,rock," + songs[i].second + "\n";
    }
    std::ofstream(dir / "tracks.csv") << csv;
    PairBuilderOptions options;
    options.tracksCsv = dir / "tracks.csv";
    options.audioDir = audio;
    options.testFraction = 0.0; // one group of 4 songs: 2 pairs
    const PairSet set = build(options);
    EXPECT_EQ(set.report.songsWithAudio, 4);
    EXPECT_EQ(set.report.songsWithoutAudio, 2);
    std::map<std::string, fs::path> found;
    for (const PairSong& song : set.songs) found[song.trackId] = song.audio;
    const fs::path root = fs::absolute(audio).lexically_normal();
    EXPECT_EQ(found,
        (std::map<std::string, fs::path> { { "a1", root / "a1.wav" }, { "a2", root / "a2.FLAC" },
            { "a3", root / "sub" / "a3.mp3" }, { "a4", root / "custom" / "x.ogg" } }));
    for (const PreferencePair& pair : set.pairs)
        for (const std::string& id : { pair.chosen, pair.rejected })
            EXPECT_TRUE(id != "a5" && id != "a6") << "a song without audio was paired";
    EXPECT_EQ(set.report.find("tempo")->trainPairs + set.report.find("tempo")->testPairs, 2);

    const fs::path out = test::freshOutDir("pairs_audio_out");
    ASSERT_TRUE(writePairSet(set, out).ok());
    EXPECT_NE(test::fileBytes(out / "songs.jsonl").find("\"audio\":\"" + (root / "a1.wav").string() + "\""),
        std::string::npos);
    options.audioDir = dir / "no_such_folder";
    Expected<PairSet> missing = buildPairs(options, metrics());
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("no_such_folder"), std::string::npos);
}

TEST(Pairs, MatchingEqualsGreedyOverAllEdgesSortedByDistance)
{
    std::mt19937 rng(3);
    for (int n : { 0, 1, 2, 3, 10, 51, 200 }) {
        std::vector<FeaturePoint> points(static_cast<size_t>(n));
        std::uniform_int_distribution<int> coarse(0, 3); // few distinct values: many equal distances
        for (FeaturePoint& p : points)
            for (double& x : p) x = coarse(rng);
        std::vector<int> rank(static_cast<size_t>(n));
        std::iota(rank.begin(), rank.end(), 0);
        std::shuffle(rank.begin(), rank.end(), rng);
        struct E {
            double d;
            int lo, hi, a, b;
        };
        std::vector<E> edges;
        for (int a = 0; a < n; ++a)
            for (int b = a + 1; b < n; ++b) {
                double d = 0;
                for (size_t k = 0; k < 9; ++k)
                    d += (points[static_cast<size_t>(a)][k] - points[static_cast<size_t>(b)][k])
                        * (points[static_cast<size_t>(a)][k] - points[static_cast<size_t>(b)][k]);
                const int ra = rank[static_cast<size_t>(a)], rb = rank[static_cast<size_t>(b)];
                edges.push_back({ d, std::min(ra, rb), std::max(ra, rb), a, b });
            }
        std::sort(edges.begin(), edges.end(),
            [](const E& x, const E& y) { return std::tie(x.d, x.lo, x.hi) < std::tie(y.d, y.lo, y.hi); });
        std::vector<char> taken(static_cast<size_t>(n), 0);
        std::set<std::pair<int, int>> expected;
        for (const E& e : edges)
            if (!taken[static_cast<size_t>(e.a)] && !taken[static_cast<size_t>(e.b)]) {
                taken[static_cast<size_t>(e.a)] = taken[static_cast<size_t>(e.b)] = 1;
                expected.insert({ e.a, e.b });
            }
        std::set<std::pair<int, int>> actual;
        for (auto [a, b] : matchClosestPairs(points, rank)) actual.insert({ std::min(a, b), std::max(a, b) });
        EXPECT_EQ(actual, expected) << n << " points";
        EXPECT_EQ(actual.size(), static_cast<size_t>(n / 2));
    }
}

TEST(Pairs, ReportsProgressAndHonoursCancel)
{
    std::vector<Progress> seen;
    PairBuilderOptions options = sampleOptions();
    options.youtubeCsv = youtubeSample();
    ASSERT_TRUE(buildPairs(options, metrics(), [&](const Progress& p) { seen.push_back(p); }).ok());
    std::set<ProgressStage> stages;
    for (const Progress& p : seen) stages.insert(p.stage);
    EXPECT_EQ(stages,
        (std::set<ProgressStage> {
            ProgressStage::ReadingTracks, ProgressStage::ReadingYouTube, ProgressStage::MatchingSongs }));
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().stage, ProgressStage::MatchingSongs);
    EXPECT_EQ(seen.back().done, seen.back().total);

    CancelToken cancelled;
    cancelled.requestCancel();
    Expected<PairSet> early = buildPairs(options, metrics(), {}, &cancelled);
    ASSERT_FALSE(early.ok());
    EXPECT_EQ(early.error().code, ErrorCode::Cancelled);
    CancelToken midway;
    Expected<PairSet> late = buildPairs(
        options, metrics(),
        [&](const Progress& p) {
            if (p.stage == ProgressStage::MatchingSongs) midway.requestCancel();
        },
        &midway);
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(late.error().code, ErrorCode::Cancelled);
}

TEST(Pairs, ThePairsFolderReadsBackAsWritten)
{
    PairBuilderOptions options = sampleOptions();
    options.youtubeCsv = youtubeSample();
    const PairSet set = build(options);
    const fs::path dir = test::freshOutDir("pairs_roundtrip");
    ASSERT_TRUE(writePairSet(set, dir).ok());
    Expected<PairSet> read = readPairSet(dir);
    ASSERT_TRUE(read.ok()) << read.error().message;
    ASSERT_EQ(read->pairs.size(), set.pairs.size());
    for (size_t i = 0; i < set.pairs.size(); ++i) {
        const PreferencePair &a = set.pairs[i], &b = read->pairs[i];
        EXPECT_EQ(std::tie(a.metric, a.prompt, a.chosen, a.rejected, a.chosenValue, a.rejectedValue, a.test),
            std::tie(b.metric, b.prompt, b.chosen, b.rejected, b.chosenValue, b.rejectedValue, b.test));
    }
    ASSERT_EQ(read->songs.size(), set.songs.size());
    EXPECT_EQ(read->songs.front().prompt, set.songs.front().prompt);
    EXPECT_EQ(read->report.toJson(), set.report.toJson());
    const std::vector<std::string> lines = test::fileLines(dir / "pairs.jsonl");
    EXPECT_EQ(lines.size(), set.pairs.size());
    EXPECT_EQ(lines.front().rfind("{\"metric\":\"popularity\",\"prompt\":", 0), 0u) << lines.front();

    std::ofstream(dir / "pairs.jsonl", std::ios::app) << "{\"metric\":\"energy\",\"prompt\":\"x\",\"chosen\":\"a\"}\n";
    Expected<PairSet> broken = readPairSet(dir);
    ASSERT_FALSE(broken.ok());
    EXPECT_NE(broken.error().message.find("pairs.jsonl: line " + std::to_string(lines.size() + 1)), std::string::npos)
        << broken.error().message;
    Expected<PairSet> none = readPairSet(dir / "nowhere");
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, ErrorCode::NotFound);
}
