// The app's "Steering" menu: "Steering report…" opens the steering report view (steering_report_view.h) for the
// window's engine. One view per window, created on first use and kept (closing only hides it, so a running report
// goes on); the entry brings it back to the front.
//
// In MainWindow:
//     new SteeringMenu(menuBar(), m_bridge, this);
// The menu is inserted before the Help menu when there is one.
#pragma once

#include <QObject>
#include <QPointer>

class QAction;
class QMenu;
class QMenuBar;
class QWidget;

namespace tmk::ui {

class EngineBridge;
class SteeringReportView;

class SteeringMenu : public QObject {
    Q_OBJECT

public:
    SteeringMenu(QMenuBar* menuBar, EngineBridge& engine, QWidget* window);

    QMenu* menu() const { return m_menu; }
    QAction* reportAction() const { return m_report; }
    // What the entry does (also for tests): shows the view, opening its default report the first time.
    SteeringReportView* openReportView();
    SteeringReportView* reportView() const; // nullptr before the first openReportView()

private:
    EngineBridge& m_engine;
    QWidget* m_window = nullptr;
    QMenu* m_menu = nullptr;
    QAction* m_report = nullptr;
    QPointer<SteeringReportView> m_view;
};

} // namespace tmk::ui
