// EngineBridge: the engine worker's events re-posted to the GUI thread, and the model / bank / slider jobs
// (see engine_bridge.h). Generation is in engine_bridge_generate.cpp, playback and the clip library in
// engine_bridge_clips.cpp.
#include "engine_bridge.h"

#include <QStandardPaths>

#include "widgets/qt_text.h"

namespace tmk::ui {

namespace {

// Jobs that count as busy() while queued or running: the slider merge and the audio output do not.
bool countsAsBusy(EngineJobKind job)
{
    return job != EngineJobKind::MergeSliders && job != EngineJobKind::OpenAudio;
}

} // namespace

EngineBridge::EngineBridge(QObject* parent)
    : EngineBridge(EngineBridgeOptions {}, parent)
{
}

EngineBridge::EngineBridge(const EngineBridgeOptions& options, QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<tmk::PlaybackState>("tmk::PlaybackState");
    m_libraryDir = options.libraryDir.isEmpty()
        ? QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/clips"
        : options.libraryDir;
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (metrics) {
        m_metrics = std::move(*metrics);
    } else {
        const QString message = qs(metrics.error().message);
        QMetaObject::invokeMethod(
            this, [this, message]() { Q_EMIT jobFailed(tr("Could not read the slider metrics"), message); },
            Qt::QueuedConnection);
    }
    m_engine = std::make_unique<EngineWorker>(m_metrics, workerEvents());
    if (options.openAudio) {
        m_engine->openAudio();
    } else {
        m_audioError = tr("audio output is turned off");
    }
    m_playbackTimer.setInterval(30);
    connect(&m_playbackTimer, &QTimer::timeout, this, &EngineBridge::pollPlayback);
    m_playbackTimer.start();
}

EngineBridge::~EngineBridge()
{
    shutdown();
}

void EngineBridge::shutdown()
{
    m_engine->shutdown();
    m_playbackTimer.stop();
    if (m_player) m_player->stop();
}

// ---- The trampoline: worker events become signals in the GUI thread ----

void EngineBridge::toGui(std::function<void()> fn)
{
    QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection);
}

EngineWorkerEvents EngineBridge::workerEvents()
{
    EngineWorkerEvents events;
    events.onAudioOpened = [this](std::shared_ptr<Player> player) {
        toGui([this, player]() {
            m_player = player;
            m_player->setLoop(m_loop ? LoopMode::Loop : LoopMode::Once);
            m_audioError.clear();
            Q_EMIT audioOutputChanged();
        });
    };
    events.onAudioFailed = [this](const Error& error) {
        toGui([this, reason = qs(error.message)]() {
            m_audioError = reason.isEmpty() ? tr("no output device") : reason;
            Q_EMIT audioOutputChanged();
        });
    };
    events.onLoadProgress = [this](const Progress& p) {
        const QString stage = QString::fromUtf8(progressStageName(p.stage));
        toGui([this, stage, fraction = p.fraction()]() { Q_EMIT loadProgress(stage, fraction); });
    };
    events.onModelLoaded = [this](const std::filesystem::path& dir, const ModelInfo& info) {
        toGui([this, dir = qs(dir.string()), info]() {
            m_modelInfo = info;
            m_modelDir = dir;
            Q_EMIT modelLoaded();
        });
    };
    events.onBankChanged = [this](const EngineBankState& bank) {
        // The bank's steering report is read here, on the worker (it fingerprints every adapter); a report that
        // cannot be read leaves the sliders unmeasured and does not fail the bank.
        std::optional<MeasuredSteering> measured;
        QString measuredError;
        if (bank.summary) {
            Expected<std::optional<MeasuredSteering>> read = readMeasuredSteering(*bank.summary);
            if (read)
                measured = std::move(*read);
            else
                measuredError = qs(read.error().message);
        }
        toGui([this, bank, measured = std::move(measured), measuredError]() {
            m_bank = bank.summary;
            m_measured = measured;
            m_measuredError = measuredError;
            m_mergedSliders = bank.merged;
            m_bankDir = bank.summary ? qs(bank.dir.string()) : QString();
            Q_EMIT bankLoaded();
        });
    };
    events.onSlidersMerged = [this](const SteeringMergeInfo& info, const SliderValues& merged) {
        toGui([this, ms = info.milliseconds, merged]() {
            m_mergedSliders = merged;
            Q_EMIT slidersMerged(ms);
        });
    };
    events.onFailed = [this](const EngineFailure& failure) { toGui([this, failure]() { onWorkerFailure(failure); }); };
    events.onJobDone = [this](EngineJobKind job) { toGui([this, job]() { jobDone(job); }); };
    return events;
}

void EngineBridge::onWorkerFailure(const EngineFailure& failure)
{
    const QString message = qs(failure.error.message);
    switch (failure.job) {
    case EngineJobKind::LoadModel:
        Q_EMIT modelLoadFailed(qs(failure.path.string()), message);
        Q_EMIT jobFailed(tr("Could not open the model"), message);
        return;
    case EngineJobKind::LoadBank:
        Q_EMIT jobFailed(tr("Could not open the adapter bank"), message);
        return;
    case EngineJobKind::MergeSliders:
        Q_EMIT jobFailed(tr("Could not apply the sliders"), message);
        return;
    case EngineJobKind::Generate:
        Q_EMIT jobFailed(tr("Generation failed"), message);
        return;
    case EngineJobKind::OpenAudio:
    case EngineJobKind::CloseBank:
    case EngineJobKind::Posted:
        break;
    }
    Q_EMIT jobFailed(tr("Internal error"), message);
}

// ---- Busy accounting ----

bool EngineBridge::counted(bool queued)
{
    if (queued && ++m_busyJobs == 1) Q_EMIT busyChanged(true);
    return queued;
}

void EngineBridge::jobDone(EngineJobKind job)
{
    if (countsAsBusy(job) && m_busyJobs > 0 && --m_busyJobs == 0) Q_EMIT busyChanged(false);
}

void EngineBridge::cancel()
{
    m_engine->cancel();
}

void EngineBridge::post(std::function<void()> job, CancelTokenPtr cancelToken)
{
    counted(m_engine->post(std::move(job), std::move(cancelToken)));
}

std::shared_ptr<const MusicgenModel> EngineBridge::workerModel() const
{
    return m_engine->model();
}
std::filesystem::path EngineBridge::workerBankDir() const
{
    return m_engine->bankDir();
}
Steering* EngineBridge::workerSteering() const
{
    return m_engine->steering();
}

// ---- Model, bank, sliders ----

void EngineBridge::loadModel(const QString& dir, ModelOptions options)
{
    counted(m_engine->loadModel(dir.toStdString(), options));
}

void EngineBridge::loadBank(const QString& dir)
{
    counted(m_engine->loadBank(dir.toStdString()));
}

void EngineBridge::reloadBank()
{
    counted(m_engine->reloadBank());
}

void EngineBridge::closeBank()
{
    counted(m_engine->closeBank());
}

void EngineBridge::setSliders(const SliderValues& values)
{
    m_engine->setSliders(values);
}

} // namespace tmk::ui
