// Streaming decode: chunk planning, windowed EnCodec decode with cross-fades, and the public
// StreamingDecoder (its benchmark is dev tooling, engine/devtools/stream_bench.cpp). Why the context sizes
// are what they are: docs/performance.md.
#include "pipeline/streaming_decoder.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>

#include <ATen/TensorOperators.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/InferenceMode.h>

#include "core/stopwatch.h"
#include "pipeline/model_access.h"

namespace tmk {

namespace {

template <typename Fn> Expected<void> guardStream(Fn&& fn)
{
    try {
        c10::InferenceMode guard;
        fn();
        return {};
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, std::string("streaming decode failed: ") + e.what_without_backtrace() };
    } catch (const std::bad_alloc&) {
        return Error { ErrorCode::Device, "streaming decode failed: out of memory" };
    }
}

} // namespace

// ---- StreamingOptions -----------------------------------------------------------------------------

Expected<void> StreamingOptions::validate() const
{
    auto bad = [](const std::string& message) { return Error { ErrorCode::InvalidArgument, "streaming: " + message }; };
    if (firstChunkFrames < 1) return bad("the first chunk must be at least one frame");
    if (chunkFrames < 1) return bad("chunks must be at least one frame");
    if (leftContextFrames < 0 || rightContextFrames < 0) return bad("context frames must not be negative");
    if (crossfadeFrames < 0) return bad("the cross-fade must not be negative");
    return {};
}

std::string StreamingOptions::toString() const
{
    std::ostringstream out;
    out << "first chunk " << firstChunkFrames << ", chunk " << chunkFrames << ", left context " << leftContextFrames
        << ", right context " << rightContextFrames << ", cross-fade " << crossfadeFrames << " frames";
    return out.str();
}

// ---- ChunkPlanner ---------------------------------------------------------------------------------

std::optional<ChunkPlan> ChunkPlanner::next(int64_t available, bool final) const
{
    ChunkPlan plan;
    plan.regionBegin = m_emitted;
    plan.windowBegin = std::max<int64_t>(0, m_emitted - m_options.leftContextFrames);
    if (final) {
        if (available <= m_emitted) return std::nullopt;
        plan.emitEnd = plan.regionEnd = plan.windowEnd
            = available; // reflect-padded at the true end, like a full decode
        return plan;
    }
    plan.emitEnd = m_emitted + (m_first ? m_options.firstChunkFrames : m_options.chunkFrames);
    plan.regionEnd = plan.emitEnd + m_options.crossfadeFrames;
    plan.windowEnd = plan.regionEnd + m_options.rightContextFrames;
    if (available < plan.windowEnd) return std::nullopt;
    return plan;
}

void ChunkPlanner::advance(const ChunkPlan& plan)
{
    m_emitted = plan.emitEnd;
    m_tail = plan.regionEnd - plan.emitEnd;
    m_first = false;
}

// ---- CodecStream ----------------------------------------------------------------------------------

void crossfadeInto(std::span<const float> from, std::span<float> to)
{
    const size_t n = std::min(from.size(), to.size());
    for (size_t i = 0; i < n; ++i) {
        // Raised cosine: the two weights sum to one, and the slope is zero at both ends.
        const double w
            = 0.5 - 0.5 * std::cos(std::numbers::pi * (static_cast<double>(i) + 0.5) / static_cast<double>(n));
        to[i] = static_cast<float>(from[i] * (1.0 - w) + to[i] * w);
    }
}

CodecStream::CodecStream(const Encodec& codec, int64_t codebooks, const StreamingOptions& options)
    : m_codec(codec)
    , m_codebooks(codebooks)
    , m_hop(codec.hopLength())
    , m_planner(options)
{
}

void CodecStream::append(std::span<const int64_t> frameCodes)
{
    TORCH_CHECK(
        static_cast<int64_t>(frameCodes.size()) == m_codebooks, "CodecStream: a frame needs ", m_codebooks, " codes");
    m_codes.insert(m_codes.end(), frameCodes.begin(), frameCodes.end());
}

std::vector<float> CodecStream::decodeRegion(const ChunkPlan& plan) const
{
    const int64_t width = plan.windowEnd - plan.windowBegin;
    auto* first = const_cast<int64_t*>(m_codes.data() + plan.windowBegin * m_codebooks);
    at::Tensor codes = at::from_blob(first, { width, m_codebooks }, at::kLong).t().unsqueeze(0); // [1, K, W]
    at::Tensor audio = m_codec.decode(codes.to(m_codec.device())); // [1, 1, W * hop]
    at::Tensor region
        = audio.reshape({ -1 })
              .narrow(0, (plan.regionBegin - plan.windowBegin) * m_hop, (plan.regionEnd - plan.regionBegin) * m_hop)
              .to(at::kCPU, at::kFloat)
              .contiguous(); // [(regionEnd - regionBegin) * hop]
    const float* data = region.data_ptr<float>();
    return std::vector<float>(data, data + region.numel());
}

int64_t CodecStream::pump(bool final, const Sink& sink)
{
    int64_t calls = 0;
    while (std::optional<ChunkPlan> plan = m_planner.next(frames(), final)) {
        std::vector<float> region = decodeRegion(*plan);
        const size_t fade = std::min(m_tail.size(), region.size());
        crossfadeInto(std::span<const float>(m_tail.data(), fade), std::span<float>(region.data(), fade));
        const auto emitted = static_cast<size_t>((plan->emitEnd - plan->regionBegin) * m_hop);
        m_tail.assign(region.begin() + static_cast<std::ptrdiff_t>(emitted), region.end());
        m_planner.advance(*plan);
        ++calls;
        if (emitted > 0 && sink) sink(std::span<const float>(region.data(), emitted));
    }
    return calls;
}

std::vector<float> streamDecodeCodes(
    const Encodec& codec, const at::Tensor& codes, int64_t batchItem, const StreamingOptions& options)
{
    c10::InferenceMode guard;
    TORCH_CHECK(codes.dim() == 3 && batchItem >= 0 && batchItem < codes.size(0),
        "streamDecodeCodes: codes must be [B, K, T] with item ", batchItem);
    at::Tensor item = codes[batchItem].t().to(at::kCPU, at::kLong).contiguous(); // [T, K]
    const int64_t codebooks = item.size(1);
    CodecStream stream(codec, codebooks, options);
    std::vector<float> samples;
    auto sink = [&](std::span<const float> chunk) { samples.insert(samples.end(), chunk.begin(), chunk.end()); };
    const int64_t* data = item.data_ptr<int64_t>();
    for (int64_t t = 0; t < item.size(0); ++t) {
        stream.append(std::span<const int64_t>(data + t * codebooks, static_cast<size_t>(codebooks)));
        stream.pump(false, sink);
    }
    stream.pump(true, sink);
    return samples;
}

// ---- StreamingDecoder -----------------------------------------------------------------------------

struct StreamingDecoder::Impl {
    std::shared_ptr<const MusicgenModel> model;
    int64_t batchItem = 0;
    int64_t codebooks = 0;
    int64_t codebookSize = 0;
    AudioChunkCallback onAudio;
    CodecStream stream;
    StreamingStats stats;
    std::optional<Error> failure;
    bool finished = false;

    Impl(std::shared_ptr<const MusicgenModel> m, int64_t item, const StreamingOptions& options,
        AudioChunkCallback callback)
        : model(std::move(m))
        , batchItem(item)
        , codebooks(modelParts(*model).config.decoder.numCodebooks)
        , codebookSize(modelParts(*model).config.codec.codebookSize)
        , onAudio(std::move(callback))
        , stream(*modelParts(*model).codec, codebooks, options)
    {
    }

    Expected<void> checkFrame(int64_t frame, std::span<const int64_t> codes) const;
    Expected<void> pump(bool final);
    Expected<void> fail(Error error)
    {
        failure = error;
        return error;
    }
};

Expected<void> StreamingDecoder::Impl::checkFrame(int64_t frame, std::span<const int64_t> codes) const
{
    auto bad = [](const std::string& message) { return Error { ErrorCode::InvalidArgument, "streaming: " + message }; };
    if (finished) return bad("a frame was pushed after finish()");
    if (frame != stats.framesPushed)
        return bad("frames must arrive in order: expected frame " + std::to_string(stats.framesPushed) + ", got "
            + std::to_string(frame));
    const auto size = static_cast<int64_t>(codes.size());
    if (size % codebooks != 0 || (batchItem + 1) * codebooks > size)
        return bad("frame " + std::to_string(frame) + " has " + std::to_string(size) + " codes, not [batch, "
            + std::to_string(codebooks) + "] with batch item " + std::to_string(batchItem));
    for (int64_t k = 0; k < codebooks; ++k) {
        const int64_t value = codes[static_cast<size_t>(batchItem * codebooks + k)];
        if (value < 0 || value >= codebookSize)
            return bad("code " + std::to_string(value) + " of frame " + std::to_string(frame) + ", codebook "
                + std::to_string(k) + " is outside [0, " + std::to_string(codebookSize) + ")");
    }
    return {};
}

Expected<void> StreamingDecoder::Impl::pump(bool final)
{
    auto start = SteadyClock::now();
    int64_t calls = 0;
    auto sink = [this](std::span<const float> samples) {
        if (stats.framesAtFirstAudio < 0) stats.framesAtFirstAudio = stats.framesPushed;
        stats.samplesEmitted += static_cast<int64_t>(samples.size());
        if (onAudio) onAudio(samples);
    };
    Expected<void> done = guardStream([&] { calls = stream.pump(final, sink); });
    stats.decodeCalls += calls;
    stats.decodeSeconds += secondsSince(start);
    return done;
}

StreamingDecoder::StreamingDecoder(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{
}
StreamingDecoder::~StreamingDecoder() = default;

Expected<std::unique_ptr<StreamingDecoder>> StreamingDecoder::create(std::shared_ptr<const MusicgenModel> model,
    int64_t batchItem, const StreamingOptions& options, AudioChunkCallback onAudio)
{
    if (!model) return Error { ErrorCode::InvalidArgument, "streaming: no model" };
    if (batchItem < 0) return Error { ErrorCode::InvalidArgument, "streaming: the batch item must not be negative" };
    TMK_TRY(options.validate());
    auto impl = std::make_unique<Impl>(std::move(model), batchItem, options, std::move(onAudio));
    return std::unique_ptr<StreamingDecoder>(new StreamingDecoder(std::move(impl)));
}

Expected<void> StreamingDecoder::pushFrame(int64_t frame, std::span<const int64_t> codes)
{
    Impl& d = *m_impl;
    if (d.failure) return *d.failure;
    if (Expected<void> checked = d.checkFrame(frame, codes); !checked) return d.fail(checked.error());
    const auto offset = static_cast<size_t>(d.batchItem * d.codebooks);
    d.stream.append(codes.subspan(offset, static_cast<size_t>(d.codebooks)));
    ++d.stats.framesPushed;
    if (Expected<void> pumped = d.pump(false); !pumped) return d.fail(pumped.error());
    return {};
}

Expected<void> StreamingDecoder::finish()
{
    Impl& d = *m_impl;
    if (d.failure) return *d.failure;
    if (d.finished) return {};
    d.finished = true;
    if (Expected<void> pumped = d.pump(true); !pumped) return d.fail(pumped.error());
    return {};
}

const StreamingStats& StreamingDecoder::stats() const
{
    return m_impl->stats;
}
int StreamingDecoder::sampleRate() const
{
    return m_impl->model->info().sampleRate;
}

} // namespace tmk
