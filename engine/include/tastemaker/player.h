// Audio playback through PortAudio on an output device (the default one unless named).
//
// A Player owns one output stream that runs from open() until the Player is destroyed. Its real-time
// callback only copies from a pre-allocated lock-free ring buffer (no lock, no allocation, no
// logging) and plays silence when the buffer runs dry. A feeder thread inside the Player fills the ring
// from the current source, which is either
//   - a whole clip (load(), then play/pause/stop/seek/loop), or
//   - a stream that a producer appends to while it is being generated (beginStream(), appendStream()
//     from any one thread at a time, endStream()); playback starts after a short pre-roll. Once ended,
//     a stream is a clip like any other and can be sought and replayed.
// Sources are mono. When the device does not take the source's rate, the audio is resampled with
// libsamplerate on the producer side (in load() and appendStream()), never in the callback.
//
// No output device gives an error from open(). A device that fails while playing never crashes the
// process: the Player stops, deviceError() says why, and appendStream() keeps accepting samples so
// that the caller (generation) carries on.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

struct PlayerOptions {
    std::string deviceName; // empty: the default output device; else the first output whose name contains it
    int deviceSampleRate
        = 0; // 0: the source's rate when the device takes it (tried first: 32000), else the device's default
    double prerollSeconds = 0.15; // audio buffered before playback starts, and again after an underrun
    double bufferSeconds = 0.5; // ring buffer size (rounded up to a power of two of frames)
    double latencySeconds
        = 0.2; // suggested output latency (generous: this plays clips, it is no instrument); 0: the device default
};

struct OutputDevice {
    std::string name; // PortAudio's name, e.g. "default", "pulse" or "HDA Intel PCH: ALC892 Analog (hw:0,0)"
    std::string hostApi;
    int defaultSampleRate = 0;
    bool isDefault = false;
};

// The output devices PortAudio sees (an error when PortAudio itself cannot start).
Expected<std::vector<OutputDevice>> listOutputDevices();

enum class PlaybackState {
    Stopped, // nothing loaded, or stopped (playhead at 0 or where seek() put it)
    Playing, // playing, or buffering its pre-roll
    Paused,
    Finished, // played to the end of a clip (or an ended stream) without looping
    Failed, // the device failed; see deviceError()
};
const char* playbackStateName(PlaybackState state);

enum class LoopMode { Once, Loop };

class Player {
public:
    // Opens the output device. Errors (ErrorCode::Device or NotFound) carry PortAudio's own message.
    static Expected<Player> open(const PlayerOptions& options = {});
    Player(Player&&) noexcept;
    Player& operator=(Player&&) noexcept;
    ~Player();

    std::string deviceName() const;
    int deviceSampleRate() const; // the rate the device runs at

    // Clip mode. load() stops playback and replaces the source with `samples` (mono, at `sampleRate`).
    Expected<void> load(std::span<const float> samples, int sampleRate);
    void play(); // from the playhead; from the start after Finished
    void pause(); // keeps the playhead
    void stop(); // pauses and puts the playhead at 0
    void seek(double seconds); // clamped to the source; keeps playing or paused
    void setLoop(LoopMode mode);

    // Streaming mode. beginStream() replaces the source with an empty stream and starts playing as
    // soon as `prerollSeconds` of audio have been appended. appendStream() may be called from any one
    // thread at a time (e.g. the generation thread) while the UI thread uses the controls.
    Expected<void> beginStream(int sampleRate, double expectedSeconds = 0.0);
    void appendStream(std::span<const float> samples);
    void endStream(); // no more samples will come; playback finishes when they have been played

    PlaybackState state() const;
    double positionSeconds() const; // the playhead, for the UI to poll
    double durationSeconds() const; // the source's length so far
    int64_t underruns() const; // times the callback ran dry while playing a source still being fed
    std::optional<Error> deviceError() const;

    // Blocks until the state is no longer Playing (Finished, Failed, Paused or Stopped) or the timeout
    // passes; returns the state then.
    PlaybackState waitWhilePlaying(std::chrono::milliseconds timeout);

    struct Impl;

private:
    explicit Player(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace tmk
