// The generation job (see tastemaker/generation_job.h): merge, generate with streaming decode to the sink,
// save. Torch-free: it composes the public engine APIs only.
#include "tastemaker/generation_job.h"

#include <algorithm>

#include "core/stopwatch.h"
#include "tastemaker/player.h"

namespace tmk {

namespace {

// Turns decoding steps into an ETA and a real-time factor, and throttles them.
class ProgressPacer {
public:
    ProgressPacer(SteadyClock::time_point start, double audioSeconds, std::chrono::milliseconds interval)
        : m_start(start)
        , m_audioSeconds(audioSeconds)
        , m_interval(interval)
    {
    }

    // False when this report is dropped (too soon after the last one, and not the last step).
    bool measure(const Progress& progress, GenerationJobProgress& out)
    {
        out.progress = progress;
        if (progress.stage != ProgressStage::Decoding) return true;
        const auto now = SteadyClock::now();
        if (progress.done < progress.total && m_reported && now - m_last < m_interval) return false;
        m_reported = true;
        m_last = now;
        const double elapsed = secondsSince(m_start);
        const double fraction = progress.fraction();
        out.etaSeconds = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : -1.0;
        out.realtimeFactor = elapsed > 0 ? fraction * m_audioSeconds / elapsed : 0.0;
        return true;
    }

private:
    SteadyClock::time_point m_start;
    double m_audioSeconds = 0;
    std::chrono::milliseconds m_interval;
    SteadyClock::time_point m_last {};
    bool m_reported = false;
};

// Batch item 0 streamed to the sink and the audio callback while it is generated.
class LiveStream {
public:
    LiveStream(SteadyClock::time_point start, GenerationJobStats& stats)
        : m_start(start)
        , m_stats(stats)
    {
    }

    void setUp(const std::shared_ptr<const MusicgenModel>& model, const GenerationJobParams& params,
        const GenerationJobCallbacks& callbacks)
    {
        m_sink = params.sink;
        if (m_sink) {
            if (Expected<void> begun = m_sink->beginStream(model->info().sampleRate, m_stats.audioSeconds); !begun) {
                m_stats.playbackError = begun.error();
                m_sink.reset();
            } else {
                m_stats.streamedToSink = true;
                if (callbacks.onPlaybackStarted) callbacks.onPlaybackStarted();
            }
        }
        if (!m_sink && !callbacks.onAudio) return;
        AudioChunkCallback onAudio = callbacks.onAudio;
        auto created
            = StreamingDecoder::create(model, 0, params.streaming, [this, onAudio](std::span<const float> samples) {
                  if (m_stats.firstAudioSeconds < 0) m_stats.firstAudioSeconds = secondsSince(m_start);
                  if (m_sink) m_sink->appendStream(samples);
                  if (onAudio) onAudio(samples);
              });
        if (created)
            m_decoder = std::move(*created);
        else
            m_stats.streamError = created.error();
    }

    // The frame callback for generate(), or none when nothing streams.
    std::function<void(int64_t, std::span<const int64_t>)> onFrame()
    {
        if (!m_decoder) return {};
        return [this](int64_t frame, std::span<const int64_t> codes) { (void)m_decoder->pushFrame(frame, codes); };
    }

    // After generate(): the stream's tail (only when the generation succeeded), then the sink's end.
    void finish(bool generated, PlaybackWait wait)
    {
        if (m_decoder && generated)
            if (Expected<void> done = m_decoder->finish(); !done) m_stats.streamError = done.error();
        if (!m_sink) return;
        m_sink->endStream();
        if (generated && wait == PlaybackWait::UntilPlayed) m_sink->waitWhilePlaying(std::chrono::minutes(10));
        if (std::optional<Error> failed = m_sink->deviceError()) m_stats.playbackError = *failed;
        m_stats.underruns = m_sink->underruns();
    }

private:
    SteadyClock::time_point m_start;
    GenerationJobStats& m_stats;
    std::shared_ptr<Player> m_sink;
    std::unique_ptr<StreamingDecoder> m_decoder;
};

// Brings the sliders in by the path that costs less over this generation (Steering::prepareGeneration).
Expected<void> mergeSliders(Steering* steering, const SliderValues& sliders, int64_t frames,
    const GenerationJobCallbacks& callbacks, GenerationJobResult& job)
{
    if (!steering) return {};
    Expected<std::optional<SteeringMergeInfo>> merged = steering->prepareGeneration(sliders, frames);
    if (!merged) return merged.error();
    job.sliders = steering->current();
    if (steering->runtimeAdapters() > 0) job.mergedSliders = steering->merged();
    if (!merged->has_value()) return {};
    job.stats.merge = **merged;
    if (callbacks.onMerged) callbacks.onMerged(**merged, job.sliders);
    return {};
}

void fillTimes(const GenerationResult& generation, GenerationJobStats& stats)
{
    stats.textSeconds = generation.textSeconds;
    stats.decodeSeconds = generation.decodeSeconds;
    stats.codecSeconds = generation.codecSeconds;
    stats.computeSeconds = stats.textSeconds + stats.decodeSeconds + stats.codecSeconds;
    stats.realtimeFactor = stats.computeSeconds > 0 ? stats.audioSeconds / stats.computeSeconds : 0.0;
}

} // namespace

Expected<GenerationJobResult> runGenerationJob(const std::shared_ptr<const MusicgenModel>& model, Steering* steering,
    const GenerationJobParams& params, const GenerationJobCallbacks& callbacks)
{
    if (!model) return Error { ErrorCode::InvalidArgument, "no model is loaded; open a model first" };
    const SteadyClock::time_point start = SteadyClock::now();
    const ModelInfo& info = model->info();
    GenerationJobResult job;
    TMK_TRY(mergeSliders(steering, params.sliders, params.request.frames, callbacks, job));
    GenerationRequest request = params.request;
    if (!params.libraryDir.empty()) request.decodeAudio = true;
    TMK_TRY(request.validate(info));
    job.stats.audioSeconds
        = static_cast<double>(request.frames) / static_cast<double>(std::max<int64_t>(1, info.frameRate));

    LiveStream live(start, job.stats);
    live.setUp(model, params, callbacks);
    ProgressPacer pacer(start, job.stats.audioSeconds, callbacks.progressInterval);
    GenerationCallbacks generation;
    generation.cancel = callbacks.cancel;
    generation.onFrame = live.onFrame();
    if (callbacks.onProgress) {
        generation.onProgress = [&](const Progress& progress) {
            GenerationJobProgress report;
            if (pacer.measure(progress, report)) callbacks.onProgress(report);
        };
    }
    Expected<GenerationResult> result = generate(*model, request, generation);
    live.finish(result.ok(), params.wait);
    if (!result) return result.error();
    fillTimes(*result, job.stats);
    job.generation = std::move(*result);

    // Saving is quick and not interrupted: a clip that was generated completely is kept.
    if (!params.libraryDir.empty()) {
        Expected<ClipLibrary> library = ClipLibrary::open(params.libraryDir);
        if (!library) return library.error();
        const std::filesystem::path bankDir = steering ? steering->bankDir() : std::filesystem::path();
        auto saved = saveGeneration(*library, info, request, job.generation, job.sliders, bankDir, job.mergedSliders);
        if (!saved) return saved.error();
        job.clips = std::move(*saved);
    }
    return job;
}

} // namespace tmk
