// tastemaker-cli generate --adapters/--slider and make-adapters, on the PEFT fixture bank.
#include <cstring>
#include <gtest/gtest.h>

#include "process.h"
#include "tastemaker/tensorio.h"
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

std::vector<int64_t> caseCodes(const std::string& name)
{
    return test::tensorValues<int64_t>(
        test::dataDir() / "adapters-tiny-public" / "cases" / (name + ".safetensors"), "codes");
}

std::vector<int64_t> generated(const std::vector<std::string>& extra, const fs::path& codes)
{
    std::vector<std::string> args = { "generate", "--model", model(), "--prompt",
        "Classic Rock, Electric guitar, keyboard, drums", "--prompt", "lofi hip hop with soft piano", "--frames", "17",
        "--greedy", "--cfg", "3", "--codes-out", codes.string() };
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = runProcess(cli(), args);
    EXPECT_EQ(result.exitCode, 0) << result.err;
    auto array = readNpy(codes);
    if (!array) return {};
    auto values = array->as<int64_t>();
    return { values.begin(), values.end() };
}

} // namespace

TEST(CliAdapters, SlidersReproduceTheMergedHuggingFaceGeneration)
{
    fs::path out = test::freshOutDir("cli_adapters");
    EXPECT_EQ(generated({ "--adapters", bank(), "--slider", "popularity=-1", "--slider", "energy=0.7", "--slider",
                            "valence=-0.4", "--slider", "tempo=1" },
                  out / "mixed.npy"),
        caseCodes("mixed"));
    EXPECT_EQ(generated({ "--adapters", bank(), "--slider", "popularity=0.25", "--slider", "acousticness=-1",
                            "--slider", "tempo=-0.6", "--slider", "rating=0.8" },
                  out / "formats.npy"),
        caseCodes("formats"));
    EXPECT_EQ(generated({ "--adapters", bank() }, out / "zero.npy"), caseCodes("zero"));
}

TEST(CliAdapters, BadSlidersNameTheValidIds)
{
    fs::path out = test::freshOutDir("cli_adapters_bad");
    auto unknown = runProcess(cli(),
        { "generate", "--model", model(), "--prompt", "x", "--frames", "3", "--codes-out", (out / "c.npy").string(),
            "--adapters", bank(), "--slider", "loudness=1" });
    EXPECT_EQ(unknown.exitCode, 2);
    EXPECT_NE(unknown.err.find("loudness"), std::string::npos) << unknown.err;
    EXPECT_NE(unknown.err.find("danceability"), std::string::npos) << "the valid ids are listed: " << unknown.err;
    auto range = runProcess(cli(),
        { "generate", "--model", model(), "--prompt", "x", "--frames", "3", "--codes-out", (out / "c.npy").string(),
            "--adapters", bank(), "--slider", "energy=2.5" });
    EXPECT_EQ(range.exitCode, 2);
    EXPECT_NE(range.err.find("2.5"), std::string::npos) << range.err;
    auto noBank = runProcess(cli(),
        { "generate", "--model", model(), "--prompt", "x", "--frames", "3", "--codes-out", (out / "c.npy").string(),
            "--slider", "energy=1" });
    EXPECT_EQ(noBank.exitCode, 2);
    EXPECT_NE(noBank.err.find("--adapters"), std::string::npos) << noBank.err;
}

TEST(CliAdapters, RandomBankSteersGeneration)
{
    fs::path out = test::freshOutDir("cli_make_adapters");
    auto made = runProcess(
        cli(), { "make-adapters", "--model", model(), "--rank", "4", "--seed", "1", "--out", (out / "bank").string() });
    ASSERT_EQ(made.exitCode, 0) << made.err;
    EXPECT_TRUE(fs::exists(out / "bank" / "bank.json"));
    std::vector<int64_t> base = generated({ "--adapters", (out / "bank").string() }, out / "base.npy");
    std::vector<int64_t> steered
        = generated({ "--adapters", (out / "bank").string(), "--slider", "energy=2" }, out / "steered.npy");
    EXPECT_EQ(base, caseCodes("zero"));
    EXPECT_NE(steered, base);
}
