// Menus that other classes add to the main window's menu bar (Steering, Training) go before its Help menu.
#pragma once

#include <QAction>
#include <QMenu>
#include <QMenuBar>
#include <QString>

namespace tmk::ui {

// Inserts `menu` before the bar's "Help" menu, or at the end when there is none.
inline void insertMenuBeforeHelp(QMenuBar* menuBar, QMenu* menu)
{
    QAction* help = nullptr;
    for (QAction* action : menuBar->actions())
        if (action->menu() && action->text().remove('&') == QLatin1String("Help")) help = action;
    menuBar->insertMenu(help, menu);
}

} // namespace tmk::ui
