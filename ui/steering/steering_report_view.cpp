// SteeringReportView (see steering_report_view.h).
#include "steering/steering_report_view.h"

#include <algorithm>

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QVBoxLayout>

#include "engine_bridge.h"
#include "steering/steering_report_widgets.h"
#include "steering/steering_run_dialog.h"
#include "training/run_monitor.h"
#include "widgets/qt_text.h"

namespace tmk::ui {

namespace {

constexpr const char* kLastReportKey = "steering/lastReportDir";

// "Model demo (sha256:…) · bank demo-bank (…) · 4 prompts × 16 seeds at -1, -0.5, 0, 0.5, 1 · 8 s clips · 1,280 clips"
QString describe(const SteeringReport& report)
{
    QStringList values;
    for (double value : report.params.values) values << QString::number(value);
    QString text = QObject::tr("Model %1 · bank %2 · %3 prompts × %4 seeds at %5 · %6 s clips · %7 clips")
                       .arg(qs(report.info.model), qs(report.info.bank))
                       .arg(report.params.prompts.size())
                       .arg(report.params.seeds)
                       .arg(values.join(", "))
                       .arg(report.params.durationSeconds)
                       .arg(report.clipsDone);
    if (!report.complete)
        text += QObject::tr(" — incomplete: %1 of the %2 planned clips").arg(report.clipsDone).arg(report.clipsPlanned);
    return text;
}

} // namespace

SteeringReportView::SteeringReportView(EngineBridge& engine, QWidget* parent)
    : QDialog(parent)
    , m_engine(engine)
{
    setObjectName("steeringReportView");
    setWindowTitle(tr("Steering report"));
    setModal(false);
    resize(1200, 820);
    m_runner = new SteeringReportRunner(engine, this);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(buildHeader());
    layout->addWidget(buildProgressRow());
    m_pages = new QStackedWidget(this);
    m_placeholder = new QLabel(tr("No steering report is open. Open a report folder (one with report.json), or run a "
                                  "report for the open model and adapter bank to see which sliders the adapters "
                                  "really control."),
        m_pages);
    m_placeholder->setObjectName("steeringReportPlaceholder");
    m_placeholder->setWordWrap(true);
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_pages->addWidget(m_placeholder);
    m_pages->addWidget(buildContent());
    layout->addWidget(m_pages, 1);

    connect(m_runner, &SteeringReportRunner::progress, this, &SteeringReportView::onRunProgress);
    connect(m_runner, &SteeringReportRunner::finished, this, &SteeringReportView::onRunFinished);
    connect(&m_engine, &EngineBridge::modelLoaded, this, &SteeringReportView::updateRunEnabled);
    connect(&m_engine, &EngineBridge::bankLoaded, this, [this]() {
        updateRunEnabled();
        if (!m_report) openDefault();
    });
    updateRunEnabled();
}

SteeringReportView::~SteeringReportView() = default;

QWidget* SteeringReportView::buildHeader()
{
    auto* header = new QWidget(this);
    auto* layout = new QGridLayout(header);
    layout->setContentsMargins(0, 0, 0, 0);
    m_source = new QLabel(header);
    m_source->setObjectName("steeringReportSource");
    m_source->setWordWrap(true);
    m_source->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status = new QLabel(header);
    m_status->setObjectName("steeringReportStatus");
    m_status->setWordWrap(true);
    m_error = new QLabel(header);
    m_error->setObjectName("steeringReportError");
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet("color: #e5534b;");
    m_error->hide();
    m_openButton = new QPushButton(tr("Open report…"), header);
    m_openButton->setObjectName("openSteeringReport");
    m_runButton = new QPushButton(tr("Run report…"), header);
    m_runButton->setObjectName("runSteeringReport");
    connect(m_openButton, &QPushButton::clicked, this, &SteeringReportView::chooseReport);
    connect(m_runButton, &QPushButton::clicked, this, &SteeringReportView::chooseRun);
    layout->addWidget(m_source, 0, 0);
    layout->addWidget(m_openButton, 0, 1);
    layout->addWidget(m_runButton, 0, 2);
    layout->addWidget(m_status, 1, 0, 1, 3);
    layout->addWidget(m_error, 2, 0, 1, 3);
    layout->setColumnStretch(0, 1);
    return header;
}

QWidget* SteeringReportView::buildProgressRow()
{
    m_progressRow = new QWidget(this);
    auto* layout = new QHBoxLayout(m_progressRow);
    layout->setContentsMargins(0, 0, 0, 0);
    m_progress = new QProgressBar(m_progressRow);
    m_progress->setObjectName("steeringReportProgress");
    m_progressLabel = new QLabel(m_progressRow);
    m_progressLabel->setObjectName("steeringReportProgressLabel");
    m_cancelButton = new QPushButton(tr("Cancel"), m_progressRow);
    m_cancelButton->setObjectName("cancelSteeringReport");
    m_cancelButton->setToolTip(tr("Stop after the generation under way; the report covers the clips done so far."));
    connect(m_cancelButton, &QPushButton::clicked, this, &SteeringReportView::cancelRun);
    layout->addWidget(m_progress, 1);
    layout->addWidget(m_progressLabel);
    layout->addWidget(m_cancelButton);
    m_progressRow->hide();
    return m_progressRow;
}

QWidget* SteeringReportView::buildContent()
{
    const std::vector<MetricInfo>& metrics = m_engine.metrics();
    auto* vertical = new QSplitter(Qt::Vertical, m_pages);
    auto* top = new QSplitter(Qt::Horizontal, vertical);
    m_sliders = new SteeringSliderTable(metrics, top);
    m_sliders->setObjectName("steeringSliderTable");
    m_chart = new SteeringCurveChart(metrics, top);
    m_chart->setObjectName("steeringCurveChart");
    top->addWidget(m_sliders);
    top->addWidget(m_chart);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);
    auto* matrixBox = new QGroupBox(tr("Interference matrix"), vertical);
    auto* matrixLayout = new QVBoxLayout(matrixBox);
    auto* caption = new QLabel(tr("Each row is a slider moved from its lowest to its highest value, each column a "
                                  "measured metric, each cell the standardised effect d: red up, blue down, full "
                                  "colour at |d| ≥ 2, grey undefined; bold is the slider's own metric."),
        matrixBox);
    caption->setWordWrap(true);
    matrixLayout->addWidget(caption);
    m_matrix = new InterferenceTable(metrics, matrixBox);
    m_matrix->setObjectName("interferenceTable");
    matrixLayout->addWidget(m_matrix);
    vertical->addWidget(top);
    vertical->addWidget(matrixBox);
    vertical->setStretchFactor(0, 3);
    vertical->setStretchFactor(1, 2);
    connect(m_sliders, &QTableWidget::currentCellChanged, this, [this](int row) {
        if (m_report && row >= 0 && row < static_cast<int>(m_report->sliders.size()))
            m_chart->showSlider(*m_report, m_report->sliders[static_cast<size_t>(row)]);
        else
            m_chart->clearSlider();
    });
    return vertical;
}

QString SteeringReportView::bankReportDir(const QString& bankDir)
{
    if (bankDir.isEmpty()) return {};
    const QString dir = QDir(bankDir).filePath("steering-report");
    return QFileInfo::exists(dir + "/report.json") ? dir : QString();
}

bool SteeringReportView::openDefault()
{
    if (m_report) return false;
    QString dir = bankReportDir(m_engine.bankDir());
    if (dir.isEmpty()) {
        const QString last = QSettings().value(kLastReportKey).toString();
        if (!last.isEmpty() && QFileInfo::exists(last + "/report.json")) dir = last;
    }
    return !dir.isEmpty() && openReport(dir);
}

bool SteeringReportView::openReport(const QString& dir)
{
    Expected<SteeringReport> read = readSteeringReport(dir.toStdString());
    if (!read) {
        showError(tr("Could not open the steering report: %1").arg(qs(read.error().message)));
        return false;
    }
    showReport(*read, dir);
    QSettings().setValue(kLastReportKey, QFileInfo(dir).absoluteFilePath());
    return true;
}

void SteeringReportView::showReport(const SteeringReport& report, const QString& dir)
{
    m_error->hide();
    m_error->clear();
    m_report = report;
    m_reportDir = dir;
    m_source->setText(QDir::toNativeSeparators(QFileInfo(dir).absoluteFilePath()) + "\n" + describe(report));
    m_sliders->setReport(report);
    m_matrix->setReport(report);
    m_pages->setCurrentIndex(1);
    int first = 0; // the first measurable slider, else the first
    for (size_t i = 0; i < report.sliders.size(); ++i)
        if (report.sliders[i].measurable) {
            first = static_cast<int>(i);
            break;
        }
    if (report.sliders.empty()) {
        m_chart->clearSlider();
    } else {
        m_sliders->setCurrentCell(-1, -1);
        m_sliders->setCurrentCell(first, 0);
    }
}

void SteeringReportView::showError(const QString& message)
{
    m_error->setText(message);
    m_error->show();
}

QString SteeringReportView::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

QString SteeringReportView::statusText() const
{
    return m_status->text();
}

bool SteeringReportView::running() const
{
    return m_runner->running();
}

void SteeringReportView::selectSlider(const QString& metric)
{
    const int row = m_sliders->rowOf(metric);
    if (row >= 0) m_sliders->setCurrentCell(row, 0);
}

void SteeringReportView::chooseReport()
{
    QString start = bankReportDir(m_engine.bankDir());
    if (start.isEmpty()) start = !m_reportDir.isEmpty() ? m_reportDir : m_engine.bankDir();
    if (start.isEmpty()) start = QDir::homePath();
    const QString dir
        = QFileDialog::getExistingDirectory(this, tr("Open a steering report (a folder with report.json)"), start);
    if (!dir.isEmpty()) openReport(dir);
}

void SteeringReportView::updateRunEnabled()
{
    const bool ready = m_engine.hasModel() && m_engine.bank() != nullptr;
    m_runButton->setEnabled(ready && !m_runner->running());
    m_runButton->setToolTip(ready ? tr("Generate and analyse clips at several values of each slider, on the open "
                                       "model and bank, and show the report.")
                                  : tr("Open a model and an adapter bank to run a report for them."));
}

void SteeringReportView::chooseRun()
{
    if (!m_engine.bank() || m_runner->running()) return;
    SteeringRunDialog dialog(*m_engine.bank(), m_engine.metrics(), this);
    if (dialog.exec() == QDialog::Accepted) startRun(dialog.request());
}

bool SteeringReportView::startRun(const SteeringRunRequest& request)
{
    if (!m_engine.hasModel() || !m_engine.bank() || !m_runner->start(request)) return false;
    m_error->hide();
    m_status->setText(tr("Running a steering report into %1…").arg(QDir::toNativeSeparators(request.outDir)));
    m_progress->setRange(0, 0); // busy until the first generation is done
    m_progressLabel->setText(tr("Starting…"));
    m_cancelButton->setEnabled(true);
    m_progressRow->show();
    updateRunEnabled();
    return true;
}

void SteeringReportView::cancelRun()
{
    if (!m_runner->running()) return;
    m_runner->cancel();
    m_cancelButton->setEnabled(false);
    m_progressLabel->setText(tr("Cancelling after the generation under way…"));
}

void SteeringReportView::onRunProgress(qint64 done, qint64 total, double /*elapsedSeconds*/, double etaSeconds)
{
    m_progress->setRange(0, static_cast<int>(std::max<qint64>(total, 1)));
    m_progress->setValue(static_cast<int>(done));
    if (!m_cancelButton->isEnabled()) return; // "Cancelling…" stays
    m_progressLabel->setText(
        tr("%1 of %2 clips · %3")
            .arg(done)
            .arg(total)
            .arg(EtaEstimator::format(etaSeconds < 0 ? std::nullopt : std::optional<double>(etaSeconds))));
}

void SteeringReportView::onRunFinished(SteeringRunOutcome outcome, const QString& outDir, const QString& message)
{
    m_progressRow->hide();
    updateRunEnabled();
    switch (outcome) {
    case SteeringRunOutcome::Finished:
        m_status->setText(tr("The report was written into %1.").arg(QDir::toNativeSeparators(outDir)));
        openReport(outDir);
        return;
    case SteeringRunOutcome::Cancelled:
        if (outDir.isEmpty()) {
            m_status->setText(tr("Cancelled before the first clip; no report was written."));
            return;
        }
        m_status->setText(
            tr("Cancelled: the report in %1 covers the clips done so far.").arg(QDir::toNativeSeparators(outDir)));
        openReport(outDir);
        return;
    case SteeringRunOutcome::Failed:
        m_status->clear();
        showError(tr("The steering report failed: %1").arg(message));
        return;
    }
}

} // namespace tmk::ui
