// Playback through PortAudio into the PulseAudio null sink that packaging/with-test-env.sh starts
// (TM_PULSE_SINK). The sink's monitor is recorded with parecord; the recording, resampled to 32 kHz,
// must match the clip piece by piece (normalised cross-correlation above 0.9). Nothing here depends on
// the machine's speed: an underrun on a loaded machine inserts silence and shifts what follows, so each
// piece of the clip is looked for after the previous one, and the underrun count is only checked to be
// reported (the count itself is a benchmark figure: `tastemaker-cli bench stream`). Tests that need the
// sink skip with a reason when it (or parecord) is absent.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <iostream>
#include <numbers>
#include <optional>
#include <signal.h>
#include <span>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

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
        const double fade = std::min({ 1.0, t / 0.005, (seconds - t) / 0.005 });
        clip[i] = static_cast<float>(
            fade * (0.3 * std::sin(chirpPhase) + 0.15 * std::sin(2.0 * std::numbers::pi * 660.0 * t)));
    }
    return clip;
}

// The normalised cross-correlation of `piece` with `recording` at `lag`.
__attribute__((optimize("O2"))) double correlationAt(
    std::span<const float> piece, const std::vector<float>& recording, size_t lag, double pieceEnergy)
{
    double dot = 0.0;
    double energy = 0.0;
    for (size_t i = 0; i < piece.size(); ++i) {
        const double r = recording[lag + i];
        dot += piece[i] * r;
        energy += r * r;
    }
    return energy > 0.0 ? dot / std::sqrt(pieceEnergy * energy) : 0.0;
}

// The best correlation of `piece` over lags [from, to] of `recording`, and where it is.
std::pair<double, size_t> bestMatch(
    std::span<const float> piece, const std::vector<float>& recording, size_t from, size_t to)
{
    double pieceEnergy = 0.0;
    for (float x : piece) pieceEnergy += static_cast<double>(x) * x;
    std::pair<double, size_t> best { 0.0, from };
    if (recording.size() < piece.size()) return best;
    to = std::min(to, recording.size() - piece.size());
    for (size_t lag = from; lag <= to; ++lag) {
        const double c = correlationAt(piece, recording, lag, pieceEnergy);
        if (c > best.first) best = { c, lag };
    }
    return best;
}

// How well the recording holds the clip: the clip is cut into 0.25 s pieces, each looked for within 0.5 s
// either side of where the previous one ended (an underrun on a loaded machine delays what follows; a
// recorder that drops samples under load brings it earlier). Returns the share of pieces whose correlation
// is above 0.9, and prints every piece's peak.
double matchedShare(const std::vector<float>& clip, const std::vector<float>& recording, const std::string& what)
{
    size_t onset = 0;
    while (onset < recording.size() && std::fabs(recording[onset]) < 0.01f) ++onset;
    const size_t pieceLength = kClipRate / 4;
    const size_t maxShift = kClipRate / 2;
    size_t expected = onset;
    int matched = 0;
    int pieces = 0;
    std::cout << what << ": piece peaks";
    for (size_t at = 0; at + pieceLength <= clip.size(); at += pieceLength, ++pieces) {
        const std::span<const float> piece(clip.data() + at, pieceLength);
        const size_t from = expected > maxShift ? expected - maxShift : 0;
        const auto [peak, lag] = bestMatch(piece, recording, from, expected + maxShift);
        std::cout << " " << peak;
        if (peak > 0.9) {
            ++matched;
            expected = lag + pieceLength;
        } else {
            expected += pieceLength;
        }
    }
    std::cout << "\n";
    return pieces > 0 ? static_cast<double>(matched) / pieces : 0.0;
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
    if (!std::getenv("TM_PULSE_SINK"))
        return "TM_PULSE_SINK is unset: no PulseAudio null sink (run the tests under packaging/with-test-env.sh)";
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
        std::vector<std::string> args = { program, "--device=" + std::string(std::getenv("TM_PULSE_SINK")) + ".monitor",
            "--rate=48000", "--channels=1", "--file-format=wav", "--latency-msec=20", wav.string() };
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
template <typename PlayFunction> std::vector<float> recordWhilePlaying(const std::string& name, PlayFunction play)
{
    const fs::path wav = test::freshOutDir("playback-" + name) / "monitor.wav";
    MonitorRecorder recorder;
    EXPECT_TRUE(recorder.start(wav)) << "parecord did not start recording " << wav;
    play();
    std::this_thread::sleep_for(300ms); // the tail through PulseAudio
    recorder.stop();
    Expected<std::vector<float>> recording = readAudioMono(wav, kClipRate);
    EXPECT_TRUE(recording.ok()) << (recording ? "" : recording.error().message);
    return recording ? *recording : std::vector<float> {};
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
    EXPECT_GE(player->underruns(), 0); // reported; how many is the machine's speed, not behaviour
    EXPECT_FALSE(player->deviceError().has_value());
    EXPECT_NEAR(player->positionSeconds(), player->durationSeconds(), 1e-6);
    std::cout << "clip at " << player->deviceSampleRate() << " Hz on '" << player->deviceName() << "', underruns "
              << player->underruns() << "\n";
    EXPECT_GE(matchedShare(clip, recording, "clip"), 0.66);
    // The measure tells clips apart: the same sound played backwards does not match.
    const std::vector<float> reversed(clip.rbegin(), clip.rend());
    EXPECT_LE(matchedShare(reversed, recording, "reversed clip"), 0.2);
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
    EXPECT_GE(player->underruns(), 0); // reported; how many is the machine's speed, not behaviour
    EXPECT_NEAR(player->durationSeconds(), 1.5, 0.01);
    std::cout << "stream resampled to 48000 Hz, underruns " << player->underruns() << "\n";
    EXPECT_GE(matchedShare(clip, recording, "stream"), 0.66);
}

// Waits (polling, up to a generous limit) until `condition` holds: only correctness is checked, never
// how fast the machine got there.
template <typename Condition> bool waitUntil(Condition condition, std::chrono::milliseconds limit = 20s)
{
    for (auto waited = 0ms; waited < limit; waited += 5ms) {
        if (condition()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return condition();
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

    player->setLoop(LoopMode::Loop); // so that a slow machine cannot reach the end before the pause
    player->play();
    ASSERT_TRUE(waitUntil([&] { return player->positionSeconds() > 0.1; })) << "the playhead did not move";
    player->pause();
    EXPECT_EQ(player->state(), PlaybackState::Paused);
    ASSERT_TRUE(waitUntil([&] { // the callback in flight finishes
        const double before = player->positionSeconds();
        std::this_thread::sleep_for(50ms);
        return player->positionSeconds() == before;
    }));
    const double paused = player->positionSeconds();
    EXPECT_GE(paused, 0.0);
    EXPECT_LT(paused, 1.0);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(player->positionSeconds(), paused) << "the playhead moved while paused";
    EXPECT_EQ(player->state(), PlaybackState::Paused);

    player->setLoop(LoopMode::Once);
    player->seek(0.8);
    EXPECT_NEAR(player->positionSeconds(), 0.8, 1e-3);
    player->play();
    EXPECT_EQ(player->waitWhilePlaying(20s), PlaybackState::Finished);
    EXPECT_NEAR(player->positionSeconds(), 1.0, 1e-6);

    player->stop();
    EXPECT_EQ(player->state(), PlaybackState::Stopped);
    EXPECT_EQ(player->positionSeconds(), 0.0);

    // Looping: from 0.9 s the playhead passes the end and wraps to the start, still playing.
    player->setLoop(LoopMode::Loop);
    player->seek(0.9);
    player->play();
    EXPECT_TRUE(waitUntil([&] { return player->positionSeconds() < 0.85; })) << "the playhead did not wrap";
    EXPECT_EQ(player->state(), PlaybackState::Playing);
    player->setLoop(LoopMode::Once);
    EXPECT_EQ(player->waitWhilePlaying(20s), PlaybackState::Finished);
    EXPECT_GE(player->underruns(), 0);
}

} // namespace
} // namespace tmk
