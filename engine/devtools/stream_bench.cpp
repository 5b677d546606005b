// benchmarkStreaming and signalToNoiseDb (tastemaker/devtools/benchmarks.h): a timed generation with
// streaming decode, compared with the full decode of the same codes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/stopwatch.h"
#include "tastemaker/devtools/benchmarks.h"

namespace tmk {

double signalToNoiseDb(std::span<const float> reference, std::span<const float> test)
{
    const size_t n = std::min(reference.size(), test.size());
    double signal = 0, noise = 0;
    for (size_t i = 0; i < n; ++i) {
        const double r = reference[i];
        const double e = r - static_cast<double>(test[i]);
        signal += r * r;
        noise += e * e;
    }
    if (noise == 0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
}

Expected<StreamingBenchmark> benchmarkStreaming(
    std::shared_ptr<const MusicgenModel> model, GenerationRequest request, const StreamingOptions& options)
{
    if (!model) return Error { ErrorCode::InvalidArgument, "streaming benchmark: no model" };
    request.decodeAudio = true;
    std::vector<float> streamed;
    SteadyClock::time_point start;
    double firstAudioSeconds = -1;
    auto onAudio = [&](std::span<const float> samples) {
        if (firstAudioSeconds < 0) firstAudioSeconds = secondsSince(start);
        streamed.insert(streamed.end(), samples.begin(), samples.end());
    };
    Expected<std::unique_ptr<StreamingDecoder>> stream = StreamingDecoder::create(model, 0, options, onAudio);
    if (!stream) return stream.error();
    StreamingDecoder& decoder = **stream;
    GenerationCallbacks callbacks;
    callbacks.onFrame = [&](int64_t frame, std::span<const int64_t> codes) { (void)decoder.pushFrame(frame, codes); };
    start = SteadyClock::now();
    Expected<GenerationResult> result = generate(*model, request, callbacks);
    if (!result) return result.error();
    TMK_TRY(decoder.finish());
    StreamingBenchmark bench;
    bench.frames = result->codes.frames;
    bench.firstAudioSeconds = firstAudioSeconds;
    bench.framesAtFirstAudio = decoder.stats().framesAtFirstAudio;
    bench.generateSeconds = result->textSeconds + result->decodeSeconds;
    bench.streamDecodeSeconds = decoder.stats().decodeSeconds;
    bench.decodeCalls = decoder.stats().decodeCalls;
    bench.fullDecodeSeconds = result->codecSeconds;
    if (streamed.size() != result->audio.front().size())
        return Error { ErrorCode::Internal,
            "streaming benchmark: " + std::to_string(streamed.size()) + " samples streamed, the full decode has "
                + std::to_string(result->audio.front().size()) };
    bench.snrDb = signalToNoiseDb(result->audio.front(), streamed);
    return bench;
}

} // namespace tmk
