// The Player's PortAudio side (engine-internal): PortAudio's lifetime, choosing the output device and its
// format, and one output stream whose real-time callback hands each buffer to a render function. ALSA's and
// JACK's own messages go to the log instead of stderr.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tastemaker/error.h"
#include "tastemaker/player.h"

namespace tmk {

class PortAudioOutput {
public:
    // Fills `frames` mono samples at `out`. Runs on PortAudio's real-time thread: no lock, no allocation,
    // no logging.
    using RenderFn = void (*)(void* target, float* out, size_t frames);

    // Finds the output (the default one unless options.deviceName), picks a rate and mono or stereo, and
    // opens a stream. Errors (ErrorCode::Device or NotFound) carry PortAudio's own message.
    static Expected<std::unique_ptr<PortAudioOutput>> open(const PlayerOptions& options);
    ~PortAudioOutput(); // aborts and closes the stream
    PortAudioOutput(const PortAudioOutput&) = delete;
    PortAudioOutput& operator=(const PortAudioOutput&) = delete;

    // Starts the stream: from now until destruction, render(target, ...) fills every buffer (a stereo
    // device gets the mono samples on both channels).
    Expected<void> start(RenderFn render, void* target);

    const std::string& deviceName() const { return m_deviceName; }
    int sampleRate() const { return m_sampleRate; }
    double outputLatencySeconds() const { return m_outputLatencySeconds; }
    uint64_t callbackCount() const { return m_callbacks.load(std::memory_order_relaxed); }
    // Empty while the stream runs; else why it does not (PortAudio's error, or that it stopped).
    std::optional<std::string> streamProblem() const;

private:
    friend struct PortAudioCallbacks; // PortAudio's C callbacks (portaudio_output.cpp)
    PortAudioOutput() = default;
    void renderBuffer(float* out, size_t frames); // real time

    void* m_stream = nullptr; // PaStream
    bool m_portAudioHeld = false;
    std::string m_deviceName;
    int m_sampleRate = 0;
    int m_channels = 1;
    double m_outputLatencySeconds = 0.0;
    RenderFn m_render = nullptr;
    void* m_target = nullptr;
    std::atomic<uint64_t> m_callbacks { 0 };
    std::atomic<bool> m_ended { false };
};

} // namespace tmk
