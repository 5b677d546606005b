// EngineBridge: the only object in ui/ that makes the engine do work.
//
// It lives in the GUI thread and owns the engine's worker (tmk::EngineWorker, tastemaker/engine_worker.h),
// which runs one job at a time on its own thread (load a model, load a bank, merge sliders, generate, or any
// job post()ed by another bridge, e.g. training) and coalesces slider moves. Every method returns at once;
// the bridge only re-posts the worker's callbacks to the GUI thread (queued invocations, the "trampoline"),
// where they become signals, so no worker thread ever touches a widget.
//
// Generation is the engine's GenerationJob (tastemaker/generation_job.h), the same as
// `tastemaker-cli generate --play --library`: it streams to playback as it goes and saves the clip into the
// library. Playback and library operations are quick file work and run synchronously in the GUI thread
// (the Player is thread-safe; the library writes atomically).
//
// Threads: every public method is for the GUI thread only, except the worker accessors documented as
// such (workerModel(), workerBankDir(), workerSteering()), which are for jobs running on the worker.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <QObject>
#include <QString>
#include <QTimer>

#include "tastemaker/adapters.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/cancel.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/engine_worker.h"
#include "tastemaker/error.h"
#include "tastemaker/metrics.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/player.h"
#include "tastemaker/steering_report.h"

namespace tmk::ui {

struct EngineBridgeOptions {
    // Where clips are saved; empty: QStandardPaths::AppDataLocation + "/clips".
    QString libraryDir;
    // false: never open an audio device (tests that must not make sound; generation still saves clips).
    bool openAudio = true;
};

class EngineBridge : public QObject {
    Q_OBJECT

public:
    explicit EngineBridge(QObject* parent = nullptr);
    explicit EngineBridge(const EngineBridgeOptions& options, QObject* parent = nullptr);
    ~EngineBridge() override; // cancels the running job, drops queued ones and joins the worker
    EngineBridge(const EngineBridge&) = delete;
    EngineBridge& operator=(const EngineBridge&) = delete;

    // --- State (GUI-thread copies) ---
    const std::vector<tmk::MetricInfo>& metrics() const { return m_metrics; }
    bool busy() const { return m_busyJobs > 0; } // a load / generate / posted (training) job is queued or running
    bool generating() const { return m_generating; }
    bool hasModel() const { return m_modelInfo.has_value(); }
    const tmk::ModelInfo* modelInfo() const { return m_modelInfo ? &*m_modelInfo : nullptr; }
    QString modelDir() const { return m_modelDir; }
    const tmk::BankSummary* bank() const { return m_bank ? &*m_bank : nullptr; }
    QString bankDir() const { return m_bankDir; }
    // What the open bank's own steering report measured of its sliders (read with the bank, on the worker):
    // nullptr without a bank or a report. measuredSteeringError() says why a report there could not be read.
    const tmk::MeasuredSteering* measuredSteering() const { return m_measured ? &*m_measured : nullptr; }
    QString measuredSteeringError() const { return m_measuredError; }
    // The slider values the model is steered with now (after the last merge; empty without a bank).
    const tmk::SliderValues& mergedSliders() const { return m_mergedSliders; }

    // --- Jobs ---
    // Loads a Hugging Face MusicGen folder (replacing the current model when it succeeds; the bank, if
    // any, is re-applied to the new model). Progress: loadProgress; then modelLoaded or jobFailed.
    void loadModel(const QString& dir, tmk::ModelOptions options);
    // Opens an adapter bank (merged into the model when one is loaded; kept for the next model otherwise).
    // Then bankLoaded or jobFailed (the previous bank stays).
    void loadBank(const QString& dir);
    void reloadBank(); // re-reads the current bank (after training registered an adapter)
    void closeBank(); // sliders back to 0, bank dropped; bankLoaded is emitted with bank() == nullptr
    void setSliders(const tmk::SliderValues& values); // coalesced merge; slidersMerged when done
    // Merges `sliders` (when a bank is loaded), generates request.prompts[0] streaming it to the audio
    // output, saves it in the library and emits generationFinished. request.decodeAudio is forced on.
    void generate(const tmk::GenerationRequest& request, const tmk::SliderValues& sliders);
    // Cancels the running job and every queued cancellable one (generation, and post()ed jobs that gave a token).
    void cancel();
    // Runs `job` on the worker after the jobs before it. It counts as busy while queued and running. When
    // `cancelToken` is given, cancel() requests it. The job reports back with its own queued invocations.
    void post(std::function<void()> job, tmk::CancelTokenPtr cancelToken = {});
    // Cancels, drops queued jobs and joins the worker; the bridge is inert afterwards (used on quit).
    void shutdown();

    // --- For jobs running on the worker thread only ---
    std::shared_ptr<const tmk::MusicgenModel> workerModel() const;
    std::filesystem::path workerBankDir() const;
    tmk::Steering* workerSteering() const; // see EngineWorker::steering()

    // --- Playback (GUI thread) ---
    bool hasAudioOutput() const { return m_player != nullptr; }
    QString audioDeviceName() const; // empty without an output
    QString audioOutputError() const { return m_audioError; } // why there is none; empty while it is being opened
    // The clip's audio (mono, at the clip's rate), e.g. for the waveform.
    tmk::Expected<std::vector<float>> clipAudio(const QString& clipId) const;
    // Reads the clip's audio, loads it into the player and plays it from the start. Returns the samples
    // (mono, at the clip's rate) for the waveform, also when there is no audio output.
    tmk::Expected<std::vector<float>> audition(const QString& clipId);
    QString playingClipId() const { return m_playingClipId; } // the clip the player holds (may be paused)
    void play();
    void pause();
    void togglePlayPause();
    void seek(double seconds);
    void setLoop(bool loop);
    bool loop() const { return m_loop; }
    tmk::PlaybackState playbackState() const;
    double playheadSeconds() const;

    // --- Clip library (GUI thread, synchronous) ---
    QString libraryDir() const { return m_libraryDir; }
    tmk::Expected<std::vector<tmk::ClipEntry>> listClips(); // newest first
    tmk::Expected<tmk::ClipEntry> findClip(const QString& id) const;
    tmk::Expected<tmk::ClipEntry> renameClip(const QString& id, const QString& title);
    tmk::Expected<void> removeClip(const QString& id); // into the library's trash
    tmk::Expected<tmk::ClipEntry> restoreClip(const QString& id); // undoes removeClip
    // Writes the clip in another format; an empty options.comment gets the clip's description.
    tmk::Expected<void> exportClip(const QString& id, const QString& path, tmk::AudioWriteOptions options) const;

Q_SIGNALS:
    void busyChanged(bool busy);
    void modelLoaded(); // modelInfo() is valid
    void bankLoaded(); // bank() is valid (nullptr after closeBank)
    void jobFailed(const QString& title, const QString& message); // message = the engine's exact error
    void modelLoadFailed(const QString& dir, const QString& message); // besides jobFailed
    void loadProgress(const QString& stage, double fraction);
    void slidersMerged(double milliseconds);
    void generationStarted();
    void generationProgress(qint64 done, qint64 total, double etaSeconds, double realtimeFactor);
    // The generation's audio as it streams (mono, in order, about a second at a time), for a live waveform.
    void generationAudio(const std::vector<float>& samples, int sampleRate);
    // Always once per generate(): cancelled; or clipId of the saved clip; or neither after jobFailed.
    void generationFinished(bool cancelled, const QString& clipId);
    void audioOutputChanged(); // hasAudioOutput() / audioOutputError() changed
    void playbackChanged(tmk::PlaybackState state, double seconds); // polled every 30 ms, emitted on change
    void libraryChanged(); // a clip was added, renamed, removed or restored

private:
    tmk::EngineWorkerEvents workerEvents();
    bool counted(bool queued); // a busy job was queued: busy() until its onJobDone
    void jobDone(tmk::EngineJobKind job);
    void toGui(std::function<void()> fn); // from the worker: runs fn in the GUI thread (dropped after shutdown)
    void onWorkerFailure(const tmk::EngineFailure& failure);
    void pollPlayback();
    tmk::Expected<tmk::ClipLibrary> openLibrary() const;

    std::unique_ptr<tmk::EngineWorker> m_engine;
    std::vector<tmk::MetricInfo> m_metrics;
    std::optional<tmk::ModelInfo> m_modelInfo;
    std::optional<tmk::BankSummary> m_bank;
    std::optional<tmk::MeasuredSteering> m_measured;
    QString m_measuredError;
    tmk::SliderValues m_mergedSliders;
    QString m_modelDir;
    QString m_bankDir;
    QString m_libraryDir;
    int m_busyJobs = 0;
    bool m_generating = false;
    int m_auditionSerial = 0; // counts audition() calls: a generation streams to the player only if none came since
    std::shared_ptr<tmk::Player> m_player;
    QString m_audioError;
    QString m_playingClipId;
    bool m_loop = false;
    QTimer m_playbackTimer;
    tmk::PlaybackState m_lastState = tmk::PlaybackState::Stopped;
    double m_lastSeconds = -1.0;
};

} // namespace tmk::ui

Q_DECLARE_METATYPE(tmk::PlaybackState)
