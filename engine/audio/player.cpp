// Player: the public face of playback (see tastemaker/player.h). It puts together
//   - PortAudioOutput (audio/portaudio_output.h): the device and its real-time callback;
//   - Transport (audio/transport.h): state, playhead and the lock-free ring the callback reads;
//   - Feeder (audio/feeder.h): the thread that fills the ring from the source and watches the device;
//   - Resampler (audio/resampler.h): the engine's one rate converter, for sources not at the device's rate.
//
// Threads: the audio callback only runs Transport::render. Controls take the feeder's mutex. Source changes
// (load, the stream calls) first take `appendMutex`, which guards the stream's resampler (lock order:
// appendMutex, then the feeder's mutex); resampling happens there, never in the callback.
#include "tastemaker/player.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <thread>

#include "audio/feeder.h"
#include "audio/portaudio_output.h"
#include "audio/resampler.h"
#include "audio/transport.h"
#include "tastemaker/log.h"

namespace tmk {

struct Player::Impl {
    Impl(std::unique_ptr<PortAudioOutput> out, const PlayerOptions& options)
        : transport(out->sampleRate(), options.bufferSeconds, options.prerollSeconds)
        , output(std::move(out))
        , feeder(transport, *output)
        , deviceRate(output->sampleRate())
    {
    }

    static void render(void* impl, float* out, size_t frames)
    {
        static_cast<Impl*>(impl)->transport.render(out, frames);
    }

    // Destroyed in reverse order: the feeder thread stops first, then the stream, then the ring they share.
    Transport transport;
    std::unique_ptr<PortAudioOutput> output;
    Feeder feeder;
    int deviceRate;

    // The streaming producer's side, under `appendMutex`.
    std::mutex appendMutex;
    bool streaming = false;
    std::unique_ptr<Resampler> resampler; // null when the stream's rate is the device's
    std::vector<float> resampled;
};

const char* playbackStateName(PlaybackState state)
{
    switch (state) {
    case PlaybackState::Stopped:
        return "stopped";
    case PlaybackState::Playing:
        return "playing";
    case PlaybackState::Paused:
        return "paused";
    case PlaybackState::Finished:
        return "finished";
    case PlaybackState::Failed:
        return "failed";
    }
    return "unknown";
}

Expected<Player> Player::open(const PlayerOptions& options)
{
    Expected<std::unique_ptr<PortAudioOutput>> output = PortAudioOutput::open(options);
    if (!output) return output.error();
    auto impl = std::make_unique<Impl>(std::move(*output), options);
    TMK_TRY(impl->output->start(&Impl::render, impl.get()));
    impl->feeder.start();
    return Player(std::move(impl));
}

Player::Player(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{
}
Player::Player(Player&&) noexcept = default;
Player& Player::operator=(Player&&) noexcept = default;
Player::~Player() = default;

std::string Player::deviceName() const
{
    return m_impl->output->deviceName();
}
int Player::deviceSampleRate() const
{
    return m_impl->deviceRate;
}

Expected<void> Player::load(std::span<const float> samples, int sampleRate)
{
    if (sampleRate <= 0) return Error { ErrorCode::InvalidArgument, "a clip's sample rate must be positive" };
    std::vector<float> converted;
    if (sampleRate == m_impl->deviceRate) {
        converted.assign(samples.begin(), samples.end());
    } else {
        Expected<std::unique_ptr<Resampler>> resampler
            = Resampler::create(sampleRate, m_impl->deviceRate, ResamplerQuality::Medium);
        if (!resampler) return resampler.error();
        converted.reserve(static_cast<size_t>(static_cast<double>(samples.size()) * (*resampler)->ratio()) + 256);
        TMK_TRY((*resampler)->process(samples, EndOfInput::Yes, converted));
    }
    std::lock_guard appendLock(m_impl->appendMutex);
    m_impl->streaming = false;
    m_impl->feeder.load(std::move(converted), PlaybackState::Stopped);
    return {};
}

void Player::play()
{
    m_impl->feeder.play();
}
void Player::pause()
{
    m_impl->feeder.pause();
}
void Player::stop()
{
    m_impl->feeder.stop();
}
void Player::seek(double seconds)
{
    m_impl->feeder.seek(std::llround(std::max(0.0, seconds) * m_impl->deviceRate));
}
void Player::setLoop(LoopMode mode)
{
    m_impl->feeder.setLoop(mode);
}

Expected<void> Player::beginStream(int sampleRate, double expectedSeconds)
{
    if (sampleRate <= 0) return Error { ErrorCode::InvalidArgument, "a stream's sample rate must be positive" };
    std::unique_ptr<Resampler> resampler;
    if (sampleRate != m_impl->deviceRate) {
        Expected<std::unique_ptr<Resampler>> created
            = Resampler::create(sampleRate, m_impl->deviceRate, ResamplerQuality::Medium);
        if (!created) return created.error();
        resampler = std::move(*created);
    }
    std::lock_guard appendLock(m_impl->appendMutex);
    m_impl->resampler = std::move(resampler);
    m_impl->streaming = true;
    m_impl->feeder.beginStream(static_cast<size_t>(std::max(0.0, expectedSeconds) * m_impl->deviceRate * 1.01) + 1024);
    return {};
}

void Player::appendStream(std::span<const float> samples)
{
    std::lock_guard appendLock(m_impl->appendMutex);
    if (!m_impl->streaming) return;
    if (!m_impl->resampler) {
        m_impl->feeder.append(samples, false);
        return;
    }
    m_impl->resampled.clear();
    if (Expected<void> r = m_impl->resampler->process(samples, EndOfInput::No, m_impl->resampled); !r)
        logMessage(LogLevel::Error, "playback: " + r.error().message);
    m_impl->feeder.append(m_impl->resampled, false);
}

void Player::endStream()
{
    std::lock_guard appendLock(m_impl->appendMutex);
    if (!m_impl->streaming) return;
    m_impl->streaming = false;
    m_impl->resampled.clear();
    if (m_impl->resampler) {
        if (Expected<void> r = m_impl->resampler->process({}, EndOfInput::Yes, m_impl->resampled); !r)
            logMessage(LogLevel::Error, "playback: " + r.error().message);
    }
    m_impl->feeder.append(m_impl->resampled, true);
}

PlaybackState Player::state() const
{
    return m_impl->transport.state();
}

double Player::positionSeconds() const
{
    return static_cast<double>(m_impl->transport.playheadFrame(m_impl->feeder.sourceFrames())) / m_impl->deviceRate;
}

double Player::durationSeconds() const
{
    return static_cast<double>(m_impl->feeder.sourceFrames()) / m_impl->deviceRate;
}

int64_t Player::underruns() const
{
    return m_impl->transport.underruns();
}

std::optional<Error> Player::deviceError() const
{
    return m_impl->feeder.error();
}

PlaybackState Player::waitWhilePlaying(std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    PlaybackState current = state();
    while (current == PlaybackState::Playing && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        current = state();
    }
    // The last samples left the ring; let them through the device's own buffer before returning.
    if (current == PlaybackState::Finished) {
        using Clock = std::chrono::steady_clock;
        const auto drain = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(m_impl->output->outputLatencySeconds() + 0.02));
        std::this_thread::sleep_for(std::min(drain, std::max(deadline - Clock::now(), Clock::duration::zero())));
    }
    return current;
}

} // namespace tmk
