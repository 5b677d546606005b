// End to end: `tastemaker-cli world render` renders a tiny world (20 songs of 4 s, TimGM6mb) twice with different
// --jobs, byte-identically; its CSVs have the contracted headers; and `tastemaker-cli pairs` gives all 13 metrics.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "process.h"
#include "tastemaker/world/world.h"

namespace fs = std::filesystem;
using tmk::test::runProcess;

namespace {

const char* const kTinySoundfont = "/usr/share/sounds/sf2/TimGM6mb.sf2";

std::string readAll(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string firstLine(const fs::path& path)
{
    const std::string text = readAll(path);
    return text.substr(0, text.find('\n'));
}

std::string joined(const std::vector<std::string>& columns)
{
    std::string line;
    for (size_t i = 0; i < columns.size(); ++i) line += (i ? "," : "") + columns[i];
    return line;
}

size_t lineCount(const fs::path& path)
{
    const std::string text = readAll(path);
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Every regular file under `dir`, relative path -> bytes.
std::map<std::string, std::string> tree(const fs::path& dir)
{
    std::map<std::string, std::string> files;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir))
        if (entry.is_regular_file()) files[fs::relative(entry.path(), dir).string()] = readAll(entry.path());
    return files;
}

fs::path freshDir(const std::string& name)
{
    const fs::path dir = fs::path(TM_WORLD_TEST_OUT) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

tmk::test::ProcessResult render(const fs::path& out, const std::string& jobs)
{
    return runProcess(TM_WORLD_CLI,
        { "world", "render", "--songs", "20", "--seed", "7", "--seconds", "4", "--out", out.string(), "--soundfont",
            kTinySoundfont, "--genres", "rock,techno,jazz,hip-hop", "--jobs", jobs });
}

} // namespace

class WorldRender : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        if (!fs::exists(kTinySoundfont)) return;
        s_first = freshDir("tiny-a");
        s_second = freshDir("tiny-b");
        s_firstRun = render(s_first, "2");
        s_secondRun = render(s_second, "1");
    }
    void SetUp() override
    {
        if (!fs::exists(kTinySoundfont)) GTEST_SKIP() << "timgm6mb-soundfont is not installed";
        ASSERT_EQ(s_firstRun.exitCode, 0) << s_firstRun.err;
        ASSERT_EQ(s_secondRun.exitCode, 0) << s_secondRun.err;
    }
    static inline fs::path s_first, s_second;
    static inline tmk::test::ProcessResult s_firstRun, s_secondRun;
};

TEST_F(WorldRender, SameSeedGivesByteIdenticalFilesWhateverTheJobs)
{
    const std::map<std::string, std::string> a = tree(s_first), b = tree(s_second);
    ASSERT_EQ(a.size(), 24u); // 20 WAVs + 4 CSVs
    for (const auto& [name, bytes] : a) {
        ASSERT_TRUE(b.count(name)) << name;
        EXPECT_TRUE(bytes == b.at(name)) << name << " differs between --jobs 2 and --jobs 1";
    }
}

TEST_F(WorldRender, WritesTheContractedCsvsAndMonoWavs)
{
    EXPECT_EQ(firstLine(s_first / "tracks.csv"),
        ",track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,loudness,mode,"
        "speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,track_genre,audio_path,"
        "my_rating");
    EXPECT_EQ(firstLine(s_first / "youtube.csv"), joined(tmk::world::youtubeColumns()));
    EXPECT_EQ(firstLine(s_first / "youtube.csv"), ",Artist,Track,Album,Uri,Views,Likes,Comments,Dislikes");
    EXPECT_EQ(firstLine(s_first / "knobs.csv"), joined(tmk::world::knobsColumns()));
    EXPECT_EQ(firstLine(s_first / "prompts.csv"), "track_id,prompt");
    EXPECT_EQ(lineCount(s_first / "tracks.csv"), 21u);
    EXPECT_EQ(lineCount(s_first / "knobs.csv"), 21u);
    EXPECT_EQ(lineCount(s_first / "prompts.csv"), 21u);
    EXPECT_EQ(lineCount(s_first / "youtube.csv"), 13u); // 3 + 3 + 3 + 3 of each genre's 5 songs have a row
    size_t wavs = 0;
    for (const fs::directory_entry& entry : fs::directory_iterator(s_first / "audio")) {
        ++wavs;
        const std::string bytes = readAll(entry.path());
        ASSERT_EQ(bytes.size(), 44u + 4u * 16000u * 2u) << entry.path(); // 4 s, 16 kHz, mono, 16-bit
        EXPECT_EQ(bytes.substr(0, 4), "RIFF");
        EXPECT_EQ(bytes.substr(8, 4), "WAVE");
        double sum = 0.0;
        for (size_t i = 44; i + 1 < bytes.size(); i += 2) {
            const auto sample
                = static_cast<int16_t>(static_cast<uint8_t>(bytes[i]) | (static_cast<uint8_t>(bytes[i + 1]) << 8));
            sum += static_cast<double>(sample) * sample;
        }
        EXPECT_GT(std::sqrt(sum / (4.0 * 16000.0)), 300.0) << entry.path() << " is (nearly) silent";
    }
    EXPECT_EQ(wavs, 20u);
}

// The energy knob stays audible: the written loudness follows it (it is not normalised away).
TEST_F(WorldRender, LoudnessFollowsTheEnergyKnob)
{
    std::stringstream lines(readAll(s_first / "knobs.csv"));
    std::string line;
    std::getline(lines, line);
    const std::vector<std::string>& columns = tmk::world::knobsColumns();
    const auto column = [&](const std::string& name) {
        return static_cast<size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
    };
    std::vector<std::pair<double, double>> points; // (energy, loudness)
    while (std::getline(lines, line)) {
        std::vector<std::string> cells;
        std::stringstream row(line);
        for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
        ASSERT_EQ(cells.size(), columns.size()) << line;
        points.emplace_back(std::stod(cells[column("energy")]), std::stod(cells[column("loudness_lufs")]));
    }
    ASSERT_EQ(points.size(), 20u);
    int concordant = 0, discordant = 0;
    for (size_t i = 0; i < points.size(); ++i)
        for (size_t j = i + 1; j < points.size(); ++j) {
            const double product = (points[i].first - points[j].first) * (points[i].second - points[j].second);
            (product > 0 ? concordant : discordant) += 1;
        }
    EXPECT_GT(concordant, 4 * discordant) << "Kendall concordance of energy and loudness is too weak";
}

TEST_F(WorldRender, PairsGivesAllThirteenMetrics)
{
    const fs::path out = freshDir("tiny-pairs");
    const tmk::test::ProcessResult run = runProcess(TM_WORLD_CLI,
        { "pairs", "--tracks", (s_first / "tracks.csv").string(), "--youtube", (s_first / "youtube.csv").string(),
            "--audio", s_first.string(), "--rating-column", "my_rating", "--test-fraction", "0", "--out",
            out.string() });
    ASSERT_EQ(run.exitCode, 0) << run.err << run.out;
    const nlohmann::json report = nlohmann::json::parse(readAll(out / "report.json"));
    ASSERT_EQ(report.at("metrics").size(), 13u);
    for (const nlohmann::json& metric : report.at("metrics")) {
        const std::string id = metric.at("metric");
        ASSERT_TRUE(metric.at("available").get<bool>()) << id << ": " << metric.dump();
        EXPECT_GT(metric.at("train_pairs").get<int>(), 0) << id;
    }
}

// The Analyser's three world-trained classifiers fit on the tiny world, each writing its .inc text, and a
// folder that is not a rendered world is refused with its file named.
TEST_F(WorldRender, TheAnalysersClassifiersFitOnIt)
{
    const fs::path out = freshDir("tiny-fits");
    struct Fit {
        std::vector<std::string> options;
        std::string file, mark;
    };
    const std::vector<Fit> fits = {
        { { "--fit-acoustic", s_first.string(), "--epochs", "2", "--channels", "4", "--net-out" }, "net.inc",
            "4, {1, 2, 4, 8}, {" },
        { { "--fit-mode", s_first.string(), "--mode-out" }, "mode.inc", "over modeFeatures()" },
        { { "--fit-tempo", s_first.string(), "--tempo-out" }, "tempo.inc", "{input minima}, {input maxima}" },
    };
    for (const Fit& fit : fits) {
        std::vector<std::string> args { "analyse" };
        args.insert(args.end(), fit.options.begin(), fit.options.end());
        args.push_back((out / fit.file).string());
        args.insert(args.end(), { "--validate", s_second.string() });
        const tmk::test::ProcessResult run = runProcess(TM_WORLD_CLI, args);
        ASSERT_EQ(run.exitCode, 0) << fit.file << ": " << run.err;
        const std::string text = readAll(out / fit.file);
        EXPECT_EQ(text.rfind("// Fitted by `tastemaker-cli analyse " + fit.options[0], 0), 0u) << text.substr(0, 200);
        EXPECT_NE(text.find(fit.mark), std::string::npos) << fit.file;
        EXPECT_NE(run.err.find("validation"), std::string::npos) << run.err;
    }
    const fs::path notAWorld = freshDir("not-a-world");
    const tmk::test::ProcessResult refused = runProcess(TM_WORLD_CLI, { "analyse", "--fit-mode", notAWorld.string() });
    EXPECT_NE(refused.exitCode, 0);
    EXPECT_NE(refused.err.find((notAWorld / "tracks.csv").string()), std::string::npos) << refused.err;
}
