#include "audio/transport.h"

#include <algorithm>

namespace tmk {

namespace {

// The control word: [epoch : 56][unused : 3][wrapped : 1][done : 1][state : 3].
constexpr uint64_t kStateMask = 7;
constexpr uint64_t kDoneBit = 8; // the feeder has pushed the last sample of a complete source
constexpr uint64_t kWrappedBit = 16; // the feeder looped back to the start since the last restart
constexpr int kEpochShift = 8;

PlaybackState stateOf(uint64_t word)
{
    return static_cast<PlaybackState>(word & kStateMask);
}
uint64_t epochOf(uint64_t word)
{
    return word >> kEpochShift;
}
uint64_t withState(uint64_t word, PlaybackState state)
{
    return (word & ~kStateMask) | static_cast<uint64_t>(state);
}

} // namespace

Transport::Transport(int sampleRate, double bufferSeconds, double prerollSeconds)
    : m_ring(static_cast<size_t>(std::max(0.05, bufferSeconds) * sampleRate))
    , m_prerollFrames(std::min(static_cast<size_t>(std::max(0.0, prerollSeconds) * sampleRate), m_ring.capacity() / 2))
{
}

void Transport::render(float* out, size_t frames) noexcept
{
    const uint64_t word = m_control.load(std::memory_order_acquire);
    if (epochOf(word) != m_callbackEpoch) { // a seek, stop or new source: drop what was queued
        m_ring.discardAll();
        m_playedFrames.store(m_flushTarget.load(std::memory_order_relaxed), std::memory_order_relaxed);
        m_callbackPrimed = false;
        m_callbackEpoch = epochOf(word);
        m_ackedEpoch.store(m_callbackEpoch, std::memory_order_release);
    }
    size_t got = 0;
    if (stateOf(word) == PlaybackState::Playing && primed(word)) {
        got = m_ring.pop(std::span<float>(out, frames));
        m_playedFrames.store(
            m_playedFrames.load(std::memory_order_relaxed) + static_cast<int64_t>(got), std::memory_order_relaxed);
        if (got < frames) handleShortfall(word);
    }
    std::fill(out + got, out + frames, 0.0f);
}

// Playback (re)starts only once the pre-roll is queued, or the whole rest of the source is.
bool Transport::primed(uint64_t word)
{
    if (!m_callbackPrimed && (m_ring.readAvailable() >= m_prerollFrames || (word & kDoneBit))) m_callbackPrimed = true;
    return m_callbackPrimed;
}

void Transport::handleShortfall(uint64_t word)
{
    const uint64_t now = m_control.load(std::memory_order_acquire);
    if (epochOf(now) != epochOf(word)) return; // a seek came in; the next callback handles it
    if (now & kDoneBit) { // the end of the source, not an underrun
        uint64_t expected = now;
        if (stateOf(now) == PlaybackState::Playing && m_ring.readAvailable() == 0)
            m_control.compare_exchange_strong(
                expected, withState(now, PlaybackState::Finished), std::memory_order_acq_rel);
        return;
    }
    m_underruns.fetch_add(1, std::memory_order_relaxed);
    m_callbackPrimed = false; // buffer the pre-roll again rather than stutter
}

bool Transport::wantsFeed() const
{
    const uint64_t word = m_control.load(std::memory_order_acquire);
    return m_ackedEpoch.load(std::memory_order_acquire) == epochOf(word) && !(word & kDoneBit);
}

void Transport::markWrapped()
{
    m_control.fetch_or(kWrappedBit, std::memory_order_release);
}

void Transport::markDone()
{
    m_control.fetch_or(kDoneBit, std::memory_order_release);
}

void Transport::clearDone()
{
    m_control.fetch_and(~kDoneBit, std::memory_order_release);
}

void Transport::fail()
{
    uint64_t word = m_control.load(std::memory_order_relaxed);
    while (!m_control.compare_exchange_weak(word, withState(word, PlaybackState::Failed), std::memory_order_acq_rel)) {
    }
}

void Transport::restartAt(int64_t frame, PlaybackState state)
{
    m_flushTarget.store(frame, std::memory_order_relaxed);
    uint64_t word = m_control.load(std::memory_order_relaxed);
    uint64_t next = 0;
    do {
        const PlaybackState kept = stateOf(word) == PlaybackState::Failed ? PlaybackState::Failed : state;
        next = ((epochOf(word) + 1) << kEpochShift) | static_cast<uint64_t>(kept);
    } while (!m_control.compare_exchange_weak(word, next, std::memory_order_release, std::memory_order_relaxed));
}

void Transport::setStateIf(PlaybackState to, std::initializer_list<PlaybackState> from)
{
    uint64_t word = m_control.load(std::memory_order_relaxed);
    while (std::find(from.begin(), from.end(), stateOf(word)) != from.end()) {
        if (m_control.compare_exchange_weak(
                word, withState(word, to), std::memory_order_release, std::memory_order_relaxed))
            break;
    }
}

PlaybackState Transport::state() const
{
    return stateOf(m_control.load(std::memory_order_acquire));
}

int64_t Transport::playheadFrame(int64_t sourceFrames) const
{
    const uint64_t word = m_control.load(std::memory_order_acquire);
    const bool flushed = m_ackedEpoch.load(std::memory_order_acquire) == epochOf(word);
    const int64_t frame
        = flushed ? m_playedFrames.load(std::memory_order_relaxed) : m_flushTarget.load(std::memory_order_relaxed);
    if (stateOf(word) == PlaybackState::Finished) return sourceFrames;
    if ((word & kWrappedBit) && sourceFrames > 0) return frame % sourceFrames;
    return std::min(frame, sourceFrames);
}

} // namespace tmk
