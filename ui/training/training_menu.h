// The app's "Training" menu: "New fine-tune…" opens the training wizard, "Resume…" the runs dialog, whose
// Resume opens the wizard on its run page for the chosen run. One wizard at a time: while one is open the
// entries bring it to the front. The wizard is non-modal, so the app stays usable while it trains.
//
// In MainWindow (whose onBankLoaded updates the sliders already):
//     new TrainingMenu(menuBar(), m_bridge, nullptr, this);
// The menu is inserted before the Help menu when there is one.
#pragma once

#include <QObject>
#include <QPointer>
#include <QString>

#include "tastemaker/training.h"

class QAction;
class QMenu;
class QMenuBar;
class QWidget;

namespace tmk::ui {

class EngineBridge;
class RunsDialog;
class SliderPanel;
class TrainingWizard;

class TrainingMenu : public QObject {
    Q_OBJECT

public:
    // `sliders` (optional) follows the bridge's bank (setBank on bankLoaded), so adapters that a run
    // registers show as active sliders at once; pass nullptr when the window does that already.
    TrainingMenu(QMenuBar* menuBar, EngineBridge& engine, SliderPanel* sliders, QWidget* window);
    ~TrainingMenu() override;

    QMenu* menu() const { return m_menu; }
    QAction* newFineTuneAction() const { return m_new; }
    QAction* resumeAction() const { return m_resume; }

    // What the entries do (also for tests): the open wizard, or a new one.
    TrainingWizard* openWizard();
    RunsDialog* openRunsDialog();
    TrainingWizard* resumeRun(const tmk::RunInfo& run);
    TrainingWizard* wizard() const;
    RunsDialog* runsDialog() const;
    // The runs folder the dialog opens on (QSettings "training/runsRoot", else the default).
    static QString runsRoot();

private:
    TrainingWizard* adopt(TrainingWizard* wizard);

    EngineBridge& m_engine;
    QWidget* m_window = nullptr;
    QMenu* m_menu = nullptr;
    QAction* m_new = nullptr;
    QAction* m_resume = nullptr;
    QPointer<TrainingWizard> m_wizard;
    QPointer<RunsDialog> m_runs;
};

} // namespace tmk::ui
