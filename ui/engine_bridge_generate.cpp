// EngineBridge: generation. The engine's GenerationJob does the work on the worker (merge the sliders,
// generate while streaming to the player, save the clip: the same job as `tastemaker-cli generate --play
// --library`); this file only re-posts its callbacks to the GUI thread.
#include <chrono>

#include "engine_bridge.h"
#include "widgets/qt_text.h"

namespace tmk::ui {

void EngineBridge::generate(const GenerationRequest& request, const SliderValues& sliders)
{
    m_generating = true;
    Q_EMIT generationStarted();
    GenerationJobParams params;
    params.request = request;
    params.request.decodeAudio = true;
    params.sliders = sliders;
    params.libraryDir = m_libraryDir.toStdString();

    // Worker-thread state of this job: whether the player got its stream, and the model's rate.
    auto streamed = std::make_shared<bool>(false);
    GenerationJobCallbacks callbacks;
    callbacks.progressInterval = std::chrono::milliseconds(40);
    callbacks.onProgress = [this](const GenerationJobProgress& report) {
        if (report.progress.stage != ProgressStage::Decoding) return;
        toGui(
            [this, done = qint64(report.progress.done), total = qint64(report.progress.total), eta = report.etaSeconds,
                rtf = report.realtimeFactor]() { Q_EMIT generationProgress(done, total, eta, rtf); });
    };
    callbacks.onPlaybackStarted = [streamed]() { *streamed = true; };
    callbacks.onAudio = [this](std::span<const float> samples) {
        const std::shared_ptr<const MusicgenModel> model = m_engine->model(); // on the worker: its own model
        const int rate = model ? model->info().sampleRate : 0;
        toGui([this, chunk = std::vector<float>(samples.begin(), samples.end()), rate]() {
            Q_EMIT generationAudio(chunk, rate);
        });
    };
    const int auditionSerial = m_auditionSerial;
    auto onFinished = [this, streamed, auditionSerial](Expected<GenerationJobResult> result) {
        const bool cancelled = !result && result.error().code == ErrorCode::Cancelled;
        const QString error = result || cancelled ? QString() : qs(result.error().message);
        const QString clipId = result && !result->clips.empty() ? qs(result->clips.front().id) : QString();
        toGui([this, cancelled, clipId, error, auditionSerial, streamed = *streamed]() {
            m_generating = false;
            if (!error.isEmpty()) Q_EMIT jobFailed(tr("Generation failed"), error);
            // Unless a clip was auditioned meanwhile, the player holds this generation's audio.
            if (streamed && m_player && auditionSerial == m_auditionSerial) {
                if (cancelled || clipId.isEmpty())
                    m_player->stop();
                else
                    m_playingClipId = clipId;
            }
            if (!clipId.isEmpty()) Q_EMIT libraryChanged();
            Q_EMIT generationFinished(cancelled, clipId);
        });
    };
    if (!counted(m_engine->generate(
            std::move(params), std::move(callbacks), std::move(onFinished), std::make_shared<CancelToken>())))
        m_generating = false;
}

} // namespace tmk::ui
