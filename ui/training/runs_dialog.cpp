// RunsDialog and CurvesDialog (see runs_dialog.h).
#include "training/runs_dialog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include "tastemaker/adapters.h"
#include "training/training_charts.h"
#include "widgets/qt_text.h"

namespace tmk::ui {

RunsDialog::RunsDialog(const QString& runsRoot, QWidget* parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Training runs"));
    setObjectName("runsDialog");
    qRegisterMetaType<tmk::RunInfo>("tmk::RunInfo");
    auto* layout = new QVBoxLayout(this);

    auto* rootRow = new QHBoxLayout();
    rootRow->addWidget(new QLabel(tr("Runs folder"), this));
    m_root = new QLineEdit(runsRoot, this);
    m_root->setObjectName("runsRoot");
    rootRow->addWidget(m_root, 1);
    auto* browse = new QPushButton(tr("Browse…"), this);
    rootRow->addWidget(browse);
    auto* refreshButton = new QPushButton(tr("Refresh"), this);
    refreshButton->setObjectName("refreshRuns");
    rootRow->addWidget(refreshButton);
    layout->addLayout(rootRow);

    m_table = new QTableWidget(0, 4, this);
    m_table->setObjectName("runsTable");
    m_table->setHorizontalHeaderLabels({ tr("Run"), tr("Adapter"), tr("Steps"), tr("Status") });
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    layout->addWidget(m_table, 1);
    m_empty = new QLabel(this);
    m_empty->setWordWrap(true);
    layout->addWidget(m_empty);

    auto* buttons = new QDialogButtonBox(this);
    m_resume = buttons->addButton(tr("Resume"), QDialogButtonBox::AcceptRole);
    m_resume->setObjectName("resumeRun");
    m_curves = buttons->addButton(tr("Curves…"), QDialogButtonBox::ActionRole);
    m_curves->setObjectName("showCurves");
    buttons->addButton(QDialogButtonBox::Close);
    layout->addWidget(buttons);

    connect(browse, &QPushButton::clicked, this, [this]() {
        const QString chosen = QFileDialog::getExistingDirectory(this, tr("Runs folder"), m_root->text());
        if (!chosen.isEmpty()) setRunsRoot(chosen);
    });
    connect(refreshButton, &QPushButton::clicked, this, &RunsDialog::refresh);
    connect(m_root, &QLineEdit::editingFinished, this, &RunsDialog::refresh);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &RunsDialog::updateButtons);
    connect(m_table, &QTableWidget::cellDoubleClicked, this, [this]() {
        if (std::optional<RunInfo> run = selectedRun(); run && resumable(*run)) resumeSelected();
    });
    connect(m_resume, &QPushButton::clicked, this, &RunsDialog::resumeSelected);
    connect(m_curves, &QPushButton::clicked, this, &RunsDialog::showCurves);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    resize(820, 420);
    refresh();
}

RunsDialog::~RunsDialog() = default;

void RunsDialog::setRunsRoot(const QString& root)
{
    m_root->setText(root);
    refresh();
}

QString RunsDialog::runsRoot() const
{
    return m_root->text().trimmed();
}

QString RunsDialog::statusText(const RunInfo& run)
{
    if (run.finished) return tr("finished");
    if (run.hasCheckpoint) return tr("interrupted — resumable");
    return tr("interrupted before its first checkpoint (start it again)");
}

void RunsDialog::refresh()
{
    m_runs = findRuns(runsRoot().toStdString());
    // Interrupted runs first (what this dialog is for), then the newest.
    std::stable_sort(m_runs.begin(), m_runs.end(), [](const RunInfo& a, const RunInfo& b) {
        if (resumable(a) != resumable(b)) return resumable(a);
        return a.dir.filename() > b.dir.filename();
    });
    m_table->setRowCount(static_cast<int>(m_runs.size()));
    for (int row = 0; row < static_cast<int>(m_runs.size()); ++row) {
        const RunInfo& run = m_runs[row];
        auto* name = new QTableWidgetItem(qs(run.dir.filename().string()));
        name->setToolTip(qs(run.dir.string()));
        m_table->setItem(row, 0, name);
        m_table->setItem(row, 1, new QTableWidgetItem(qs(adapterName(run.options.metric, run.options.direction))));
        m_table->setItem(row, 2, new QTableWidgetItem(tr("%1 / %2").arg(run.step).arg(run.totalSteps)));
        m_table->setItem(row, 3, new QTableWidgetItem(statusText(run)));
    }
    m_empty->setText(m_runs.empty() ? tr("No training runs in %1.").arg(runsRoot()) : QString());
    for (int row = 0; row < static_cast<int>(m_runs.size()); ++row)
        if (resumable(m_runs[row])) {
            m_table->selectRow(row);
            break;
        }
    updateButtons();
}

bool RunsDialog::selectRun(const QString& folderName)
{
    for (int row = 0; row < static_cast<int>(m_runs.size()); ++row)
        if (qs(m_runs[row].dir.filename().string()) == folderName) {
            m_table->selectRow(row);
            return true;
        }
    return false;
}

std::optional<RunInfo> RunsDialog::selectedRun() const
{
    const QList<QTableWidgetItem*> items = m_table->selectedItems();
    if (items.isEmpty()) return std::nullopt;
    const int row = items.front()->row();
    if (row < 0 || row >= static_cast<int>(m_runs.size())) return std::nullopt;
    return m_runs[row];
}

void RunsDialog::updateButtons()
{
    const std::optional<RunInfo> run = selectedRun();
    m_resume->setEnabled(run && resumable(*run));
    m_curves->setEnabled(run.has_value());
}

void RunsDialog::resumeSelected()
{
    const std::optional<RunInfo> run = selectedRun();
    if (!run || !resumable(*run)) return;
    Q_EMIT resumeRequested(*run);
    accept();
}

void RunsDialog::showCurves()
{
    const std::optional<RunInfo> run = selectedRun();
    if (!run) return;
    auto* dialog = new CurvesDialog(*run, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

// ---- CurvesDialog ----

CurvesDialog::CurvesDialog(const RunInfo& run, QWidget* parent)
    : QDialog(parent)
    , m_dir(qs(run.dir.string()))
{
    const QString name = qs(run.dir.filename().string());
    setWindowTitle(tr("Curves — %1").arg(name));
    auto* layout = new QVBoxLayout(this);
    m_charts = new CurveCharts(this);
    layout->addWidget(m_charts, 1);
    m_error = new QLabel(this);
    m_error->setWordWrap(true);
    layout->addWidget(m_error);
    if (Expected<std::vector<TrainLogEntry>> entries = readTrainLog(run.dir))
        m_charts->setEntries(*entries);
    else
        m_error->setText(qs(entries.error().message));

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    QPushButton* png = buttons->addButton(tr("Export PNG…"), QDialogButtonBox::ActionRole);
    QPushButton* csv = buttons->addButton(tr("Export CSV…"), QDialogButtonBox::ActionRole);
    layout->addWidget(buttons);
    connect(png, &QPushButton::clicked, this,
        [this, name]() { exportCurvesInteractive(this, *m_charts, true, m_dir + "/" + name + "-curves.png"); });
    connect(csv, &QPushButton::clicked, this,
        [this, name]() { exportCurvesInteractive(this, *m_charts, false, m_dir + "/" + name + "-curves.csv"); });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    resize(900, 640);
}

QString CurvesDialog::errorText() const
{
    return m_error->text();
}

} // namespace tmk::ui
