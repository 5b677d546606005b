// TrainingWizard (see training_wizard.h).
#include "training/training_wizard.h"

#include <QMessageBox>

#include "training/data_page.h"
#include "training/run_page.h"
#include "training/settings_page.h"
#include "training/targets_page.h"
#include "training/training_bridge.h"
#include "training/wizard_context.h"

namespace tmk::ui {

TrainingWizard::TrainingWizard(EngineBridge& engine, QWidget* parent)
    : QWizard(parent)
    , m_bridge(std::make_unique<TrainingBridge>(engine))
    , m_context(std::make_unique<WizardContext>(*m_bridge))
{
    buildPages();
    setStartId(DataPageId);
}

TrainingWizard::TrainingWizard(
    EngineBridge& engine, const RunInfo& run, const std::filesystem::path& bankDir, QWidget* parent)
    : QWizard(parent)
    , m_bridge(std::make_unique<TrainingBridge>(engine))
    , m_context(std::make_unique<WizardContext>(*m_bridge))
{
    m_context->resumeRun = run;
    m_context->resumeBankDir = bankDir;
    buildPages();
    setStartId(RunPageId);
    setWindowTitle(tr("Resume fine-tune — %1").arg(QString::fromStdString(run.dir.filename().string())));
}

// The bridge goes first (cancelling its jobs; its signals with it); the pages, deleted afterwards as
// children, do nothing with the context when destroyed.
TrainingWizard::~TrainingWizard() = default;

void TrainingWizard::buildPages()
{
    setWindowTitle(tr("New fine-tune"));
    setObjectName("trainingWizard");
    setWizardStyle(QWizard::ModernStyle);
    setOption(QWizard::NoCancelButtonOnLastPage, true);
    setOption(QWizard::NoBackButtonOnLastPage, true);
    m_data = new DataPage(*m_context, this);
    m_targets = new TargetsPage(*m_context, this);
    m_settings = new SettingsPage(*m_context, this);
    m_run = new RunPage(*m_context, this);
    setPage(DataPageId, m_data);
    setPage(TargetsPageId, m_targets);
    setPage(SettingsPageId, m_settings);
    setPage(RunPageId, m_run);
    resize(1040, 780);
    connect(m_bridge.get(), &TrainingBridge::runningChanged, this, [this](bool running) {
        if (!running && m_closeWhenStopped) QWizard::reject();
    });
}

bool TrainingWizard::isResume() const
{
    return m_context->resumeRun.has_value();
}

void TrainingWizard::reject()
{
    if (!m_bridge->running()) return QWizard::reject();
    if (m_closeWhenStopped) return; // already stopping
    const auto answer = QMessageBox::question(this, tr("Stop training?"),
        tr("Training is running. Stop it and close? A checkpoint is saved; continue later with Training ▸ Resume…"),
        QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
    if (answer != QMessageBox::Yes) return;
    m_closeWhenStopped = true;
    m_bridge->cancel();
}

} // namespace tmk::ui
