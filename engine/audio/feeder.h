// The Player's feeder thread and its source (engine-internal; see tastemaker/player.h).
//
// The feeder is the transport ring's only producer: every few milliseconds it tops the ring up from the
// source (mono, already at the device's rate) and watches the output device. A stream that stopped,
// reports an error or no longer calls back means the device failed: playback stops with a message, and
// sources can still be loaded and appended.
//
// The source and the transport's controls change together under the feeder's mutex, so the thread always
// sees them agree. Every method is for any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "audio/portaudio_output.h"
#include "audio/transport.h"
#include "tastemaker/error.h"
#include "tastemaker/player.h"

namespace tmk {

class Feeder {
public:
    Feeder(Transport& transport, const PortAudioOutput& output);
    ~Feeder(); // stops and joins the thread
    Feeder(const Feeder&) = delete;
    Feeder& operator=(const Feeder&) = delete;

    void start();

    // Replaces the source with `samples` (complete) and restarts at its start in `state`.
    void load(std::vector<float> samples, PlaybackState state);
    // Replaces the source with an empty one that append() extends (room reserved for `expectedFrames`), playing.
    void beginStream(size_t expectedFrames);
    // Extends the source; `complete`: nothing more will come.
    void append(std::span<const float> samples, bool complete);

    void play(); // from the playhead; from the start after Finished
    void pause(); // keeps the playhead
    void stop(); // pauses and puts the playhead at 0
    void seek(int64_t frame); // clamped to the source; keeps playing or paused
    void setLoop(LoopMode mode);

    int64_t sourceFrames() const { return m_sourceFrames.load(std::memory_order_relaxed); }
    std::optional<Error> error() const;

private:
    void run();
    void feed();
    void checkDevice();
    void restartAt(int64_t frame, PlaybackState state);

    Transport& m_transport;
    const PortAudioOutput& m_output;
    std::atomic<int64_t> m_sourceFrames { 0 };

    // Under m_mutex.
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::vector<float> m_source; // [frames], mono at the device's rate
    bool m_sourceComplete = true;
    size_t m_feedFrame = 0;
    LoopMode m_loop = LoopMode::Once;
    std::optional<Error> m_error;
    bool m_quit = false;
    uint64_t m_lastCallbackCount = 0;
    std::chrono::steady_clock::time_point m_lastCallbackChange {};

    std::thread m_thread;
};

} // namespace tmk
