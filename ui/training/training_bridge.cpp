// TrainingBridge: pair preview, preparation (pairs + tokens) and DPO runs as jobs on EngineBridge's
// worker (see training_bridge.h).
#include "training/training_bridge.h"

#include <chrono>

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QMetaObject>
#include <QStandardPaths>

#include "engine_bridge.h"
#include "tastemaker/token_cache.h"
#include "widgets/qt_text.h"

namespace tmk::ui {

namespace fs = std::filesystem;

namespace {

// Passes progress on at most every 50 ms (and always the last step of a stage).
ProgressCallback throttled(std::function<void(const Progress&)> report)
{
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    return [report = std::move(report), last](const Progress& progress) {
        const auto now = std::chrono::steady_clock::now();
        if (progress.done < progress.total && now - *last < std::chrono::milliseconds(50)) return;
        *last = now;
        report(progress);
    };
}

QString canonicalDir(const QString& dir)
{
    const QString canonical = QFileInfo(dir).canonicalFilePath();
    return canonical.isEmpty() ? QDir::cleanPath(QFileInfo(dir).absoluteFilePath()) : canonical;
}

} // namespace

QString TrainingTarget::name() const
{
    return qs(adapterName(metric, side));
}

TrainingBridge::TrainingBridge(EngineBridge& engine, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_channel(std::make_shared<GuiChannel>(this))
{
    qRegisterMetaType<tmk::PairReport>("tmk::PairReport");
    qRegisterMetaType<tmk::TrainLogEntry>("tmk::TrainLogEntry");
    qRegisterMetaType<tmk::ui::RunOutcome>("tmk::ui::RunOutcome");
    qRegisterMetaType<tmk::LibraryAnalysis>("tmk::LibraryAnalysis");
    m_analysisPool.setMaxThreadCount(1);
}

TrainingBridge::~TrainingBridge()
{
    m_channel->close();
    if (m_previewToken) m_previewToken->requestCancel();
    if (m_analysisToken) m_analysisToken->requestCancel();
    if (m_runToken) m_runToken->requestCancel();
}

const std::vector<MetricInfo>& TrainingBridge::metrics() const
{
    return m_engine.metrics();
}

QString TrainingBridge::defaultRunsRoot()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/runs";
}

std::optional<BankSummary> TrainingBridge::readBank(const fs::path& bankDir, const std::vector<MetricInfo>& metrics)
{
    std::error_code ec;
    if (bankDir.empty() || !fs::exists(bankDir / "bank.json", ec)) return std::nullopt;
    Expected<BankSummary> bank = readBankSummary(bankDir, metrics);
    if (!bank) return std::nullopt;
    return std::move(*bank);
}

fs::path TrainingBridge::runDir(int index) const
{
    return index >= 0 && index < static_cast<int>(m_runDirs.size()) ? m_runDirs[index] : fs::path();
}

// ---- Preview ----

void TrainingBridge::preview(const PairBuilderOptions& options)
{
    cancelPreview();
    auto token = std::make_shared<CancelToken>();
    m_previewToken = token;
    const int generation = m_previewGeneration;
    std::shared_ptr<GuiChannel> channel = m_channel;
    std::vector<MetricInfo> metrics = m_engine.metrics();
    m_engine.post(
        [this, channel, token, options, metrics, generation]() {
            ProgressCallback progress = throttled([this, channel, generation](const Progress& p) {
                const ProgressStage stage = p.stage;
                const qint64 done = p.done, total = p.total;
                channel->post([this, generation, stage, done, total]() {
                    if (generation == m_previewGeneration) Q_EMIT previewProgress(stage, done, total);
                });
            });
            Expected<PairSet> set = buildPairs(options, metrics, progress, token.get());
            if (!set) {
                const QString message = qs(set.error().message);
                channel->post([this, generation, message]() {
                    if (generation != m_previewGeneration) return;
                    m_previewToken.reset();
                    Q_EMIT previewFailed(message);
                });
                return;
            }
            PairReport report = std::move(set->report);
            channel->post([this, generation, report]() {
                if (generation != m_previewGeneration) return;
                m_previewToken.reset();
                Q_EMIT previewFinished(report);
            });
        },
        token);
}

void TrainingBridge::cancelPreview()
{
    if (m_previewToken) m_previewToken->requestCancel();
    m_previewToken.reset();
    ++m_previewGeneration; // whatever the running preview reports is dropped
}

// ---- Analyse my library ----

void TrainingBridge::analyseLibrary(const QString& audioDir)
{
    cancelAnalysis();
    auto token = std::make_shared<CancelToken>();
    m_analysisToken = token;
    const int generation = m_analysisGeneration;
    std::shared_ptr<GuiChannel> channel = m_channel;
    const fs::path dir = audioDir.toStdString();
    m_analysisPool.start([this, channel, token, dir, generation]() {
        ProgressCallback progress = throttled([this, channel, generation](const Progress& p) {
            const qint64 done = p.done, total = p.total;
            channel->post([this, generation, done, total]() {
                if (generation == m_analysisGeneration) Q_EMIT analysisProgress(done, total);
            });
        });
        Expected<LibraryAnalysis> analysis = tmk::analyseLibrary({ dir }, AnalysisOptions {}, progress, token.get());
        if (token->isCancelled()) return; // cancelAnalysis() already told the page
        if (!analysis) {
            const QString message = qs(analysis.error().message);
            channel->post([this, generation, message]() {
                if (generation != m_analysisGeneration) return;
                m_analysisToken.reset();
                Q_EMIT analysisFailed(message);
            });
            return;
        }
        channel->post([this, generation, result = std::move(*analysis)]() {
            if (generation != m_analysisGeneration) return;
            m_analysisToken.reset();
            Q_EMIT analysisFinished(result);
        });
    });
}

void TrainingBridge::cancelAnalysis()
{
    if (m_analysisToken) m_analysisToken->requestCancel();
    m_analysisToken.reset();
    ++m_analysisGeneration; // whatever the running analysis reports is dropped
}

bool TrainingBridge::analysisBusy() const
{
    return m_analysisPool.activeThreadCount() > 0;
}

// ---- A plan: prepare, then one job per adapter ----

QString TrainingBridge::freeStamp(const TrainingPlan& plan)
{
    const QDateTime now = QDateTime::currentDateTime();
    const QString base = now.toString("yyyyMMdd-HHmmss");
    auto taken = [&](const QString& stamp) {
        std::error_code ec;
        if (fs::exists(plan.runsRoot / (stamp + "-pairs").toStdString(), ec)) return true;
        for (const TrainingTarget& target : plan.targets)
            if (fs::exists(plan.runsRoot / (stamp + "-" + target.name()).toStdString(), ec)) return true;
        return false;
    };
    QString stamp = base;
    for (int n = 2; taken(stamp); ++n) stamp = base + QString("-%1").arg(n);
    return stamp;
}

bool TrainingBridge::start(const TrainingPlan& plan)
{
    if (m_running) return false;
    m_plan = plan;
    m_targets = plan.targets;
    m_runDirs.clear();
    m_options.clear();
    m_lastStep = -1;

    // One stamp for the plan's folders; two plans started within one second get "-2", ...
    const QString stamp = freeStamp(plan);
    m_pairsDir = plan.runsRoot / (stamp + "-pairs").toStdString();
    for (const TrainingTarget& target : plan.targets) {
        TrainOptions options = plan.train;
        options.modelDir = plan.modelDir;
        options.pairsDir = m_pairsDir;
        options.outDir = plan.runsRoot / (stamp + "-" + target.name()).toStdString();
        options.bankDir = plan.bankDir;
        options.metric = target.metric;
        options.direction = target.side;
        options.resume = false;
        m_runDirs.push_back(options.outDir);
        m_options.push_back(std::move(options));
    }

    m_runToken = std::make_shared<CancelToken>();
    m_running = true;
    Q_EMIT runningChanged(true);
    Q_EMIT runMessage(tr("Building pairs into %1").arg(qs(m_pairsDir.string())));
    postPrepare(plan);
    return true;
}

void TrainingBridge::postPrepare(const TrainingPlan& plan)
{
    std::shared_ptr<GuiChannel> channel = m_channel;
    CancelTokenPtr token = m_runToken;
    std::vector<MetricInfo> metrics = m_engine.metrics();
    TokenizeOptions tokenize;
    tokenize.modelDir = plan.modelDir;
    tokenize.pairsDir = m_pairsDir;
    tokenize.windowSeconds = plan.windowSeconds;
    tokenize.startFraction = plan.startFraction;
    tokenize.model = plan.train.model;
    const PairBuilderOptions data = plan.data;

    m_engine.post(
        [this, channel, token, metrics, data, tokenize]() {
            ProgressCallback progress = throttled([this, channel](const Progress& p) {
                const ProgressStage stage = p.stage;
                const qint64 done = p.done, total = p.total;
                channel->post([this, stage, done, total]() { Q_EMIT prepareProgress(stage, done, total); });
            });
            auto fail = [this, channel](const Error& error) {
                const bool cancelled = error.code == ErrorCode::Cancelled;
                const QString message = qs(error.message);
                channel->post([this, cancelled, message]() { onPrepared(false, cancelled, message); });
            };
            if (token->isCancelled()) return fail(Error { ErrorCode::Cancelled, "cancelled" });
            Expected<PairSet> set = buildPairs(data, metrics, progress, token.get());
            if (!set) return fail(set.error());
            const QString built = tr("%1 songs (%2 with audio), %3 pairs")
                                      .arg(set->report.songs)
                                      .arg(set->report.songsWithAudio)
                                      .arg(set->report.totalPairs());
            channel->post([this, built]() { Q_EMIT runMessage(built); });
            if (Expected<void> written = writePairSet(*set, tokenize.pairsDir); !written) return fail(written.error());

            Expected<TokenizeReport> report = tokenizeSongs(tokenize, progress, token.get());
            if (!report) return fail(report.error());
            if (report->cancelled) return fail(Error { ErrorCode::Cancelled, "cancelled while tokenizing" });
            QStringList lines;
            lines << tr("Tokenized %1 songs: %2 encoded, %3 reused, %4 failed, %5 without audio")
                         .arg(report->songs)
                         .arg(report->encoded)
                         .arg(report->reused)
                         .arg(report->failed)
                         .arg(report->withoutAudio);
            for (size_t i = 0; i < report->failures.size() && i < 10; ++i)
                lines << tr("  %1: %2").arg(qs(report->failures[i].first), qs(report->failures[i].second));
            channel->post([this, lines]() {
                for (const QString& line : lines) Q_EMIT runMessage(line);
                onPrepared(true, false, {});
            });
        },
        token);
}

void TrainingBridge::onPrepared(bool ok, bool cancelled, const QString& message)
{
    if (cancelled) return finishRun(RunOutcome::Cancelled, -1, tr("Cancelled before training started."));
    if (!ok) return finishRun(RunOutcome::Failed, -1, message);
    startAdapter(0);
}

bool TrainingBridge::resume(const RunInfo& run, const fs::path& bankDir)
{
    if (m_running) return false;
    TrainOptions options = run.options;
    options.outDir = run.dir;
    options.resume = true;
    if (!bankDir.empty()) options.bankDir = bankDir;
    m_plan = TrainingPlan {};
    m_plan.bankDir = options.bankDir;
    m_plan.modelDir = options.modelDir;
    m_pairsDir = options.pairsDir;
    m_targets = { TrainingTarget { options.metric, options.direction } };
    m_runDirs = { run.dir };
    m_options = { options };
    m_lastStep = run.step;
    m_runToken = std::make_shared<CancelToken>();
    m_running = true;
    Q_EMIT runningChanged(true);
    Q_EMIT runMessage(
        tr("Resuming %1 from step %2 of %3").arg(qs(run.dir.filename().string())).arg(run.step).arg(run.totalSteps));
    startAdapter(0);
    return true;
}

void TrainingBridge::cancel()
{
    if (m_runToken) m_runToken->requestCancel();
}

TrainCallbacks TrainingBridge::trainCallbacks(int index, const CancelToken* token)
{
    std::shared_ptr<GuiChannel> channel = m_channel;
    TrainingBridge* self = this;
    TrainCallbacks callbacks;
    callbacks.cancel = token;
    callbacks.onProgress = throttled([self, channel, index](const Progress& p) {
        const ProgressStage stage = p.stage;
        const qint64 done = p.done, total = p.total;
        channel->post([self, index, stage, done, total]() { Q_EMIT self->trainProgress(index, stage, done, total); });
    });
    callbacks.onLog = [self, channel, index](const TrainLogEntry& entry) {
        channel->post([self, index, entry]() {
            self->m_lastStep = entry.step;
            Q_EMIT self->logEntry(index, entry);
        });
    };
    return callbacks;
}

void TrainingBridge::startAdapter(int index)
{
    const TrainingTarget& target = m_targets[index];
    Q_EMIT adapterStarted(index, target.name(), qs(m_runDirs[index].string()));
    Q_EMIT runMessage(tr("Training %1 (%2 of %3) in %4")
                          .arg(target.name())
                          .arg(index + 1)
                          .arg(m_targets.size())
                          .arg(qs(m_runDirs[index].string())));
    std::shared_ptr<GuiChannel> channel = m_channel;
    CancelTokenPtr token = m_runToken;
    std::vector<MetricInfo> metrics = m_engine.metrics();
    TrainOptions options = m_options[index];
    TrainCallbacks callbacks = trainCallbacks(index, token.get());
    m_engine.post(
        [this, channel, token, metrics, options, callbacks, index]() {
            Expected<TrainResult> result = trainDpo(options, metrics, callbacks);
            channel->post([this, index, result]() { onAdapterDone(index, result); });
        },
        token);
}

void TrainingBridge::onAdapterDone(int index, const Expected<TrainResult>& result)
{
    if (!result) {
        const bool cancelled = result.error().code == ErrorCode::Cancelled;
        if (cancelled) return finishRun(RunOutcome::Cancelled, m_lastStep, tr("Cancelled at step %1.").arg(m_lastStep));
        return finishRun(RunOutcome::Failed, m_lastStep,
            tr("Training %1 failed: %2").arg(m_targets[index].name(), qs(result.error().message)));
    }
    m_lastStep = result->step;
    Q_EMIT adapterFinished(index, result->cancelled, result->step, result->totalSteps);
    if (result->cancelled)
        return finishRun(RunOutcome::Cancelled, result->step, tr("Cancelled at step %1.").arg(result->step));
    Q_EMIT runMessage(tr("%1 finished after %2 steps").arg(m_targets[index].name()).arg(result->step));
    if (!m_options[index].bankDir.empty()) refreshBank(m_options[index].bankDir);
    if (index + 1 < static_cast<int>(m_targets.size())) {
        if (m_runToken->isCancelled())
            return finishRun(RunOutcome::Cancelled, result->step,
                tr("Cancelled after %1 finished; the remaining adapters were not started.")
                    .arg(m_targets[index].name()));
        return startAdapter(index + 1);
    }
    finishRun(RunOutcome::Finished, result->step,
        m_targets.size() == 1 ? tr("The adapter is trained.")
                              : tr("All %1 adapters are trained.").arg(m_targets.size()));
}

void TrainingBridge::refreshBank(const fs::path& bankDir)
{
    const QString wanted = qs(bankDir.string());
    const QString open = m_engine.bankDir();
    if (!open.isEmpty() && canonicalDir(open) == canonicalDir(wanted)) {
        m_engine.reloadBank();
    } else if (open.isEmpty()) {
        m_engine.loadBank(wanted);
    } else {
        Q_EMIT runMessage(
            tr("The adapter is registered in %1; open that bank to use it (the open bank is %2).").arg(wanted, open));
    }
}

void TrainingBridge::finishRun(RunOutcome outcome, qint64 step, const QString& message)
{
    m_running = false;
    Q_EMIT runMessage(message);
    Q_EMIT runFinished(outcome, step, message);
    Q_EMIT runningChanged(false);
}

} // namespace tmk::ui
