// EngineBridge: the worker thread, its queue, and the model / bank / slider jobs (see engine_bridge.h).
// Generation is in engine_bridge_generate.cpp, playback and the clip library in engine_bridge_clips.cpp.
#include "engine_bridge.h"

#include <QStandardPaths>

#include "engine_bridge_worker.h"
#include "tastemaker/log.h"

namespace tmk::ui {

namespace {

QString qs(const std::string& text) { return QString::fromStdString(text); }

// Slider values without the zeros: {energy: 0} and {} merge the same.
SliderValues nonZero(const SliderValues& values)
{
    SliderValues result;
    for (const auto& [id, value] : values)
        if (value != 0.0) result.emplace(id, value);
    return result;
}

}  // namespace

EngineBridge::EngineBridge(QObject* parent) : EngineBridge(EngineBridgeOptions{}, parent) {}

EngineBridge::EngineBridge(const EngineBridgeOptions& options, QObject* parent)
    : QObject(parent), m_worker(std::make_unique<Worker>())
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
            this, [this, message]() { Q_EMIT jobFailed(tr("Could not read the slider metrics"), message); }, Qt::QueuedConnection);
    }
    m_worker->thread = std::thread([this]() { runWorker(); });
    if (options.openAudio) {
        enqueue([this]() { openAudioJob(); }, false, {});
    } else {
        m_audioError = tr("audio output is turned off");
    }
    m_playbackTimer.setInterval(30);
    connect(&m_playbackTimer, &QTimer::timeout, this, &EngineBridge::pollPlayback);
    m_playbackTimer.start();
}

EngineBridge::~EngineBridge() { shutdown(); }

void EngineBridge::shutdown()
{
    if (!m_worker->thread.joinable()) return;
    {
        std::lock_guard lock(m_worker->mutex);
        m_worker->stopping = true;
        for (const CancelTokenPtr& token : m_worker->tokens) token->requestCancel();
        m_worker->queue.clear();
    }
    m_worker->wake.notify_all();
    m_worker->thread.join();
    m_playbackTimer.stop();
    if (m_player) m_player->stop();
}

// ---- The queue ----

void EngineBridge::enqueue(std::function<void()> job, bool countsAsBusy, CancelTokenPtr token)
{
    {
        std::lock_guard lock(m_worker->mutex);
        if (m_worker->stopping) return;
        if (token) m_worker->tokens.push_back(token);
        m_worker->queue.push_back(Worker::Job{std::move(job), countsAsBusy, std::move(token)});
    }
    m_worker->wake.notify_one();
    if (countsAsBusy && ++m_busyJobs == 1) Q_EMIT busyChanged(true);
}

void EngineBridge::jobDone(bool countsAsBusy)
{
    if (countsAsBusy && m_busyJobs > 0 && --m_busyJobs == 0) Q_EMIT busyChanged(false);
}

void EngineBridge::toGui(std::function<void()> fn)
{
    QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection);
}

void EngineBridge::runWorker()
{
    for (;;) {
        Worker::Job job;
        {
            std::unique_lock lock(m_worker->mutex);
            m_worker->wake.wait(lock, [this]() { return m_worker->stopping || !m_worker->queue.empty(); });
            if (m_worker->stopping) break;
            job = std::move(m_worker->queue.front());
            m_worker->queue.pop_front();
        }
        try {
            job.run();
        } catch (const std::exception& e) {
            const QString message = qs(std::string("an engine job failed unexpectedly: ") + e.what());
            toGui([this, message]() { Q_EMIT jobFailed(tr("Internal error"), message); });
        }
        {
            std::lock_guard lock(m_worker->mutex);
            std::erase(m_worker->tokens, job.token);
        }
        const bool busy = job.countsAsBusy;
        toGui([this, busy]() { jobDone(busy); });
    }
    // Drop everything on this thread; closing the Steering puts the model's weights back to W0.
    m_worker->steering.reset();
    m_worker->model.reset();
}

void EngineBridge::cancel()
{
    std::lock_guard lock(m_worker->mutex);
    for (const CancelTokenPtr& token : m_worker->tokens) token->requestCancel();
}

void EngineBridge::post(std::function<void()> job, CancelTokenPtr cancelToken)
{
    enqueue(std::move(job), true, std::move(cancelToken));
}

std::shared_ptr<const MusicgenModel> EngineBridge::workerModel() const { return m_worker->model; }
std::filesystem::path EngineBridge::workerBankDir() const { return m_worker->bankDir; }

// ---- Audio output ----

void EngineBridge::openAudioJob()
{
    Expected<Player> opened = Player::open();
    if (!opened) {
        const QString reason = qs(opened.error().message);
        toGui([this, reason]() {
            m_audioError = reason.isEmpty() ? tr("no output device") : reason;
            Q_EMIT audioOutputChanged();
        });
        return;
    }
    auto player = std::make_shared<Player>(std::move(*opened));
    m_worker->player = player;
    toGui([this, player]() {
        m_player = player;
        m_player->setLoop(m_loop ? LoopMode::Loop : LoopMode::Once);
        m_audioError.clear();
        Q_EMIT audioOutputChanged();
    });
}

// ---- Model ----

void EngineBridge::loadModel(const QString& dir, ModelOptions options)
{
    enqueue([this, dir, options]() { loadModelJob(dir, options); }, true, {});
}

ProgressCallback EngineBridge::Worker::throttledProgress(std::function<void(const Progress&)> report)
{
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    return [report = std::move(report), last](const Progress& progress) {
        const auto now = std::chrono::steady_clock::now();
        if (progress.done < progress.total && now - *last < std::chrono::milliseconds(40)) return;
        *last = now;
        report(progress);
    };
}

void EngineBridge::loadModelJob(const QString& dir, ModelOptions options)
{
    ProgressCallback progress = Worker::throttledProgress([this](const Progress& p) {
        const QString stage = QString::fromUtf8(progressStageName(p.stage));
        const double fraction = p.fraction();
        toGui([this, stage, fraction]() { Q_EMIT loadProgress(stage, fraction); });
    });
    auto model = MusicgenModel::load(dir.toStdString(), options, progress);
    if (!model) {
        const QString message = qs(model.error().message);
        toGui([this, dir, message]() {
            Q_EMIT modelLoadFailed(dir, message);
            Q_EMIT jobFailed(tr("Could not open the model"), message);
        });
        return;
    }
    m_worker->steering.reset();  // restores W0
    m_worker->model = std::move(*model);
    ModelInfo info = m_worker->model->info();
    toGui([this, dir, info]() {
        m_modelInfo = info;
        m_modelDir = dir;
        Q_EMIT modelLoaded();
    });
    if (!m_worker->bankDir.empty()) {
        // The bank follows the model: re-read it against the new weights.
        loadBankJob(qs(m_worker->bankDir.string()), true);
    }
}

// ---- Bank ----

void EngineBridge::loadBank(const QString& dir) { enqueue([this, dir]() { loadBankJob(dir, false); }, true, {}); }

void EngineBridge::reloadBank()
{
    enqueue([this]() {
        if (!m_worker->bankDir.empty()) loadBankJob(qs(m_worker->bankDir.string()), true);
    }, true, {});
}

void EngineBridge::closeBank()
{
    enqueue([this]() {
        m_worker->steering.reset();  // restores W0
        m_worker->bankDir.clear();
        toGui([this]() {
            m_bank.reset();
            m_mergedSliders.clear();
            m_bankDir.clear();
            Q_EMIT bankLoaded();
        });
    }, true, {});
}

Expected<BankSummary> EngineBridge::Worker::openBank(const std::filesystem::path& dir, const std::vector<MetricInfo>& metrics)
{
    if (!model) return readBankSummary(dir, metrics);  // checked now, merged when a model loads
    auto loaded = Steering::load(model, dir, metrics);
    if (!loaded) return loaded.error();
    steering = std::move(*loaded);
    SliderValues values;
    {
        std::lock_guard lock(mutex);
        values = wantedSliders;
    }
    if (Expected<SteeringMergeInfo> merged = steering->apply(values); !merged) {
        // Values the bank cannot take (e.g. a metric it lacks): start from 0 instead.
        logMessage(LogLevel::Warning, "sliders reset: " + merged.error().message);
        (void)steering->apply({});
    }
    return steering->summary();
}

void EngineBridge::loadBankJob(const QString& dir, bool reload)
{
    const std::filesystem::path previous = m_worker->bankDir;
    m_worker->steering.reset();  // restores W0
    Expected<BankSummary> summary = m_worker->openBank(dir.toStdString(), m_metrics);
    if (!summary) {
        const QString message = qs(summary.error().message);
        // Keep the previous bank when a different one failed to open.
        std::optional<BankSummary> kept;
        if (!reload && !previous.empty())
            if (Expected<BankSummary> again = m_worker->openBank(previous, m_metrics)) kept = std::move(*again);
        m_worker->bankDir = kept ? previous : std::filesystem::path();
        SliderValues merged = m_worker->steering ? m_worker->steering->current() : SliderValues{};
        toGui([this, message, kept, previous, merged]() {
            m_bank = kept;
            m_mergedSliders = merged;
            m_bankDir = kept ? qs(previous.string()) : QString();
            Q_EMIT bankLoaded();
            Q_EMIT jobFailed(tr("Could not open the adapter bank"), message);
        });
        return;
    }
    m_worker->bankDir = dir.toStdString();
    BankSummary bank = std::move(*summary);
    SliderValues merged = m_worker->steering ? m_worker->steering->current() : SliderValues{};
    toGui([this, dir, bank, merged]() {
        m_bank = bank;
        m_mergedSliders = merged;
        m_bankDir = dir;
        Q_EMIT bankLoaded();
    });
}

// ---- Sliders ----

void EngineBridge::setSliders(const SliderValues& values)
{
    bool queue = false;
    {
        std::lock_guard lock(m_worker->mutex);
        m_worker->wantedSliders = values;
        queue = !m_worker->mergeQueued;
        m_worker->mergeQueued = true;
    }
    if (queue) enqueue([this]() { mergeJob(); }, false, {});
}

Expected<std::optional<SteeringMergeInfo>> EngineBridge::Worker::mergeWanted()
{
    SliderValues values;
    {
        std::lock_guard lock(mutex);
        values = wantedSliders;
        mergeQueued = false;
    }
    if (!steering || nonZero(values) == nonZero(steering->current())) return std::optional<SteeringMergeInfo>();
    Expected<SteeringMergeInfo> merged = steering->apply(values);
    if (!merged) return merged.error();
    return std::optional<SteeringMergeInfo>(*merged);
}

void EngineBridge::mergeJob()
{
    auto merged = m_worker->mergeWanted();
    if (!merged) {
        const QString message = qs(merged.error().message);
        toGui([this, message]() { Q_EMIT jobFailed(tr("Could not apply the sliders"), message); });
    } else if (merged->has_value()) {
        const double ms = (*merged)->milliseconds;
        toGui([this, ms, values = m_worker->steering->current()]() {
            m_mergedSliders = values;
            Q_EMIT slidersMerged(ms);
        });
    }
}

}  // namespace tmk::ui
