// The transport (engine-internal; see tastemaker/player.h): playback state, playhead and the lock-free ring
// between the feeder thread (its only producer) and the real-time audio callback (its only consumer).
//
// Seeking cannot empty the ring from the producer's side, so it starts a new epoch: the control word gets a
// new epoch number, the callback sees it, drops what the ring holds, moves the playhead to the target and
// acknowledges; the feeder pushes nothing until the acknowledgement, then feeds from the target. The state,
// the producer's "done" flag and the epoch live in one atomic word so that the callback can change Playing to
// Finished only if nothing else changed meanwhile.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "tastemaker/player.h"
#include "tastemaker/ring_buffer.h"

namespace tmk {

class Transport {
public:
    // The ring holds `bufferSeconds` (rounded up to a power of two of frames); playback (re)starts once
    // `prerollSeconds` are queued, or the whole rest of the source is.
    Transport(int sampleRate, double bufferSeconds, double prerollSeconds);
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // The audio callback. Real time: copies only; no lock, no allocation, no logging. Fills `out` with
    // `frames` mono samples from the ring while playing, and silence otherwise or when the ring runs dry.
    void render(float* out, size_t frames) noexcept;

    // The feeder (one thread).
    // True when the callback has taken up the latest epoch and the source has not been fed to its end.
    bool wantsFeed() const;
    size_t push(std::span<const float> samples) { return m_ring.push(samples); }
    void markWrapped(); // the feeder looped back to the start since the last restart
    void markDone(); // the feeder has pushed the last sample of a complete source
    void fail(); // the device failed: the state becomes Failed, whatever it was

    // Controls (callers serialise them: the feeder's mutex).
    // A new epoch: the callback drops what is queued and the playhead jumps to `frame`. Failed stays Failed.
    void restartAt(int64_t frame, PlaybackState state);
    // Changes the state to `to` when it is one of `from`.
    void setStateIf(PlaybackState to, std::initializer_list<PlaybackState> from);
    void clearDone(); // looping turned on after the feeder reached the end (but before it was heard)

    // Any thread.
    PlaybackState state() const;
    int64_t playheadFrame(int64_t sourceFrames) const; // clamped to the source; its end once Finished
    int64_t underruns() const { return m_underruns.load(std::memory_order_relaxed); }

private:
    bool primed(uint64_t word);
    void handleShortfall(uint64_t word);

    SpscRingBuffer m_ring;
    size_t m_prerollFrames;
    std::atomic<uint64_t> m_control { 0 }; // see transport.cpp
    std::atomic<uint64_t> m_ackedEpoch { 0 };
    std::atomic<int64_t> m_flushTarget { 0 };
    std::atomic<int64_t> m_playedFrames { 0 };
    std::atomic<int64_t> m_underruns { 0 };
    // The callback's own.
    uint64_t m_callbackEpoch = 0;
    bool m_callbackPrimed = false;
};

} // namespace tmk
