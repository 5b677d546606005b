// tastemaker: the desktop app. The composition root: it builds the engine runtime and the main window.
#include <QApplication>

#include "mainwindow.h"
#include "tastemaker/runtime.h"

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName("Tastemaker");
    QApplication::setOrganizationName("Tastemaker");
    tmk::initRuntime();
    tmk::ui::MainWindow window;
    window.show();
    return QApplication::exec();
}
