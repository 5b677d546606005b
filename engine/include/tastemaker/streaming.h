// Streaming decode: EnCodec turns frame codes into audio while the generator is still producing them,
// so the first audio is ready after a few frames instead of after the whole clip. No torch types here.
//
// EnCodec 32 kHz is not causal (its convolutions pad by reflection on both sides) and its LSTM runs over
// the whole sequence from a zero state. Each chunk is therefore decoded as a window with left context (for
// the LSTM to forget its zero state) and right context (for the convolutions), only the chunk's samples
// are kept, and consecutive chunks are cross-faded over a short overlap. The streamed audio matches a full
// decode of the same codes to well over 40 dB SNR (see docs/performance.md); the clip that is saved is
// still the full decode.
//
// Typical use, on the generation thread:
//     auto stream = StreamingDecoder::create(model, 0, {}, [&](std::span<const float> samples) { ring.push(samples);
//     }); callbacks.onFrame = [&](int64_t frame, std::span<const int64_t> codes) { (void)(*stream)->pushFrame(frame,
//     codes); }; auto result = generate(*model, request, callbacks); Expected<void> streamed = (*stream)->finish();  //
//     the tail, and any error an earlier push had
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "tastemaker/error.h"
#include "tastemaker/musicgen.h"

namespace tmk {

// Sizes are in frames (one frame = hop samples = 20 ms at 32 kHz).
struct StreamingOptions {
    int64_t firstChunkFrames = 10; // audio frames released by the first decode: small, for early first audio
    int64_t chunkFrames = 50; // audio frames released by each later decode
    // Frames decoded before each chunk so that the (unidirectional) LSTM forgets its zero state. Measured on
    // random-weight fixture and musicgen-small-sized codecs: 32 frames give >= 44 dB, 64 give >= 55 dB on
    // every code source tried (random, greedy and sampled generations). Real weights may remember longer:
    // re-measure with DISABLED_ContextSweep in tests/unit/test_streaming_decoder.cpp.
    int64_t leftContextFrames = 64;
    // Frames after each chunk: the convolutions look 3 frames + a fraction ahead, so 4 makes them exact
    // (3 gives ~39 dB, 2 ~25 dB; more than 4 changes nothing).
    int64_t rightContextFrames = 4;
    int64_t crossfadeFrames = 1; // overlap of consecutive chunks, blended with a raised-cosine fade

    Expected<void> validate() const;
    std::string toString() const;
};

struct StreamingStats {
    int64_t framesPushed = 0;
    int64_t samplesEmitted = 0;
    int64_t decodeCalls = 0;
    double decodeSeconds = 0; // spent in EnCodec (on the pushing thread)
    int64_t framesAtFirstAudio = -1; // frames pushed when the first samples were emitted (-1: none yet)
};

using AudioChunkCallback = std::function<void(std::span<const float> samples)>;

// Decodes one batch item's codes as they arrive. Not thread-safe: push and finish from one thread (usually
// the generation thread, inside GenerationCallbacks::onFrame). Decoding runs inline in pushFrame, which
// costs about (left + chunk + fade + right) / chunk times a full decode of the same frames, a few percent of
// musicgen-small's generation time on a CPU. It takes no lock: the codec's weights never change after load
// (adapter merges touch only the decoder), so it is safe inside generate() and outside it.
class StreamingDecoder {
public:
    // batchItem: which prompt of the generation to stream (0 for a single prompt). onAudio receives mono
    // float samples at the model's rate, in order; over the whole stream exactly frames * hop samples.
    static Expected<std::unique_ptr<StreamingDecoder>> create(std::shared_ptr<const MusicgenModel> model,
        int64_t batchItem, const StreamingOptions& options, AudioChunkCallback onAudio);
    ~StreamingDecoder();
    StreamingDecoder(const StreamingDecoder&) = delete;
    StreamingDecoder& operator=(const StreamingDecoder&) = delete;

    // Frame `frame` (0, 1, 2, ... in order) with codes[b * K + k] for all batch items b, as onFrame gives
    // them. May decode a chunk and call onAudio. After an error every later call returns the same error.
    Expected<void> pushFrame(int64_t frame, std::span<const int64_t> codes);
    // Decodes what is left (up to the true end, exactly as a full decode pads it) and calls onAudio.
    Expected<void> finish();

    const StreamingStats& stats() const;
    int sampleRate() const;

private:
    struct Impl;
    explicit StreamingDecoder(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace tmk
