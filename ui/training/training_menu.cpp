// TrainingMenu (see training_menu.h).
#include "training/training_menu.h"

#include <QAction>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSignalBlocker>

#include "engine_bridge.h"
#include "menu_bar.h"
#include "training/runs_dialog.h"
#include "training/training_bridge.h"
#include "training/training_wizard.h"
#include "training/wizard_context.h"
#include "widgets/slider_panel.h"

namespace tmk::ui {

TrainingMenu::TrainingMenu(QMenuBar* menuBar, EngineBridge& engine, SliderPanel* sliders, QWidget* window)
    : QObject(window)
    , m_engine(engine)
    , m_window(window)
{
    m_menu = new QMenu(tr("&Training"), menuBar);
    m_menu->setObjectName("menuTraining");
    insertMenuBeforeHelp(menuBar, m_menu);
    m_new = m_menu->addAction(tr("&New fine-tune…"));
    m_new->setObjectName("actionNewFineTune");
    m_new->setStatusTip(tr("Build preference pairs from your library and train new slider adapters."));
    m_resume = m_menu->addAction(tr("&Resume…"));
    m_resume->setObjectName("actionResumeTraining");
    m_resume->setStatusTip(tr("List training runs and continue an interrupted one."));
    connect(m_new, &QAction::triggered, this, [this]() { openWizard(); });
    connect(m_resume, &QAction::triggered, this, [this]() { openRunsDialog(); });
    if (sliders) {
        QPointer<SliderPanel> panel(sliders);
        connect(&engine, &EngineBridge::bankLoaded, sliders, [this, panel]() {
            if (!panel) return;
            const QSignalBlocker blocker(panel.data()); // clamping to the bank is not a user's slider move
            panel->setBank(m_engine.bank());
        });
    }
}

TrainingWizard* TrainingMenu::wizard() const
{
    return m_wizard;
}
RunsDialog* TrainingMenu::runsDialog() const
{
    return m_runs;
}

TrainingMenu::~TrainingMenu() = default;

QString TrainingMenu::runsRoot()
{
    return QSettings().value(training_settings::kRunsRoot, TrainingBridge::defaultRunsRoot()).toString();
}

TrainingWizard* TrainingMenu::adopt(TrainingWizard* wizard)
{
    wizard->setAttribute(Qt::WA_DeleteOnClose);
    wizard->setWindowModality(Qt::NonModal);
    m_wizard = wizard;
    wizard->show();
    wizard->raise();
    wizard->activateWindow();
    return wizard;
}

TrainingWizard* TrainingMenu::openWizard()
{
    if (m_wizard) {
        if (m_wizard->bridge().running() || m_wizard->currentId() != TrainingWizard::RunPageId) {
            m_wizard->raise();
            m_wizard->activateWindow();
            return m_wizard;
        }
        m_wizard->close(); // a finished run: start afresh
    }
    return adopt(new TrainingWizard(m_engine, m_window));
}

RunsDialog* TrainingMenu::openRunsDialog()
{
    if (m_runs) {
        m_runs->refresh();
        m_runs->raise();
        return m_runs;
    }
    auto* dialog = new RunsDialog(runsRoot(), m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &RunsDialog::resumeRequested, this, [this](const RunInfo& run) { resumeRun(run); });
    m_runs = dialog;
    dialog->show();
    return dialog;
}

TrainingWizard* TrainingMenu::resumeRun(const RunInfo& run)
{
    if (m_wizard && m_wizard->bridge().running()) {
        QMessageBox::information(m_window, tr("Training is running"),
            tr("A fine-tune is running already. Resume %1 when it has finished or been cancelled.")
                .arg(QString::fromStdString(run.dir.filename().string())));
        m_wizard->raise();
        return nullptr;
    }
    if (m_wizard) m_wizard->close();
    // The adapter registers in the run's own bank, or in the open one when the run has none.
    std::filesystem::path bank = run.options.bankDir;
    if (bank.empty() && !m_engine.bankDir().isEmpty()) bank = m_engine.bankDir().toStdString();
    return adopt(new TrainingWizard(m_engine, run, bank, m_window));
}

} // namespace tmk::ui
