#include "mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QLabel>
#include <QMenuBar>
#include <QStatusBar>
#include <QVBoxLayout>

namespace tmk::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    setObjectName("MainWindow");
    setWindowTitle(tr("Tastemaker"));
    resize(1280, 800);

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    auto* title = new QLabel(tr("Tastemaker"), central);
    title->setObjectName("titleLabel");
    QFont font = title->font();
    font.setPointSizeF(font.pointSizeF() * 1.6);
    font.setBold(true);
    title->setFont(font);
    layout->addWidget(title);
    layout->addStretch(1);
    setCentralWidget(central);

    m_status = new QLabel(tr("No model loaded"), this);
    m_status->setObjectName("modelStatus");
    statusBar()->addWidget(m_status);
    buildMenus();
}

void MainWindow::setModelDescription(const QString& name, bool untrained)
{
    QString text = tr("Model: %1").arg(name);
    if (untrained) text += tr(" (an untrained tiny model that makes noise-like sound; open a real MusicGen folder for music)");
    m_status->setText(text);
}

QString MainWindow::modelDescription() const { return m_status->text(); }

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* quit = file->addAction(tr("&Quit"));
    quit->setObjectName("actionQuit");
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);
}

}  // namespace tmk::ui
