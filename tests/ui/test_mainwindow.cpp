// The main window opens, shows its menus and quits cleanly (offscreen).
#include <QAction>
#include <QApplication>
#include <QLabel>
#include <QMenuBar>
#include <QSignalSpy>
#include <QTest>

#include "mainwindow.h"

class TestMainWindow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void opensAndQuits()
    {
        tmk::ui::MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QCOMPARE(window.windowTitle(), QString("Tastemaker"));
        QVERIFY(window.findChild<QLabel*>("titleLabel") != nullptr);

        window.setModelDescription("default-tiny", true);
        QVERIFY(window.modelDescription().contains("untrained"));
        window.setModelDescription("musicgen-small", false);
        QVERIFY(!window.modelDescription().contains("untrained"));

        auto* quit = window.findChild<QAction*>("actionQuit");
        QVERIFY(quit != nullptr);
        QCOMPARE(quit->shortcut(), QKeySequence(QKeySequence::Quit));
        quit->trigger();
        QVERIFY(!window.isVisible());
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_mainwindow.moc"
