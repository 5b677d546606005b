// SteeringMenu (see steering_menu.h).
#include "steering/steering_menu.h"

#include <QAction>
#include <QMenu>
#include <QMenuBar>

#include "menu_bar.h"
#include "steering/steering_report_view.h"

namespace tmk::ui {

SteeringMenu::SteeringMenu(QMenuBar* menuBar, EngineBridge& engine, QWidget* window)
    : QObject(window)
    , m_engine(engine)
    , m_window(window)
{
    m_menu = new QMenu(tr("&Steering"), menuBar);
    m_menu->setObjectName("menuSteering");
    insertMenuBeforeHelp(menuBar, m_menu);
    m_report = m_menu->addAction(tr("Steering &report…"));
    m_report->setObjectName("actionSteeringReport");
    m_report->setStatusTip(tr("See which sliders the open bank's adapters really control: open a steering report, "
                              "or run one."));
    connect(m_report, &QAction::triggered, this, [this]() { openReportView(); });
}

SteeringReportView* SteeringMenu::reportView() const
{
    return m_view;
}

SteeringReportView* SteeringMenu::openReportView()
{
    const bool first = !m_view;
    if (first) m_view = new SteeringReportView(m_engine, m_window);
    m_view->show();
    m_view->raise();
    m_view->activateWindow();
    if (first) m_view->openDefault();
    return m_view;
}

} // namespace tmk::ui
