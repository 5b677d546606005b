// The torch side of streaming decode (engine-internal): which frames each chunk decodes, and a codec
// stream that decodes them and cross-fades the joins. The public class is tastemaker/streaming.h.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include <ATen/core/Tensor.h>

#include "codec/encodec.h"
#include "tastemaker/streaming.h"

namespace tmk {

// One decode. Frames [windowBegin, windowEnd) go through EnCodec. Of their samples, those of frames
// [regionBegin, regionEnd) are used: the first ones cross-fade with the tail held from the previous
// chunk, [regionBegin, emitEnd) are emitted and [emitEnd, regionEnd) become the next tail.
struct ChunkPlan {
    int64_t windowBegin = 0, windowEnd = 0;
    int64_t regionBegin = 0, emitEnd = 0, regionEnd = 0;
};

// Pure bookkeeping of which chunk comes next (no torch).
class ChunkPlanner {
public:
    explicit ChunkPlanner(const StreamingOptions& options)
        : m_options(options)
    {
    }

    // The next chunk once `available` frames are known, or nothing while more frames are needed.
    // `final`: no more frames will come, so the chunk runs to the end (and nothing when all is emitted).
    std::optional<ChunkPlan> next(int64_t available, bool final) const;
    void advance(const ChunkPlan& plan);

    int64_t emittedFrames() const { return m_emitted; }
    int64_t tailFrames() const { return m_tail; }

private:
    StreamingOptions m_options;
    int64_t m_emitted = 0; // frames whose samples have been emitted
    int64_t m_tail = 0; // frames after those, decoded and held for the cross-fade
    bool m_first = true;
};

// Codes in, samples out, for one batch item. Throws c10::Error as Encodec does.
class CodecStream {
public:
    using Sink = std::function<void(std::span<const float>)>;

    CodecStream(const Encodec& codec, int64_t codebooks, const StreamingOptions& options);

    void append(std::span<const int64_t> frameCodes); // the K codes of the next frame
    // Decodes every chunk that is ready (with `final`, everything) and passes the new samples to `sink`.
    // Returns the number of EnCodec calls.
    int64_t pump(bool final, const Sink& sink);
    int64_t frames() const { return static_cast<int64_t>(m_codes.size()) / m_codebooks; }

private:
    std::vector<float> decodeRegion(const ChunkPlan& plan) const; // samples of [regionBegin, regionEnd)

    const Encodec& m_codec;
    int64_t m_codebooks;
    int64_t m_hop;
    ChunkPlanner m_planner;
    std::vector<int64_t> m_codes; // [T, K], frame-major
    std::vector<float> m_tail; // samples of the held tail frames
};

// Raised-cosine cross-fade in place: from[i] * (1 - w) + to[i] * w, w rising over the span. [n] each.
void crossfadeInto(std::span<const float> from, std::span<float> to);

// Streams codes [B, K, T] of batch item `batchItem` frame by frame, as StreamingDecoder does, and returns
// all samples [T * hop]. For tests and measurements.
std::vector<float> streamDecodeCodes(
    const Encodec& codec, const at::Tensor& codes, int64_t batchItem, const StreamingOptions& options);

} // namespace tmk
