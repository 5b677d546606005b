// tastemaker-cli tokenize: encodes a pairs folder's songs, lists failures, resumes, rejects bad options.
#include <cmath>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/fileio.h"
#include "tastemaker/token_cache.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using tmk::test::runProcess;

namespace {

std::string cli()
{
    return tmk::test::cliPath().string();
}
std::string modelDir()
{
    return (tmk::test::dataDir() / "musicgen-tiny-public").string();
}

void writeTone(const fs::path& path, double hz, double seconds, tmk::AudioContainer container)
{
    const int rate = 44100;
    std::vector<float> samples(static_cast<size_t>(seconds * rate) * 2);
    for (size_t i = 0; i < samples.size(); ++i)
        samples[i] = 0.4f * static_cast<float>(std::sin(6.283185307 * hz * static_cast<double>(i / 2) / rate));
    ASSERT_TRUE(
        tmk::writeAudioFile(path, samples, 2, rate, tmk::AudioWriteOptions { container, tmk::SampleFormat::S16, "" })
            .ok());
}

// Three songs with audio (one corrupt), one without.
fs::path makePairsFolder(const std::string& name)
{
    const fs::path dir = tmk::test::freshOutDir(name);
    writeTone(dir / "one.wav", 220.0, 3.0, tmk::AudioContainer::Wav);
    writeTone(dir / "two.flac", 330.0, 4.0, tmk::AudioContainer::Flac);
    EXPECT_TRUE(tmk::writeFileAtomic(dir / "broken.ogg", std::string("OggS but not really")).ok());
    std::string songs;
    for (const auto& [id, file] : std::vector<std::pair<std::string, std::string>> {
             { "one", "one.wav" }, { "two", "two.flac" }, { "broken", "broken.ogg" } })
        songs += nlohmann::json { { "track_id", id }, { "prompt", "jazz" }, { "audio", (dir / file).string() } }.dump()
            + "\n";
    songs += nlohmann::json { { "track_id", "none" }, { "prompt", "jazz" }, { "audio", nullptr } }.dump() + "\n";
    EXPECT_TRUE(tmk::writeFileAtomic(dir / "songs.jsonl", songs).ok());
    const std::string pair = nlohmann::json { { "metric", "energy" }, { "prompt", "jazz" }, { "chosen", "one" },
        { "rejected", "two" }, { "chosen_value", 0.8 }, { "rejected_value", 0.2 },
        { "split", "train" } }.dump()
        + "\n";
    EXPECT_TRUE(tmk::writeFileAtomic(dir / "pairs.jsonl", pair).ok());
    return dir;
}

} // namespace

TEST(CliTokenize, EncodesListsFailuresAndResumes)
{
    const fs::path dir = makePairsFolder("cli_tokenize");
    auto first = runProcess(cli(), { "tokenize", "--model", modelDir(), "--pairs", dir.string(), "--window", "2" });
    ASSERT_EQ(first.exitCode, 0) << first.err;
    EXPECT_NE(first.out.find("encoded: 2\n"), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("failed: 1\n"), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("without audio: 1\n"), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("failed broken: " + (dir / "broken.ogg").string()), std::string::npos) << first.out;
    EXPECT_NE(first.err.find("tokenizing 4/4 songs"), std::string::npos) << first.err;

    auto identity = tmk::codecIdentity(modelDir());
    ASSERT_TRUE(identity.ok());
    auto cache = tmk::loadTokenCache(dir, *identity);
    ASSERT_TRUE(cache.ok()) << cache.error().message;
    ASSERT_EQ(cache->size(), 2u);
    EXPECT_EQ(cache->at("one").frames, 100); // 2 s at 50 frames per second
    EXPECT_EQ(cache->at("two").codebooks, 4);

    auto second = runProcess(cli(), { "tokenize", "--model", modelDir(), "--pairs", dir.string(), "--window", "2" });
    ASSERT_EQ(second.exitCode, 0) << second.err;
    EXPECT_NE(second.out.find("encoded: 0\n"), std::string::npos) << second.out;
    EXPECT_NE(second.out.find("reused: 2\n"), std::string::npos) << second.out;
}

TEST(CliTokenize, BadOptionsAndFoldersAreOneLineErrors)
{
    auto help = runProcess(cli(), { "tokenize", "--help" });
    EXPECT_EQ(help.exitCode, 0);
    for (const char* option : { "--model", "--pairs", "--window", "--start", "--device" })
        EXPECT_NE(help.out.find(option), std::string::npos) << option;

    const fs::path dir = tmk::test::freshOutDir("cli_tokenize_errors");
    auto badStart = runProcess(cli(), { "tokenize", "--model", modelDir(), "--pairs", dir.string(), "--start", "1.5" });
    EXPECT_EQ(badStart.exitCode, 2);
    EXPECT_NE(badStart.err.find("[0, 1]"), std::string::npos) << badStart.err;

    auto noSongs = runProcess(cli(), { "tokenize", "--model", modelDir(), "--pairs", dir.string() });
    EXPECT_EQ(noSongs.exitCode, 1);
    EXPECT_NE(noSongs.err.find(dir.string()), std::string::npos) << noSongs.err;
    EXPECT_NE(noSongs.err.find("pairs.jsonl"), std::string::npos) << noSongs.err;
}
