#include "audio/feeder.h"

#include <algorithm>

#include "tastemaker/log.h"

namespace tmk {

namespace {

constexpr auto kFeedPeriod = std::chrono::milliseconds(5);
constexpr auto kStallTimeout = std::chrono::seconds(3);

} // namespace

Feeder::Feeder(Transport& transport, const PortAudioOutput& output)
    : m_transport(transport)
    , m_output(output)
{
}

Feeder::~Feeder()
{
    if (!m_thread.joinable()) return;
    {
        std::lock_guard lock(m_mutex);
        m_quit = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

void Feeder::start()
{
    m_thread = std::thread([this] { run(); });
}

void Feeder::run()
{
    std::unique_lock lock(m_mutex);
    m_lastCallbackChange = std::chrono::steady_clock::now();
    while (!m_quit) {
        feed();
        checkDevice();
        m_wake.wait_for(lock, kFeedPeriod);
    }
}

// Under m_mutex: tops the ring up from the source.
void Feeder::feed()
{
    if (!m_transport.wantsFeed()) return;
    for (;;) {
        if (m_feedFrame < m_source.size()) {
            m_feedFrame += m_transport.push(std::span<const float>(m_source).subspan(m_feedFrame));
            if (m_feedFrame < m_source.size()) return; // the ring is full
            continue;
        }
        if (!m_sourceComplete) return; // a stream waiting for more
        if (m_loop == LoopMode::Loop && !m_source.empty()) {
            m_feedFrame = 0;
            m_transport.markWrapped();
            continue;
        }
        m_transport.markDone();
        return;
    }
}

// Under m_mutex: a stream that stopped, reports an error, or no longer calls back means the device failed.
void Feeder::checkDevice()
{
    if (m_error) return;
    const auto now = std::chrono::steady_clock::now();
    const uint64_t calls = m_output.callbackCount();
    if (calls != m_lastCallbackCount) {
        m_lastCallbackCount = calls;
        m_lastCallbackChange = now;
    }
    std::optional<std::string> why = m_output.streamProblem();
    if (!why && now - m_lastCallbackChange > kStallTimeout) why = "the device stopped asking for audio";
    if (!why) return;
    m_error = Error { ErrorCode::Device, "audio output '" + m_output.deviceName() + "' failed while playing: " + *why };
    m_transport.fail();
    logMessage(LogLevel::Warning, m_error->message);
}

// Under m_mutex: the transport starts a new epoch at `frame`, and the feeder feeds from there.
void Feeder::restartAt(int64_t frame, PlaybackState state)
{
    frame = std::clamp<int64_t>(frame, 0, static_cast<int64_t>(m_source.size()));
    m_feedFrame = static_cast<size_t>(frame);
    m_transport.restartAt(frame, state);
    m_wake.notify_all();
}

void Feeder::load(std::vector<float> samples, PlaybackState state)
{
    std::lock_guard lock(m_mutex);
    m_source = std::move(samples);
    m_sourceFrames.store(static_cast<int64_t>(m_source.size()));
    m_sourceComplete = true;
    restartAt(0, state);
}

void Feeder::beginStream(size_t expectedFrames)
{
    std::lock_guard lock(m_mutex);
    m_source.clear();
    m_source.reserve(expectedFrames);
    m_sourceFrames.store(0);
    m_sourceComplete = false;
    restartAt(0, PlaybackState::Playing);
}

void Feeder::append(std::span<const float> samples, bool complete)
{
    std::lock_guard lock(m_mutex);
    m_source.insert(m_source.end(), samples.begin(), samples.end());
    m_sourceFrames.store(static_cast<int64_t>(m_source.size()), std::memory_order_relaxed);
    m_sourceComplete = complete;
    m_wake.notify_all();
}

void Feeder::play()
{
    std::lock_guard lock(m_mutex);
    if (m_transport.state() == PlaybackState::Finished) {
        restartAt(0, PlaybackState::Playing);
        return;
    }
    m_transport.setStateIf(PlaybackState::Playing, { PlaybackState::Stopped, PlaybackState::Paused });
}

void Feeder::pause()
{
    std::lock_guard lock(m_mutex);
    m_transport.setStateIf(PlaybackState::Paused, { PlaybackState::Playing });
}

void Feeder::stop()
{
    std::lock_guard lock(m_mutex);
    restartAt(0, PlaybackState::Stopped);
}

void Feeder::seek(int64_t frame)
{
    std::lock_guard lock(m_mutex);
    PlaybackState state = m_transport.state();
    if (state == PlaybackState::Finished) state = PlaybackState::Paused;
    restartAt(frame, state);
}

void Feeder::setLoop(LoopMode mode)
{
    std::lock_guard lock(m_mutex);
    m_loop = mode;
    // Looping turned on after the feeder reached the end (but before it was heard): feed on.
    if (mode == LoopMode::Loop) m_transport.clearDone();
    m_wake.notify_all();
}

std::optional<Error> Feeder::error() const
{
    std::lock_guard lock(m_mutex);
    return m_error;
}

} // namespace tmk
