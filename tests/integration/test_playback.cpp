// Playback through PortAudio into the PulseAudio null sink that packaging/with-test-env.sh starts
// (TM_PULSE_SINK). The sink's monitor is recorded with parecord; the recording, resampled to 32 kHz,
// must match the clip (normalised cross-correlation peak above 0.9) with 0 underruns. Tests that need
// the sink skip with a reason when it (or parecord) is absent.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <optional>
#include <thread>

#include "tastemaker/audio_file.h"
#include "tastemaker/player.h"
#include "testsupport.h"

extern char** environ;

namespace tmk {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kClipRate = 32000;

// A chirp (300 Hz to 3 kHz) over a steady 660 Hz tone, with 5 ms fades: a sharp, unambiguous
// correlation peak.
std::vector<float> makeClip(double seconds)
{
    const size_t count = static_cast<size_t>(seconds * kClipRate);
    std::vector<float> clip(count);
    const double f0 = 300.0;
    const double f1 = 3000.0;
    for (size_t i = 0; i < count; ++i) {
        const double t = static_cast<double>(i) / kClipRate;
        const double chirpPhase = 2.0 * std::numbers::pi * (f0 * t + (f1 - f0) * t * t / (2.0 * seconds));
        const double fade = std::min({1.0, t / 0.005, (seconds - t) / 0.005});
        clip[i] = static_cast<float>(fade * (0.3 * std::sin(chirpPhase) + 0.15 * std::sin(2.0 * std::numbers::pi * 660.0 * t)));
    }
    return clip;
}

// The peak over lags of the normalised cross-correlation between `clip` and a window of `recording`.
// The search is centred on the recording's onset (the sink is silent before the clip plays).
double crossCorrelationPeak(const std::vector<float>& clip, const std::vector<float>& recording)
{
    if (recording.size() < clip.size()) return 0.0;
    size_t onset = 0;
    while (onset < recording.size() && std::fabs(recording[onset]) < 0.01f) ++onset;
    const size_t lastLag = recording.size() - clip.size();
    const size_t from = onset > 1600 ? onset - 1600 : 0;
    const size_t to = std::min(lastLag, onset + 1600);
    double clipEnergy = 0.0;
    for (float x : clip) clipEnergy += static_cast<double>(x) * x;
    double best = 0.0;
    for (size_t lag = from; lag <= to; ++lag) {
        double dot = 0.0;
        double energy = 0.0;
        for (size_t i = 0; i < clip.size(); ++i) {
            const double r = recording[lag + i];
            dot += clip[i] * r;
            energy += r * r;
        }
        if (energy > 0.0) best = std::max(best, dot / std::sqrt(clipEnergy * energy));
    }
    return best;
}

std::optional<fs::path> findExecutable(const std::string& name)
{
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        const size_t end = std::min(dirs.find(':', start), dirs.size());
        const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return std::nullopt;
}

std::optional<std::string> sinkMissing()
{
    if (!std::getenv("TM_PULSE_SINK")) return "TM_PULSE_SINK is unset: no PulseAudio null sink (run the tests under packaging/with-test-env.sh)";
    return std::nullopt;
}

std::optional<std::string> recorderMissing()
{
    if (auto why = sinkMissing()) return why;
    if (!findExecutable("parecord")) return "parecord is not installed (Debian package pulseaudio-utils)";
    return std::nullopt;
}

// `parecord` on the sink's monitor, in the background from start() until stop().
class MonitorRecorder {
public:
    ~MonitorRecorder() { stop(); }

    // Starts recording into `wav` and returns once audio is arriving.
    bool start(const fs::path& wav)
    {
        const std::string program = findExecutable("parecord")->string();
        std::vector<std::string> args = {program, "--device=" + std::string(std::getenv("TM_PULSE_SINK")) + ".monitor", "--rate=48000", "--channels=1",
                                         "--file-format=wav", "--latency-msec=20", wav.string()};
        std::vector<char*> argv;
        for (std::string& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        const int rc = posix_spawn(&m_pid, program.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            m_pid = -1;
            return false;
        }
        // 48 kHz s16 mono: 4800 bytes is 50 ms of audio past the header.
        for (auto waited = 0ms; waited < 5000ms; waited += 10ms) {
            std::error_code ec;
            if (fs::exists(wav, ec) && fs::file_size(wav, ec) > 4800 + 44) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }

    // SIGINT lets parecord finish the WAV header; SIGKILL if it hangs.
    void stop()
    {
        if (m_pid <= 0) return;
        ::kill(m_pid, SIGINT);
        int status = 0;
        for (auto waited = 0ms; waited < 3000ms; waited += 10ms) {
            if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                return;
            }
            std::this_thread::sleep_for(10ms);
        }
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, &status, 0);
        m_pid = -1;
    }

private:
    pid_t m_pid = -1;
};

// Plays the clip through `play` (which returns once playback is over) while recording the monitor,
// and returns the recording at 32 kHz.
template <typename PlayFunction>
std::vector<float> recordWhilePlaying(const std::string& name, PlayFunction play)
{
    const fs::path wav = test::freshOutDir("playback-" + name) / "monitor.wav";
    MonitorRecorder recorder;
    EXPECT_TRUE(recorder.start(wav)) << "parecord did not start recording " << wav;
    play();
    std::this_thread::sleep_for(300ms);  // the tail through PulseAudio
    recorder.stop();
    Expected<std::vector<float>> recording = readAudioMono(wav, kClipRate);
    EXPECT_TRUE(recording.ok()) << (recording ? "" : recording.error().message);
    return recording ? *recording : std::vector<float>{};
}

void routeToTestSink()
{
    // The ALSA "default" device goes to PulseAudio's default sink; name it explicitly as well.
    if (const char* sink = std::getenv("TM_PULSE_SINK")) ::setenv("PULSE_SINK", sink, 1);
}

TEST(Playback, UnknownDeviceIsAClearError)
{
    PlayerOptions options;
    options.deviceName = "no-such-output-device-xyz";
    Expected<Player> player = Player::open(options);
    ASSERT_FALSE(player.ok());
    EXPECT_NE(player.error().message.find("no-such-output-device-xyz"), std::string::npos) << player.error().message;
}

TEST(Playback, ClipPlaysIntoTheNullSink)
{
    if (auto why = recorderMissing()) GTEST_SKIP() << *why;
    routeToTestSink();
    const std::vector<float> clip = makeClip(1.5);
    Expected<Player> player = Player::open();
    ASSERT_TRUE(player.ok()) << player.error().message;
    ASSERT_TRUE(player->load(clip, kClipRate).ok());
    EXPECT_NEAR(player->durationSeconds(), 1.5, 1e-3);
    PlaybackState end = PlaybackState::Stopped;
    const std::vector<float> recording = recordWhilePlaying("clip", [&] {
        player->play();
        end = player->waitWhilePlaying(10s);
    });
    EXPECT_EQ(end, PlaybackState::Finished) << playbackStateName(end);
    EXPECT_EQ(player->underruns(), 0);
    EXPECT_FALSE(player->deviceError().has_value());
    EXPECT_NEAR(player->positionSeconds(), player->durationSeconds(), 1e-6);
    const double peak = crossCorrelationPeak(clip, recording);
    std::cout << "clip at " << player->deviceSampleRate() << " Hz on '" << player->deviceName() << "': correlation peak " << peak << "\n";
    EXPECT_GT(peak, 0.9);
    // The measure tells clips apart: the same sound played backwards does not match.
    const std::vector<float> reversed(clip.rbegin(), clip.rend());
    EXPECT_LT(crossCorrelationPeak(reversed, recording), 0.5);
}

// A producer thread appends the clip in 100 ms pieces faster than real time, as generation does;
// the device runs at 48 kHz, so the stream is resampled on the producer's side.
TEST(Playback, ResampledStreamPlaysIntoTheNullSink)
{
    if (auto why = recorderMissing()) GTEST_SKIP() << *why;
    routeToTestSink();
    const std::vector<float> clip = makeClip(1.5);
    PlayerOptions options;
    options.deviceSampleRate = 48000;
    Expected<Player> player = Player::open(options);
    ASSERT_TRUE(player.ok()) << player.error().message;
    ASSERT_EQ(player->deviceSampleRate(), 48000);
    PlaybackState end = PlaybackState::Stopped;
    const std::vector<float> recording = recordWhilePlaying("stream", [&] {
        ASSERT_TRUE(player->beginStream(kClipRate, 1.5).ok());
        std::thread producer([&] {
            const size_t piece = kClipRate / 10;
            for (size_t at = 0; at < clip.size(); at += piece) {
                player->appendStream(std::span<const float>(clip).subspan(at, std::min(piece, clip.size() - at)));
                std::this_thread::sleep_for(40ms);
            }
            player->endStream();
        });
        producer.join();
        end = player->waitWhilePlaying(10s);
    });
    EXPECT_EQ(end, PlaybackState::Finished) << playbackStateName(end);
    EXPECT_EQ(player->underruns(), 0);
    EXPECT_NEAR(player->durationSeconds(), 1.5, 0.01);
    const double peak = crossCorrelationPeak(clip, recording);
    std::cout << "stream resampled to 48000 Hz: correlation peak " << peak << "\n";
    EXPECT_GT(peak, 0.9);
}

TEST(Playback, ControlsMoveThePlayhead)
{
    if (auto why = sinkMissing()) GTEST_SKIP() << *why;
    routeToTestSink();
    Expected<Player> player = Player::open();
    ASSERT_TRUE(player.ok()) << player.error().message;
    ASSERT_TRUE(player->load(makeClip(1.0), kClipRate).ok());
    EXPECT_EQ(player->state(), PlaybackState::Stopped);
    EXPECT_EQ(player->positionSeconds(), 0.0);

    player->play();
    std::this_thread::sleep_for(300ms);
    player->pause();
    std::this_thread::sleep_for(50ms);  // the callback in flight finishes
    const double paused = player->positionSeconds();
    EXPECT_EQ(player->state(), PlaybackState::Paused);
    EXPECT_GT(paused, 0.1);
    EXPECT_LT(paused, 0.7);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(player->positionSeconds(), paused) << "the playhead moved while paused";

    player->seek(0.8);
    EXPECT_NEAR(player->positionSeconds(), 0.8, 1e-3);
    player->play();
    EXPECT_EQ(player->waitWhilePlaying(5s), PlaybackState::Finished);
    EXPECT_NEAR(player->positionSeconds(), 1.0, 1e-6);

    player->stop();
    EXPECT_EQ(player->state(), PlaybackState::Stopped);
    EXPECT_EQ(player->positionSeconds(), 0.0);

    player->setLoop(LoopMode::Loop);
    player->seek(0.9);
    player->play();
    std::this_thread::sleep_for(400ms);  // past the end: wraps to the start
    EXPECT_EQ(player->state(), PlaybackState::Playing);
    const double looped = player->positionSeconds();
    EXPECT_GT(looped, 0.05);
    EXPECT_LT(looped, 0.6);
    player->setLoop(LoopMode::Once);
    EXPECT_EQ(player->waitWhilePlaying(5s), PlaybackState::Finished);
    EXPECT_EQ(player->underruns(), 0);
}

}  // namespace
}  // namespace tmk
