// tastemaker-cli pairs: on the committed sample, on bad input, and on the real data in ../shared/data
// (skipped when that folder is absent).
#include <cctype>
#include <cstdlib>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "process.h"
#include "simple_csv.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace tmk;
using test::runProcess;

namespace {

std::string cli()
{
    return test::cliPath().string();
}
fs::path datasets()
{
    return test::dataDir() / "datasets";
}

fs::path sharedData()
{
    const char* source = std::getenv("TM_SOURCE_DIR");
    return (source && *source ? fs::path(source) : fs::current_path()) / ".." / "shared" / "data";
}

json readJson(const fs::path& path)
{
    return json::parse(test::fileBytes(path));
}

std::vector<json> readPairs(const fs::path& dir)
{
    std::vector<json> pairs;
    for (const std::string& line : test::fileLines(dir / "pairs.jsonl")) pairs.push_back(json::parse(line));
    return pairs;
}

const json* metricEntry(const json& report, const std::string& id)
{
    for (const json& m : report.at("metrics"))
        if (m.at("metric") == id) return &m;
    return nullptr;
}

std::string lower(std::string text)
{
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::vector<std::string> splitArtists(const std::string& artists)
{
    std::vector<std::string> names;
    for (size_t start = 0; start <= artists.size();) {
        const size_t end = std::min(artists.find(';', start), artists.size());
        names.push_back(artists.substr(start, end - start));
        start = end + 1;
    }
    return names;
}

} // namespace

TEST(CliPairs, WritesThePairsFolderAndASummaryForTheSample)
{
    const fs::path out = test::freshOutDir("cli_pairs_sample");
    auto result = runProcess(cli(),
        { "pairs", "--tracks", (datasets() / "tracks_sample.csv.gz").string(), "--youtube",
            (datasets() / "youtube_sample.csv.gz").string(), "--out", out.string(), "--seed", "3" });
    ASSERT_EQ(result.exitCode, 0) << result.err;
    for (const char* text : { "songs: 373 unique track ids from 500 rows", "view_count", "unavailable: like_ratio",
             "unavailable: rating", "wrote" })
        EXPECT_NE(result.out.find(text), std::string::npos) << text << " missing from:\n" << result.out;
    EXPECT_NE(result.err.find("matching songs"), std::string::npos) << "progress on stderr: " << result.err;
    const json report = readJson(out / "report.json");
    EXPECT_EQ(report.at("options").at("seed"), 3);
    EXPECT_EQ(report.at("metrics").size(), 13u);
    int64_t total = 0;
    for (const json& m : report.at("metrics"))
        if (m.at("available")) total += m.at("train_pairs").get<int64_t>() + m.at("test_pairs").get<int64_t>();
    EXPECT_EQ(static_cast<int64_t>(readPairs(out).size()), total);
    EXPECT_EQ(report.at("pairs").at("total"), total);
    EXPECT_FALSE(test::fileLines(out / "songs.jsonl").empty());
}

TEST(CliPairs, BadArgumentsAndMalformedFilesFailWithAMessage)
{
    const fs::path out = test::freshOutDir("cli_pairs_bad");
    auto noTracks = runProcess(cli(), { "pairs", "--out", out.string() });
    EXPECT_EQ(noTracks.exitCode, 2) << noTracks.err;
    auto fraction = runProcess(cli(),
        { "pairs", "--tracks", (datasets() / "tracks_sample.csv.gz").string(), "--out", out.string(), "--test-fraction",
            "1.5" });
    EXPECT_EQ(fraction.exitCode, 2) << fraction.err;
    EXPECT_NE(fraction.err.find("test fraction"), std::string::npos) << fraction.err;
    auto header
        = runProcess(cli(), { "pairs", "--tracks", (datasets() / "bad_header.csv").string(), "--out", out.string() });
    EXPECT_EQ(header.exitCode, 1);
    EXPECT_NE(header.err.find("bad_header.csv"), std::string::npos) << header.err;
    EXPECT_FALSE(fs::exists(out / "pairs.jsonl")) << "nothing is written when the input is bad";
    auto rows = runProcess(
        cli(), { "pairs", "--tracks", (datasets() / "malformed_rows.csv").string(), "--out", out.string() });
    EXPECT_EQ(rows.exitCode, 0) << rows.err;
    EXPECT_NE(rows.out.find("skipped 2 rows: malformed_rows.csv: wrong number of fields (expected 14) (lines 6 11)"),
        std::string::npos)
        << rows.out;
}

// The real data: the full Spotify Tracks CSV (114,000 rows) and the merged Spotify-YouTube CSV.
TEST(CliPairs, RealDataGivesPlausibleDeterministicPairsThatAgreeWithTheSourceCsv)
{
    const fs::path data = sharedData();
    const fs::path tracks = data / "spotify_tracks_dataset.csv.gz",
                   youtube = data / "spotify_youtube_merged_partial.csv.gz";
    if (!fs::exists(tracks) || !fs::exists(youtube))
        GTEST_SKIP() << "the real data is not here (" << data.string() << ")";
    const fs::path a = test::freshOutDir("cli_pairs_real_a"), b = test::freshOutDir("cli_pairs_real_b");
    for (const fs::path& out : { a, b }) {
        auto result = runProcess(
            cli(), { "pairs", "--tracks", tracks.string(), "--youtube", youtube.string(), "--out", out.string() });
        ASSERT_EQ(result.exitCode, 0) << result.err;
    }
    for (const char* file : { "pairs.jsonl", "songs.jsonl", "report.json" })
        EXPECT_TRUE(test::fileBytes(a / file) == test::fileBytes(b / file))
            << file << " differs between two runs with one seed";

    const json report = readJson(a / "report.json");
    EXPECT_EQ(report.at("rows"), 114000);
    EXPECT_EQ(report.at("songs"), 89741);
    EXPECT_GT(report.at("youtube_matched_songs").get<int64_t>(), 8000);
    const int64_t genres = report.at("genres");
    for (const char* id : { "popularity", "acousticness", "danceability", "energy", "instrumentalness", "liveness",
             "speechiness", "valence", "tempo" }) {
        const json& m = *metricEntry(report, id);
        ASSERT_TRUE(m.at("available")) << id;
        const int64_t songs = m.at("songs_with_value"),
                      pairs = m.at("train_pairs").get<int64_t>() + m.at("test_pairs").get<int64_t>();
        EXPECT_GT(songs, 80000) << id;
        const int64_t matched = pairs + m.at("ties").get<int64_t>() + m.at("below_gap").get<int64_t>();
        EXPECT_LE(2 * matched, songs) << id;
        EXPECT_GE(2 * matched, songs - 2 * genres) << id << ": about N/2 matched pairs";
        // Matched on the other features, a pair's two percentile ranks are nearly independent: about
        // (1 - 0.25)^2 of them clear the default gap of 0.25, less the ties.
        EXPECT_GT(pairs, songs / 6) << id << ": most matched pairs clear the rank gap";
        EXPECT_LT(pairs, songs * 3 / 10) << id << ": near-equal pairs are dropped";
        const double test = m.at("test_pairs").get<double>() / static_cast<double>(pairs);
        EXPECT_GT(test, 0.17) << id;
        EXPECT_LT(test, 0.23) << id;
    }
    for (const char* id : { "view_count", "interactions_per_kview" }) {
        const json& m = *metricEntry(report, id);
        ASSERT_TRUE(m.at("available")) << id;
        const int64_t pairs = m.at("train_pairs").get<int64_t>() + m.at("test_pairs").get<int64_t>();
        EXPECT_GT(pairs, 1000) << id;
        EXPECT_LT(pairs, 3000) << id;
    }
    EXPECT_FALSE(metricEntry(report, "like_ratio")->at("available"));
    EXPECT_NE(metricEntry(report, "like_ratio")->at("reason").get<std::string>().find("Dislikes"), std::string::npos);
    EXPECT_FALSE(metricEntry(report, "rating")->at("available"));
    EXPECT_NE(
        metricEntry(report, "rating")->at("reason").get<std::string>().find("--rating-column"), std::string::npos);

    // Against the source CSVs, read independently: each id's first row; YouTube statistics by artist (the join
    // ignores case: "Official HIGE DANdism" is "OFFICIAL HIGE DANDISM" on YouTube).
    const auto rows = test::parseCsvText(test::readAllInflated(tracks));
    ASSERT_EQ(rows.size(), 114001u);
    const int idColumn = test::columnOf(rows[0], "track_id"), artistsColumn = test::columnOf(rows[0], "artists");
    std::map<std::string, const std::vector<std::string>*> firstRow;
    for (size_t r = 1; r < rows.size(); ++r) firstRow.emplace(rows[r][static_cast<size_t>(idColumn)], &rows[r]);
    const auto yt = test::parseCsvText(test::readAllInflated(youtube));
    const int ytArtist = test::columnOf(yt[0], "Artist"), ytViews = test::columnOf(yt[0], "Views");
    std::map<std::string, std::set<double>> viewsByArtist;
    for (size_t r = 1; r < yt.size(); ++r)
        if (!yt[r][static_cast<size_t>(ytViews)].empty())
            viewsByArtist[lower(yt[r][static_cast<size_t>(ytArtist)])].insert(
                std::stod(yt[r][static_cast<size_t>(ytViews)]));
    const auto hasViews = [&](const std::string& id, double views) {
        for (const std::string& artist : splitArtists(lower((*firstRow.at(id))[static_cast<size_t>(artistsColumn)])))
            if (viewsByArtist.count(artist) && viewsByArtist.at(artist).count(views)) return true;
        return false;
    };

    std::map<std::string, std::string> splitOf;
    int64_t checked = 0;
    for (const json& pair : readPairs(a)) {
        const std::string metric = pair.at("metric"), chosen = pair.at("chosen"), rejected = pair.at("rejected"),
                          split = pair.at("split");
        const double chosenValue = pair.at("chosen_value"), rejectedValue = pair.at("rejected_value");
        ASSERT_GT(chosenValue, rejectedValue);
        for (const std::string& id : { chosen, rejected }) {
            auto [it, inserted] = splitOf.emplace(id, split);
            ASSERT_EQ(it->second, split) << id << " is in both splits";
        }
        const int column = test::columnOf(rows[0], metric);
        if (column >= 0) {
            ASSERT_EQ(std::stod((*firstRow.at(chosen))[static_cast<size_t>(column)]), chosenValue)
                << metric << " " << chosen;
            ASSERT_EQ(std::stod((*firstRow.at(rejected))[static_cast<size_t>(column)]), rejectedValue)
                << metric << " " << rejected;
        } else if (metric == "view_count") {
            ASSERT_TRUE(hasViews(chosen, chosenValue) && hasViews(rejected, rejectedValue))
                << chosen << " / " << rejected;
        }
        ++checked;
    }
    EXPECT_EQ(checked, report.at("pairs").at("total").get<int64_t>());
}
