// The engine thread: its queue, slider coalescing, and the model / bank / generation jobs (see
// tastemaker/engine_worker.h). Torch-free: it composes the public engine APIs only.
#include "tastemaker/engine_worker.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "tastemaker/log.h"

namespace tmk {

namespace {

// Passes progress on at most every 40 ms (and always the last step).
ProgressCallback throttled(std::function<void(const Progress&)> report)
{
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    return [report = std::move(report), last](const Progress& progress) {
        const auto now = std::chrono::steady_clock::now();
        if (progress.done < progress.total && now - *last < std::chrono::milliseconds(40)) return;
        *last = now;
        report(progress);
    };
}

} // namespace

struct EngineWorker::Impl {
    struct Job {
        EngineJobKind kind = EngineJobKind::Posted;
        std::function<void()> run;
        CancelTokenPtr token;
    };

    std::vector<MetricInfo> metrics;
    EngineWorkerEvents events;

    // Shared between the calling thread and the worker, under `mutex`.
    std::thread thread;
    mutable std::mutex mutex;
    std::condition_variable wake;
    std::deque<Job> queue;
    bool stopping = false;
    std::vector<CancelTokenPtr> tokens; // of queued and running jobs
    SliderValues wantedSliders; // the newest values setSliders() / generate() asked for
    bool mergeQueued = false;

    // Worker thread only.
    std::shared_ptr<const MusicgenModel> model;
    std::unique_ptr<Steering> steering; // destroying it restores the model's weights (W0)
    std::filesystem::path bankDir;
    std::shared_ptr<Player> player;
    // Slider moves reach the model at run time (milliseconds, Steering::applyAtRuntime); once the queue has
    // been idle this long after the last move, the run-time terms are merged, so steps cost nothing extra.
    std::optional<std::chrono::steady_clock::time_point> consolidateAt;
    static constexpr std::chrono::milliseconds kConsolidateAfter { 400 };
    void consolidate();

    bool enqueue(EngineJobKind kind, std::function<void()> run, CancelTokenPtr token = {});
    void runLoop();
    void runJob(Job& job);
    void fail(EngineJobKind kind, const Error& error, const std::filesystem::path& path = {});
    SliderValues newestSliders() const;

    void openAudioJob(const PlayerOptions& options);
    void loadModelJob(const std::filesystem::path& dir, const ModelOptions& options);
    Expected<BankSummary> openBank(const std::filesystem::path& dir);
    void loadBankJob(const std::filesystem::path& dir, bool reload);
    void closeBankJob();
    void mergeJob();
    Expected<GenerationJobResult> generateJob(
        GenerationJobParams params, GenerationJobCallbacks callbacks, const CancelTokenPtr& cancel);
    EngineBankState bankState(std::optional<BankSummary> summary) const;
};

// ---- The queue ----

bool EngineWorker::Impl::enqueue(EngineJobKind kind, std::function<void()> run, CancelTokenPtr token)
{
    {
        std::lock_guard lock(mutex);
        if (stopping) return false;
        if (token) tokens.push_back(token);
        queue.push_back(Job { kind, std::move(run), std::move(token) });
    }
    wake.notify_one();
    return true;
}

void EngineWorker::Impl::runLoop()
{
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex);
            const auto ready = [this]() { return stopping || !queue.empty(); };
            if (consolidateAt) {
                if (!wake.wait_until(lock, *consolidateAt, ready)) {
                    lock.unlock();
                    consolidate(); // idle since the last slider move: merge what is carried at run time
                    continue;
                }
            } else {
                wake.wait(lock, ready);
            }
            if (stopping) break;
            job = std::move(queue.front());
            queue.pop_front();
        }
        runJob(job);
        {
            std::lock_guard lock(mutex);
            std::erase(tokens, job.token);
        }
        if (events.onJobDone) events.onJobDone(job.kind);
    }
    // Drop everything on this thread; closing the Steering puts the model's weights back to W0.
    steering.reset();
    model.reset();
    player.reset();
}

void EngineWorker::Impl::runJob(Job& job)
{
    try {
        job.run();
    } catch (const std::exception& e) {
        fail(job.kind, Error { ErrorCode::Internal, std::string("an engine job failed unexpectedly: ") + e.what() });
    }
}

void EngineWorker::Impl::fail(EngineJobKind kind, const Error& error, const std::filesystem::path& path)
{
    if (events.onFailed) events.onFailed(EngineFailure { kind, error, path });
}

SliderValues EngineWorker::Impl::newestSliders() const
{
    std::lock_guard lock(mutex);
    return wantedSliders;
}

EngineWorker::EngineWorker(std::vector<MetricInfo> metrics, EngineWorkerEvents events)
    : m_impl(std::make_unique<Impl>())
{
    m_impl->metrics = std::move(metrics);
    m_impl->events = std::move(events);
    m_impl->thread = std::thread([impl = m_impl.get()]() { impl->runLoop(); });
}

EngineWorker::~EngineWorker()
{
    shutdown();
}

void EngineWorker::shutdown()
{
    if (!m_impl->thread.joinable()) return;
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->stopping = true;
        for (const CancelTokenPtr& token : m_impl->tokens) token->requestCancel();
        m_impl->queue.clear();
    }
    m_impl->wake.notify_all();
    m_impl->thread.join();
}

void EngineWorker::cancel()
{
    std::lock_guard lock(m_impl->mutex);
    for (const CancelTokenPtr& token : m_impl->tokens) token->requestCancel();
}

bool EngineWorker::post(std::function<void()> job, CancelTokenPtr cancel)
{
    return m_impl->enqueue(EngineJobKind::Posted, std::move(job), std::move(cancel));
}

std::shared_ptr<const MusicgenModel> EngineWorker::model() const
{
    return m_impl->model;
}
std::filesystem::path EngineWorker::bankDir() const
{
    return m_impl->bankDir;
}
Steering* EngineWorker::steering() const
{
    return m_impl->steering.get();
}

// ---- Audio output ----

bool EngineWorker::openAudio(const PlayerOptions& options)
{
    return m_impl->enqueue(EngineJobKind::OpenAudio, [impl = m_impl.get(), options]() { impl->openAudioJob(options); });
}

void EngineWorker::Impl::openAudioJob(const PlayerOptions& options)
{
    Expected<Player> opened = Player::open(options);
    if (!opened) {
        if (events.onAudioFailed) events.onAudioFailed(opened.error());
        return;
    }
    player = std::make_shared<Player>(std::move(*opened));
    if (events.onAudioOpened) events.onAudioOpened(player);
}

// ---- Model ----

bool EngineWorker::loadModel(const std::filesystem::path& dir, const ModelOptions& options)
{
    return m_impl->enqueue(
        EngineJobKind::LoadModel, [impl = m_impl.get(), dir, options]() { impl->loadModelJob(dir, options); });
}

void EngineWorker::Impl::loadModelJob(const std::filesystem::path& dir, const ModelOptions& options)
{
    ProgressCallback progress;
    if (events.onLoadProgress) progress = throttled(events.onLoadProgress);
    auto loaded = MusicgenModel::load(dir, options, progress);
    if (!loaded) return fail(EngineJobKind::LoadModel, loaded.error(), dir);
    steering.reset(); // restores W0 of the model being replaced
    model = std::move(*loaded);
    if (events.onModelLoaded) events.onModelLoaded(dir, model->info());
    // The bank follows the model: re-read it against the new weights.
    if (!bankDir.empty()) loadBankJob(bankDir, true);
}

// ---- Bank ----

bool EngineWorker::loadBank(const std::filesystem::path& dir)
{
    return m_impl->enqueue(EngineJobKind::LoadBank, [impl = m_impl.get(), dir]() { impl->loadBankJob(dir, false); });
}

bool EngineWorker::reloadBank()
{
    return m_impl->enqueue(EngineJobKind::LoadBank, [impl = m_impl.get()]() {
        if (!impl->bankDir.empty()) impl->loadBankJob(impl->bankDir, true);
    });
}

bool EngineWorker::closeBank()
{
    return m_impl->enqueue(EngineJobKind::CloseBank, [impl = m_impl.get()]() { impl->closeBankJob(); });
}

EngineBankState EngineWorker::Impl::bankState(std::optional<BankSummary> summary) const
{
    EngineBankState state;
    state.summary = std::move(summary);
    if (state.summary) state.dir = bankDir;
    if (steering) state.merged = steering->current();
    return state;
}

Expected<BankSummary> EngineWorker::Impl::openBank(const std::filesystem::path& dir)
{
    if (!model) return readBankSummary(dir, metrics); // checked now, merged when a model loads
    auto loaded = Steering::load(model, dir, metrics);
    if (!loaded) return loaded.error();
    steering = std::move(*loaded);
    if (Expected<SteeringMergeInfo> merged = steering->apply(newestSliders()); !merged) {
        // Values the bank cannot take (e.g. a metric it lacks): start from 0 instead.
        logMessage(LogLevel::Warning, "sliders reset: " + merged.error().message);
        (void)steering->apply({});
    }
    return steering->summary();
}

void EngineWorker::Impl::loadBankJob(const std::filesystem::path& dir, bool reload)
{
    const std::filesystem::path previous = bankDir;
    steering.reset(); // restores W0
    Expected<BankSummary> summary = openBank(dir);
    if (summary) {
        bankDir = dir;
        if (events.onBankChanged) events.onBankChanged(bankState(std::move(*summary)));
        return;
    }
    // Keep the previous bank when a different one failed to open.
    std::optional<BankSummary> kept;
    if (!reload && !previous.empty())
        if (Expected<BankSummary> again = openBank(previous)) kept = std::move(*again);
    bankDir = kept ? previous : std::filesystem::path();
    if (events.onBankChanged) events.onBankChanged(bankState(std::move(kept)));
    fail(EngineJobKind::LoadBank, summary.error(), dir);
}

void EngineWorker::Impl::closeBankJob()
{
    steering.reset(); // restores W0
    bankDir.clear();
    if (events.onBankChanged) events.onBankChanged(EngineBankState {});
}

// ---- Sliders ----

bool EngineWorker::setSliders(const SliderValues& values)
{
    bool queue = false;
    {
        std::lock_guard lock(m_impl->mutex);
        if (m_impl->stopping) return false;
        m_impl->wantedSliders = values;
        queue = !m_impl->mergeQueued;
        m_impl->mergeQueued = true;
    }
    return !queue || m_impl->enqueue(EngineJobKind::MergeSliders, [impl = m_impl.get()]() { impl->mergeJob(); });
}

void EngineWorker::Impl::mergeJob()
{
    SliderValues values;
    {
        std::lock_guard lock(mutex);
        values = wantedSliders;
        mergeQueued = false;
    }
    if (!steering) return;
    Expected<std::optional<SteeringMergeInfo>> merged = steering->applyAtRuntimeIfChanged(values);
    if (!merged) return fail(EngineJobKind::MergeSliders, merged.error());
    if (steering->runtimeAdapters() > 0) consolidateAt = std::chrono::steady_clock::now() + kConsolidateAfter;
    if (merged->has_value() && events.onSlidersMerged) events.onSlidersMerged(**merged, steering->current());
}

void EngineWorker::Impl::consolidate()
{
    consolidateAt.reset();
    if (!steering) return;
    // The values do not change (only how they are applied), so no onSlidersMerged.
    Expected<std::optional<SteeringMergeInfo>> merged = steering->consolidate();
    if (!merged) return fail(EngineJobKind::MergeSliders, merged.error());
}

// ---- Generation ----

bool EngineWorker::generate(GenerationJobParams params, GenerationJobCallbacks callbacks,
    GenerationFinishedCallback onFinished, CancelTokenPtr cancel)
{
    {
        std::lock_guard lock(m_impl->mutex);
        if (m_impl->stopping) return false;
        m_impl->wantedSliders = params.sliders;
    }
    auto job = [impl = m_impl.get(), params = std::move(params), callbacks = std::move(callbacks),
                   onFinished = std::move(onFinished), cancel]() mutable {
        Expected<GenerationJobResult> result = Error { ErrorCode::Internal, "the generation did not run" };
        try {
            result = impl->generateJob(std::move(params), std::move(callbacks), cancel);
        } catch (const std::exception& e) {
            result = Error { ErrorCode::Internal, std::string("the generation failed unexpectedly: ") + e.what() };
        }
        if (onFinished) onFinished(std::move(result));
    };
    return m_impl->enqueue(EngineJobKind::Generate, std::move(job), std::move(cancel));
}

Expected<GenerationJobResult> EngineWorker::Impl::generateJob(
    GenerationJobParams params, GenerationJobCallbacks callbacks, const CancelTokenPtr& cancel)
{
    params.sliders = newestSliders();
    if (!params.sink) params.sink = player;
    if (cancel) callbacks.cancel = cancel.get();
    auto merged = std::move(callbacks.onMerged);
    callbacks.onMerged = [this, merged](const SteeringMergeInfo& info, const SliderValues& values) {
        if (merged) merged(info, values);
        if (events.onSlidersMerged) events.onSlidersMerged(info, values);
    };
    Expected<GenerationJobResult> result = runGenerationJob(model, steering.get(), params, callbacks);
    if (steering && steering->runtimeAdapters() > 0)
        consolidateAt = std::chrono::steady_clock::now() + kConsolidateAfter; // a short job kept them at run time
    return result;
}

} // namespace tmk
