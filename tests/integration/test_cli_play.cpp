// tastemaker-cli generate --play: streams while generating into the test PulseAudio sink, reports the
// time to first audio and underruns, and still writes the clip.
#include <cstdlib>
#include <gtest/gtest.h>
#include <regex>

#include "process.h"
#include "tastemaker/audio_file.h"
#include "testsupport.h"

using tmk::test::runProcess;

TEST(CliPlay, GenerateStreamsToTheOutputAndStillWritesTheClip)
{
    if (!std::getenv("TM_PULSE_SINK")) GTEST_SKIP() << "no PulseAudio null sink (run under packaging/with-test-env.sh)";
    auto out = tmk::test::freshOutDir("cli_play");
    auto result = runProcess(tmk::test::cliPath().string(),
        { "generate", "--model", (tmk::test::dataDir() / "musicgen-tiny-public").string(), "--prompt", "lofi hip hop",
            "--frames", "60", "--seed", "4", "--play", "--out", (out / "live.wav").string() });
    ASSERT_EQ(result.exitCode, 0) << result.err;
    EXPECT_NE(result.err.find("time to first audio"), std::string::npos) << result.err;
    // The figures are reported and well formed; their values are the machine's speed (bench stream).
    EXPECT_TRUE(std::regex_search(result.err, std::regex(R"(time to first audio [0-9]+\.[0-9]+ s, underruns [0-9]+)")))
        << result.err;
    auto audio = tmk::readAudioFile(out / "live.wav");
    ASSERT_TRUE(audio) << audio.error().message;
    EXPECT_EQ(audio->frames(), 60 * 640);
}

TEST(CliPlay, NoOutputDeviceStillGenerates)
{
    auto out = tmk::test::freshOutDir("cli_play_nodevice");
    // An unreachable PulseAudio server: PortAudio finds no usable output, generation must still finish.
    setenv("PULSE_SERVER", "unix:/nonexistent-tastemaker-pulse", 1);
    auto result = runProcess(tmk::test::cliPath().string(),
        { "generate", "--model", (tmk::test::dataDir() / "musicgen-tiny-public").string(), "--prompt", "x", "--frames",
            "10", "--play", "--out", (out / "quiet.wav").string() });
    unsetenv("PULSE_SERVER");
    EXPECT_EQ(result.exitCode, 0) << result.err;
    EXPECT_TRUE(std::filesystem::exists(out / "quiet.wav"));
}
