// RunMonitor (see run_monitor.h).
#include "training/run_monitor.h"

#include <cmath>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTabWidget>
#include <QTime>
#include <QVBoxLayout>

#include "training/training_charts.h"

namespace tmk::ui {

namespace {

constexpr int kBarScale = 1000;

int barValue(double fraction)
{
    return static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * kBarScale));
}

QProgressBar* makeBar(QWidget* parent, const QString& name)
{
    auto* bar = new QProgressBar(parent);
    bar->setObjectName(name);
    bar->setRange(0, kBarScale);
    bar->setValue(0);
    bar->setTextVisible(false);
    return bar;
}

} // namespace

// ---- EtaEstimator ----

void EtaEstimator::reset()
{
    m_started = false;
    m_startFraction = m_fraction = 0.0;
}

void EtaEstimator::update(double fraction)
{
    if (!m_started) {
        m_started = true;
        m_clock.start();
        m_startFraction = fraction;
    }
    m_fraction = fraction;
}

std::optional<double> EtaEstimator::secondsLeft() const
{
    if (!m_started) return std::nullopt;
    const double progressed = m_fraction - m_startFraction;
    const double elapsed = static_cast<double>(m_clock.elapsed()) / 1000.0;
    if (progressed <= 1e-4 || elapsed <= 0.0) return std::nullopt;
    return std::max(0.0, elapsed * (1.0 - m_fraction) / progressed);
}

QString EtaEstimator::format(std::optional<double> seconds)
{
    if (!seconds) return QObject::tr("ETA –");
    const qint64 total = static_cast<qint64>(std::ceil(*seconds));
    const qint64 hours = total / 3600, minutes = (total / 60) % 60, secs = total % 60;
    if (hours > 0)
        return QObject::tr("ETA %1:%2:%3").arg(hours).arg(minutes, 2, 10, QChar('0')).arg(secs, 2, 10, QChar('0'));
    return QObject::tr("ETA %1:%2").arg(minutes).arg(secs, 2, 10, QChar('0'));
}

// ---- RunMonitor ----

RunMonitor::RunMonitor(TrainingBridge& bridge, QWidget* parent)
    : QWidget(parent)
    , m_bridge(bridge)
{
    buildUi();
    connect(&bridge, &TrainingBridge::runMessage, this, &RunMonitor::onRunMessage);
    connect(&bridge, &TrainingBridge::prepareProgress, this, &RunMonitor::onPrepareProgress);
    connect(&bridge, &TrainingBridge::adapterStarted, this, &RunMonitor::onAdapterStarted);
    connect(&bridge, &TrainingBridge::trainProgress, this, &RunMonitor::onTrainProgress);
    connect(&bridge, &TrainingBridge::logEntry, this, &RunMonitor::onLogEntry);
    connect(&bridge, &TrainingBridge::adapterFinished, this, &RunMonitor::onAdapterFinished);
    connect(&bridge, &TrainingBridge::runFinished, this, &RunMonitor::onRunFinished);
}

RunMonitor::~RunMonitor() = default;

void RunMonitor::buildUi()
{
    auto* layout = new QVBoxLayout(this);
    m_status = new QLabel(tr("Waiting to start…"), this);
    m_status->setObjectName("runStatus");
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont bold = m_status->font();
    bold.setBold(true);
    m_status->setFont(bold);
    layout->addWidget(m_status);

    m_overallLabel = new QLabel(tr("Overall"), this);
    m_overall = makeBar(this, "overallProgress");
    m_adapterLabel = new QLabel(tr("Adapter"), this);
    m_adapter = makeBar(this, "adapterProgress");
    layout->addWidget(m_overallLabel);
    layout->addWidget(m_overall);
    layout->addWidget(m_adapterLabel);
    layout->addWidget(m_adapter);

    m_tabs = new QTabWidget(this);
    m_charts = new CurveCharts(m_tabs);
    m_table = new LatestValuesTable(m_tabs);
    m_table->setObjectName("latestValues");
    m_log = new QPlainTextEdit(m_tabs);
    m_log->setObjectName("runLog");
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    m_tabs->addTab(m_charts, tr("Curves"));
    m_tabs->addTab(m_table, tr("Latest values"));
    m_tabs->addTab(m_log, tr("Log"));
    layout->addWidget(m_tabs, 1);

    auto* buttons = new QHBoxLayout();
    buttons->addWidget(new QLabel(tr("Curves of:"), this));
    m_adapterChoice = new QComboBox(this);
    m_adapterChoice->setObjectName("adapterChoice");
    m_adapterChoice->setMinimumContentsLength(10);
    buttons->addWidget(m_adapterChoice);
    m_exportPng = new QPushButton(tr("Export PNG…"), this);
    m_exportPng->setObjectName("exportPng");
    m_exportCsv = new QPushButton(tr("Export CSV…"), this);
    m_exportCsv->setObjectName("exportCsv");
    buttons->addWidget(m_exportPng);
    buttons->addWidget(m_exportCsv);
    buttons->addStretch(1);
    m_cancel = new QPushButton(tr("Cancel training"), this);
    m_cancel->setObjectName("cancelTraining");
    m_cancel->setToolTip(tr("Stops after the current batch and saves a checkpoint; continue with Training ▸ Resume…"));
    m_cancel->setEnabled(false);
    buttons->addWidget(m_cancel);
    layout->addLayout(buttons);

    connect(m_adapterChoice, &QComboBox::activated, this, &RunMonitor::showAdapter);
    connect(m_exportPng, &QPushButton::clicked, this, [this]() { exportInteractive(true); });
    connect(m_exportCsv, &QPushButton::clicked, this, [this]() { exportInteractive(false); });
    connect(m_cancel, &QPushButton::clicked, this, &RunMonitor::onCancelClicked);
}

void RunMonitor::prepareForPlan(int adapterCount)
{
    m_adapters = adapterCount;
    m_hasPrepare = true;
    m_prepareFraction = 0.0;
    m_adaptersDone = 0;
    m_adapterFraction = 0.0;
    m_current = -1;
    m_curves.assign(static_cast<size_t>(adapterCount), {});
    m_adapterChoice->clear();
    m_charts->clear();
    m_table->reset();
    m_outcome.reset();
    m_overallEta.reset();
    m_adapterEta.reset();
    m_cancel->setEnabled(true);
    m_cancel->setText(tr("Cancel training"));
    setStatus(tr("Building pairs…"));
    updateOverall();
}

void RunMonitor::prepareForResume(const QString& adapterName, const std::vector<TrainLogEntry>& history)
{
    prepareForPlan(1);
    m_hasPrepare = false;
    m_curves[0] = history;
    m_adapterChoice->addItem(adapterName);
    showAdapter(0);
    setStatus(tr("Resuming %1…").arg(adapterName));
    updateOverall();
}

QString RunMonitor::statusText() const
{
    return m_status->text();
}
QString RunMonitor::adapterText() const
{
    return m_adapterLabel->text();
}
QString RunMonitor::logText() const
{
    return m_log->toPlainText();
}

void RunMonitor::setStatus(const QString& text, bool error)
{
    m_status->setText(text);
    m_status->setStyleSheet(error ? "color: #e5534b;" : QString());
}

void RunMonitor::showAdapter(int index)
{
    if (index < 0 || index >= static_cast<int>(m_curves.size())) return;
    m_shown = index;
    if (m_adapterChoice->currentIndex() != index && index < m_adapterChoice->count())
        m_adapterChoice->setCurrentIndex(index);
    m_charts->setEntries(m_curves[index]);
    m_table->reset();
    for (const TrainLogEntry& entry : m_curves[index]) m_table->addEntry(entry);
}

void RunMonitor::onRunMessage(const QString& text)
{
    m_log->appendPlainText(text);
}

void RunMonitor::onPrepareProgress(ProgressStage stage, qint64 done, qint64 total)
{
    const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
    const bool tokenizing = stage == ProgressStage::Tokenizing;
    m_prepareFraction = tokenizing ? 0.2 + 0.8 * fraction : 0.2 * fraction;
    if (tokenizing) {
        setStatus(tr("Tokenizing songs…"));
        m_adapterLabel->setText(tr("Tokenizing: song %1 of %2").arg(done).arg(total));
    } else {
        setStatus(tr("Building pairs…"));
        const QString name = QString::fromUtf8(progressStageName(stage));
        m_adapterLabel->setText(total > 0 ? tr("%1: %2 of %3").arg(name).arg(done).arg(total) : name);
    }
    m_adapter->setValue(barValue(fraction));
    updateOverall();
}

void RunMonitor::onAdapterStarted(int index, const QString& name, const QString& runDir)
{
    if (index >= static_cast<int>(m_curves.size())) m_curves.resize(static_cast<size_t>(index) + 1);
    while (m_adapterChoice->count() <= index) m_adapterChoice->addItem(QString());
    m_adapterChoice->setItemText(index, name);
    m_adapterChoice->setItemData(index, runDir, Qt::ToolTipRole);
    m_current = index;
    m_prepareFraction = 1.0;
    m_adapterFraction = 0.0;
    m_adapterTotal = 0;
    m_adapterEta.reset();
    showAdapter(index);
    setStatus(tr("Training %1 (%2 of %3)").arg(name).arg(index + 1).arg(m_adapters));
    m_adapterLabel->setText(tr("%1: loading the model and computing reference log-probabilities…").arg(name));
    m_adapter->setValue(0);
    updateOverall();
}

void RunMonitor::onTrainProgress(int index, ProgressStage stage, qint64 done, qint64 total)
{
    if (index != m_current) return;
    const QString name = m_adapterChoice->itemText(index);
    if (stage == ProgressStage::Training && total > 0) {
        m_adapterTotal = total;
        showAdapterStep(done);
    } else if (stage == ProgressStage::Evaluation) {
        m_adapterLabel->setText(tr("%1: evaluating on the test pairs (%2 of %3)").arg(name).arg(done).arg(total));
    } else {
        m_adapterLabel->setText(
            tr("%1: %2 (%3 of %4)").arg(name, QString::fromUtf8(progressStageName(stage))).arg(done).arg(total));
    }
    updateOverall();
}

void RunMonitor::showAdapterStep(qint64 step)
{
    const QString name = m_adapterChoice->itemText(m_current);
    m_adapterFraction = static_cast<double>(step) / static_cast<double>(m_adapterTotal);
    m_adapterEta.update(m_adapterFraction);
    m_adapter->setValue(barValue(m_adapterFraction));
    m_adapterLabel->setText(tr("%1: step %2 of %3 · %4")
                                .arg(name)
                                .arg(step)
                                .arg(m_adapterTotal)
                                .arg(EtaEstimator::format(m_adapterEta.secondsLeft())));
}

void RunMonitor::onLogEntry(int index, const TrainLogEntry& entry)
{
    if (index < 0) return;
    // Progress reports are throttled; every train entry is a step done, so the bar follows them too.
    if (index == m_current && entry.split == "train" && m_adapterTotal > 0 && entry.step <= m_adapterTotal) {
        showAdapterStep(entry.step);
        updateOverall();
    }
    if (index >= static_cast<int>(m_curves.size())) m_curves.resize(static_cast<size_t>(index) + 1);
    m_curves[index].push_back(entry);
    if (index == m_shown) {
        m_charts->addEntry(entry);
        m_table->addEntry(entry);
    }
}

void RunMonitor::onAdapterFinished(int index, bool cancelled, qint64 step, qint64 totalSteps)
{
    if (cancelled) return;
    ++m_adaptersDone;
    m_adapterFraction = 0.0;
    m_adapter->setValue(kBarScale);
    m_adapterLabel->setText(
        tr("%1: finished at step %2 of %3").arg(m_adapterChoice->itemText(index)).arg(step).arg(totalSteps));
    updateOverall();
}

void RunMonitor::onRunFinished(RunOutcome outcome, qint64 step, const QString& message)
{
    m_outcome = outcome;
    m_cancel->setEnabled(false);
    m_cancel->setText(tr("Cancel training"));
    switch (outcome) {
    case RunOutcome::Finished:
        setStatus(tr("Done. %1 The new sliders are active.").arg(message));
        m_overall->setValue(kBarScale);
        m_overallLabel->setText(tr("Overall: finished"));
        break;
    case RunOutcome::Cancelled:
        setStatus(step >= 0 ? tr("Cancelled at step %1 — resume from Training ▸ Resume…").arg(step) : message);
        break;
    case RunOutcome::Failed:
        setStatus(tr("Failed: %1").arg(message), true);
        break;
    }
    Q_EMIT finished(outcome);
}

void RunMonitor::onCancelClicked()
{
    m_bridge.cancel();
    m_cancel->setEnabled(false);
    m_cancel->setText(tr("Cancelling…"));
    setStatus(tr("Cancelling — saving a checkpoint…"));
}

void RunMonitor::updateOverall()
{
    const double units = static_cast<double>(m_adapters + (m_hasPrepare ? 1 : 0));
    if (units <= 0) return;
    const double done = (m_hasPrepare ? m_prepareFraction : 0.0) + m_adaptersDone + m_adapterFraction;
    const double fraction = std::clamp(done / units, 0.0, 1.0);
    m_overallEta.update(fraction);
    m_overall->setValue(barValue(fraction));
    m_overallLabel->setText(tr("Overall: %1 of %2 adapters trained · %3% · %4")
                                .arg(m_adaptersDone)
                                .arg(m_adapters)
                                .arg(std::lround(fraction * 100))
                                .arg(EtaEstimator::format(m_overallEta.secondsLeft())));
}

Expected<void> RunMonitor::exportPng(const QString& path) const
{
    return m_charts->exportPng(path);
}
Expected<void> RunMonitor::exportCsv(const QString& path) const
{
    return m_charts->exportCsv(path);
}

void RunMonitor::exportInteractive(bool png)
{
    const QString adapter
        = m_adapterChoice->currentText().isEmpty() ? QString("curves") : m_adapterChoice->currentText();
    const QString dir = m_adapterChoice->currentData(Qt::ToolTipRole).toString();
    const QString suggested = (dir.isEmpty() ? QString() : dir + "/") + adapter + (png ? "-curves.png" : "-curves.csv");
    exportCurvesInteractive(this, *m_charts, png, suggested);
}

} // namespace tmk::ui
