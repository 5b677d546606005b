// tastemaker-cli: help per subcommand, one-line errors and non-zero exits on bad arguments.
#include <algorithm>
#include <gtest/gtest.h>

#include "process.h"
#include "testsupport.h"

using tmk::test::runProcess;

namespace {
std::string cli()
{
    return tmk::test::cliPath().string();
}
size_t lineCount(const std::string& text)
{
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}
} // namespace

TEST(Cli, OverviewListsCommands)
{
    auto result = runProcess(cli(), { "--help" });
    EXPECT_EQ(result.exitCode, 0);
    for (const char* name : { "info", "inspect", "generate", "encode", "decode", "make-model", "bench" })
        EXPECT_NE(result.out.find(name), std::string::npos) << name;
    EXPECT_EQ(runProcess(cli(), {}).exitCode, 2) << "no command is a usage error";
}

TEST(Cli, EverySubcommandHasHelp)
{
    for (const char* name : { "info", "inspect", "generate", "encode", "decode", "make-model", "bench" }) {
        auto result = runProcess(cli(), { name, "--help" });
        EXPECT_EQ(result.exitCode, 0) << name;
        EXPECT_NE(result.out.find(std::string("usage: tastemaker-cli ") + name), std::string::npos) << name;
    }
    auto generate = runProcess(cli(), { "generate", "--help" });
    for (const char* option : { "--model", "--prompt", "--duration", "--frames", "--greedy", "--top-k", "--top-p",
             "--temperature", "--cfg", "--seed", "--device", "--dtype", "--codes-out", "--out", "--sample-format" })
        EXPECT_NE(generate.out.find(option), std::string::npos) << option;
}

TEST(Cli, BadArgumentsGiveOneLineErrors)
{
    struct Case {
        std::vector<std::string> args;
        std::string needle;
    };
    const std::vector<Case> cases = {
        { { "frobnicate" }, "unknown command 'frobnicate'" },
        { { "train-lm", "--codec", "c", "--out", "o" }, "--world DIR is required" },
        // Without --model, generate uses the bundled model, so what is missing is an output.
        { { "generate", "--prompt", "x", "--frames", "3" }, "nothing to do" },
        { { "generate", "--model", "m", "--prompt", "x", "--bogus" }, "unknown option --bogus" },
        { { "generate", "--model" }, "--model needs a value" },
        { { "inspect" }, "missing PATH" },
        { { "inspect", "a", "b" }, "unexpected argument 'b'" },
    };
    for (const Case& c : cases) {
        auto result = runProcess(cli(), c.args);
        EXPECT_EQ(result.exitCode, 2) << c.needle;
        EXPECT_NE(result.err.find(c.needle), std::string::npos) << result.err;
        EXPECT_EQ(lineCount(result.err), 1u) << result.err;
    }
}

TEST(Cli, InspectReadsTheFixtureCheckpoint)
{
    auto result = runProcess(cli(), { "inspect", (tmk::test::dataDir() / "musicgen-tiny-public").string() });
    ASSERT_EQ(result.exitCode, 0) << result.err;
    EXPECT_NE(result.out.find("text_encoder.shared.weight\tF32\t[384, 32]"), std::string::npos);
    auto missing = runProcess(cli(), { "inspect", "/nonexistent/model.safetensors" });
    EXPECT_EQ(missing.exitCode, 1);
    EXPECT_NE(missing.err.find("/nonexistent"), std::string::npos);
}

// The load and slider benchmarks run on the fixture and print their tables (the figures depend on the
// machine and are not checked); a bad --weights is a one-line usage error.
TEST(Cli, LoadAndSliderBenchmarksReport)
{
    const std::string model = (tmk::test::dataDir() / "musicgen-tiny-public").string();
    for (const char* weights : { "auto", "mapped" }) {
        auto load = runProcess(cli(), { "bench", "load", "--model", model, "--weights", weights });
        ASSERT_EQ(load.exitCode, 0) << load.err;
        EXPECT_NE(load.out.find("peak / weights"), std::string::npos) << load.out;
        EXPECT_NE(load.out.find("| cpu | f32 |"), std::string::npos) << load.out;
    }
    auto sliders = runProcess(cli(), { "bench", "sliders", "--model", model, "--frames", "6" });
    ASSERT_EQ(sliders.exitCode, 0) << sliders.err;
    EXPECT_NE(sliders.out.find("one slider, run time (ms)"), std::string::npos) << sliders.out;
    for (const char* row : { "| 0 | run time |", "| 13 | run time |", "| 13 | merged |" })
        EXPECT_NE(sliders.out.find(row), std::string::npos) << row << "\n" << sliders.out;
    auto bad = runProcess(cli(), { "bench", "load", "--model", model, "--weights", "bogus" });
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_EQ(lineCount(bad.err), 1u) << bad.err;
    EXPECT_NE(bad.err.find("auto, mapped, copied"), std::string::npos) << bad.err;
}
