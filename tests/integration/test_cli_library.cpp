// tastemaker-cli generate --library DIR, then regenerate DIR/<clip>.json: the same samples again.
#include <gtest/gtest.h>

#include "process.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/clip_library.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace tmk;
using test::runProcess;

namespace {

std::string cli()
{
    return test::cliPath().string();
}
std::string model()
{
    return (test::dataDir() / "musicgen-tiny-public").string();
}
std::string bank()
{
    return (test::dataDir() / "adapters-tiny-public" / "bank").string();
}

std::vector<fs::path> sidecarsIn(const fs::path& dir)
{
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".json") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<float> samplesOf(const fs::path& path)
{
    Expected<AudioBuffer> audio = readAudioFile(path);
    EXPECT_TRUE(audio.ok()) << (audio.ok() ? "" : audio.error().message);
    return audio.ok() ? audio->samples : std::vector<float> {};
}

} // namespace

TEST(CliLibrary, RegenerateFromASidecarGivesTheSameSamples)
{
    const fs::path out = test::freshOutDir("cli_library");
    const fs::path library = out / "library";
    auto made = runProcess(cli(),
        { "generate", "--model", model(), "--prompt", "Classic Rock, Electric guitar, keyboard, drums", "--prompt",
            "lofi hip hop with soft piano", "--frames", "20", "--top-k", "50", "--seed", "77", "--adapters", bank(),
            "--slider", "energy=0.7", "--slider", "tempo=-1", "--out", (out / "made.wav").string(), "--library",
            library.string() });
    ASSERT_EQ(made.exitCode, 0) << made.err;
    const std::vector<fs::path> sidecars = sidecarsIn(library);
    ASSERT_EQ(sidecars.size(), 2u) << "one clip per prompt";
    auto listed = ClipLibrary::open(library)->list();
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->size(), 2u);

    for (size_t i = 0; i < sidecars.size(); ++i) {
        Expected<ClipEntry> entry = readSidecar(sidecars[i]);
        ASSERT_TRUE(entry.ok()) << entry.error().message;
        const size_t item = static_cast<size_t>(entry->record.batchIndex);
        EXPECT_EQ(entry->record.sliders, (SliderValues { { "energy", 0.7 }, { "tempo", -1.0 } }));
        EXPECT_EQ(entry->record.sampling.seed, 77u);
        EXPECT_EQ(entry->record.sampling.topK, 50);
        EXPECT_EQ(entry->record.bank.name, "bank");
        EXPECT_NE(samplesOf(entry->audioPath), std::vector<float> {});

        // Item 0 as float32 (the library clip exactly), item 1 as s16 (generate --out's file exactly).
        const fs::path again = out / ("again-" + std::to_string(i) + ".wav");
        const bool asFloat = item == 0;
        std::vector<std::string> args = { "regenerate", sidecars[i].string(), "--out", again.string() };
        if (asFloat) args.insert(args.end(), { "--sample-format", "f32" });
        auto regenerated = runProcess(cli(), args);
        ASSERT_EQ(regenerated.exitCode, 0) << regenerated.err;
        EXPECT_NE(regenerated.err.find("bit-identical"), std::string::npos) << regenerated.err;
        if (asFloat)
            EXPECT_EQ(samplesOf(again), samplesOf(entry->audioPath));
        else
            EXPECT_EQ(samplesOf(again), samplesOf(out / ("made-" + std::to_string(item) + ".wav")));
        EXPECT_NE(readAudioFile(again)->comment.find("energy=+0.70"), std::string::npos);
    }
}

TEST(CliLibrary, RegenerateErrorsNameTheProblem)
{
    const fs::path out = test::freshOutDir("cli_library_errors");
    auto missing = runProcess(cli(), { "regenerate", (out / "nothing.json").string() });
    EXPECT_EQ(missing.exitCode, 1);
    EXPECT_NE(missing.err.find("nothing.json"), std::string::npos) << missing.err;

    fs::copy(model(), out / "model", fs::copy_options::recursive);
    auto made = runProcess(cli(),
        { "generate", "--model", (out / "model").string(), "--prompt", "x", "--frames", "5", "--library",
            (out / "lib").string() });
    ASSERT_EQ(made.exitCode, 0) << made.err;
    ASSERT_EQ(sidecarsIn(out / "lib").size(), 1u);
    fs::rename(out / "model", out / "elsewhere");
    auto moved = runProcess(cli(), { "regenerate", sidecarsIn(out / "lib")[0].string() });
    EXPECT_EQ(moved.exitCode, 1);
    EXPECT_NE(moved.err.find((out / "model").string()), std::string::npos) << moved.err;
    EXPECT_NE(moved.err.find("moved"), std::string::npos) << moved.err;

    auto badFormat
        = runProcess(cli(), { "regenerate", sidecarsIn(out / "lib")[0].string(), "--out", (out / "x.mp3").string() });
    EXPECT_EQ(badFormat.exitCode, 2);
    EXPECT_NE(badFormat.err.find("x.mp3"), std::string::npos) << badFormat.err;
}
