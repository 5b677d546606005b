// EngineBridge: the generation job. It merges the sliders, generates while a StreamingDecoder feeds the
// player, then saves the clip in the library (the same steps as `tastemaker-cli generate --play --library`).
#include <chrono>

#include "engine_bridge.h"
#include "engine_bridge_worker.h"
#include "tastemaker/log.h"
#include "tastemaker/streaming.h"

namespace tmk::ui {

namespace {

using Clock = std::chrono::steady_clock;

QString qs(const std::string& text) { return QString::fromStdString(text); }

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Turns decoding steps into an ETA and a real-time factor (audio seconds made per wall second).
struct ProgressClock {
    Clock::time_point start = Clock::now();
    Clock::time_point lastReport{};
    double audioSeconds = 0;  // of the whole request

    // Returns false when it is too soon to report again (reports are at most every 40 ms, and the last).
    bool measure(const Progress& progress, double& etaSeconds, double& realtimeFactor)
    {
        const auto now = Clock::now();
        if (progress.done < progress.total && now - lastReport < std::chrono::milliseconds(40)) return false;
        lastReport = now;
        const double elapsed = secondsSince(start);
        const double fraction = progress.fraction();
        etaSeconds = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : -1.0;
        realtimeFactor = elapsed > 0 ? fraction * audioSeconds / elapsed : 0.0;
        return true;
    }
};

}  // namespace

void EngineBridge::generate(const GenerationRequest& request, const SliderValues& sliders)
{
    auto token = std::make_shared<CancelToken>();
    {
        std::lock_guard lock(m_worker->mutex);
        m_worker->wantedSliders = sliders;
    }
    m_generating = true;
    Q_EMIT generationStarted();
    const std::filesystem::path libraryDir = m_libraryDir.toStdString();
    const int serial = m_auditionSerial;
    enqueue([this, request, libraryDir, token, serial]() { generateJob(request, libraryDir, token, serial); }, true, token);
}

void EngineBridge::generateJob(GenerationRequest request, const std::filesystem::path& libraryDir, CancelTokenPtr cancel,
                               int auditionSerial)
{
    bool streamed = false;  // the player got this generation's stream
    auto finish = [this, &streamed, auditionSerial](bool cancelled, const QString& clipId, const QString& error) {
        toGui([this, cancelled, clipId, error, auditionSerial, streamed]() {
            m_generating = false;
            if (!error.isEmpty()) Q_EMIT jobFailed(tr("Generation failed"), error);
            // Unless a clip was auditioned meanwhile, the player holds this generation's audio.
            if (streamed && m_player && auditionSerial == m_auditionSerial) {
                if (cancelled || clipId.isEmpty()) m_player->stop();
                else m_playingClipId = clipId;
            }
            if (!clipId.isEmpty()) Q_EMIT libraryChanged();
            Q_EMIT generationFinished(cancelled, clipId);
        });
    };
    const std::shared_ptr<const MusicgenModel> model = m_worker->model;
    if (!model) return finish(false, {}, tr("Open a model first (File > Open model folder…)."));
    if (auto merged = m_worker->mergeWanted(); !merged) return finish(false, {}, qs(merged.error().message));
    else if (merged->has_value()) {
        const double ms = (*merged)->milliseconds;
        toGui([this, ms, values = m_worker->steering->current()]() {
            m_mergedSliders = values;
            Q_EMIT slidersMerged(ms);
        });
    }
    request.decodeAudio = true;
    const ModelInfo& info = model->info();
    if (Expected<void> valid = request.validate(info); !valid) return finish(false, {}, qs(valid.error().message));

    ProgressClock clock;
    clock.audioSeconds = static_cast<double>(request.frames) / static_cast<double>(std::max<int64_t>(1, info.frameRate));
    GenerationCallbacks callbacks;
    callbacks.cancel = cancel.get();
    callbacks.onProgress = [this, &clock](const Progress& progress) {
        double eta = 0, rtf = 0;
        if (progress.stage != ProgressStage::Decoding || !clock.measure(progress, eta, rtf)) return;
        const qint64 done = progress.done, total = progress.total;
        toGui([this, done, total, eta, rtf]() { Q_EMIT generationProgress(done, total, eta, rtf); });
    };

    // Stream item 0 to the player (when there is one) and the waveform while it is generated.
    std::shared_ptr<Player> player = m_worker->player;
    std::unique_ptr<StreamingDecoder> stream;
    if (player && !player->beginStream(info.sampleRate, clock.audioSeconds)) player.reset();
    streamed = player != nullptr;
    const int rate = info.sampleRate;
    auto created = StreamingDecoder::create(model, 0, StreamingOptions{}, [this, player, rate](std::span<const float> samples) {
        if (player) player->appendStream(samples);
        std::vector<float> chunk(samples.begin(), samples.end());
        toGui([this, chunk = std::move(chunk), rate]() { Q_EMIT generationAudio(chunk, rate); });
    });
    if (created) stream = std::move(*created);
    else logMessage(LogLevel::Warning, "cannot stream while generating: " + created.error().message);
    if (stream) callbacks.onFrame = [&stream](int64_t frame, std::span<const int64_t> codes) { (void)stream->pushFrame(frame, codes); };

    Expected<GenerationResult> result = tmk::generate(*model, request, callbacks);
    if (stream && result) {
        if (Expected<void> done = stream->finish(); !done) logMessage(LogLevel::Warning, "streaming failed: " + done.error().message);
    }
    if (player) player->endStream();
    if (!result) {
        const bool cancelled = result.error().code == ErrorCode::Cancelled;
        return finish(cancelled, {}, cancelled ? QString() : qs(result.error().message));
    }
    // Saving is quick and not interrupted: a clip that was generated completely is kept.
    Expected<ClipLibrary> library = ClipLibrary::open(libraryDir);
    if (!library) return finish(false, {}, qs(library.error().message));
    const SliderValues merged = m_worker->steering ? m_worker->steering->current() : SliderValues{};
    const std::filesystem::path bankDir = m_worker->steering ? m_worker->bankDir : std::filesystem::path();
    auto saved = saveGeneration(*library, info, request, *result, merged, bankDir);
    if (!saved) return finish(false, {}, qs(saved.error().message));
    finish(false, qs(saved->front().id), {});
}

}  // namespace tmk::ui
