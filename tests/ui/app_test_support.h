// Helpers for the app's Qt Tests (test_mainwindow, test_app_*): isolated settings, fresh output folders,
// the fixture and default models, waiting on the bridge, and what the screenshot tests share.
#pragma once

#include <QApplication>
#include <QCoreApplication>
#include <QDir>
#include <QImage>
#include <QMessageBox>
#include <QPixmap>
#include <QScreen>
#include <QSet>
#include <QSettings>
#include <QStandardPaths>
#include <QString>
#include <QTest>

#include "engine_bridge.h"
#include "widgets/theme.h"

namespace tmk::test {

inline QString envPath(const char* name, const QString& fallback)
{
    const QByteArray value = qgetenv(name);
    return value.isEmpty() ? fallback : QString::fromLocal8Bit(value);
}

// tests/data (TM_TEST_DATA).
inline QString dataDir()
{
    return envPath("TM_TEST_DATA", QStringLiteral("tests/data"));
}
inline QString fixtureModelDir()
{
    return dataDir() + "/musicgen-tiny-public";
}
inline QString fixtureBankDir()
{
    return dataDir() + "/adapters-tiny-public/bank";
}
inline QString defaultModelDir()
{
    return QStringLiteral(TM_DEFAULT_MODEL_DIR);
}

// A fresh, empty folder TM_TEST_OUT/<name>.
inline QString freshOutDir(const QString& name)
{
    const QString root = envPath("TM_TEST_OUT", QDir::tempPath() + "/tastemaker-test-out");
    QDir dir(root + "/" + name);
    dir.removeRecursively();
    QDir().mkpath(dir.path());
    return dir.path();
}

// Settings and standard paths that never touch a user's: Qt's test mode plus an organisation of our own,
// cleared at the start.
inline void isolateSettings(const QString& organisation)
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(organisation);
    QCoreApplication::setApplicationName("Tastemaker");
    QSettings().clear();
}

// Options for a bridge whose library is a fresh folder.
inline ui::EngineBridgeOptions bridgeOptions(const QString& libraryDir, bool openAudio = false)
{
    ui::EngineBridgeOptions options;
    options.libraryDir = libraryDir;
    options.openAudio = openAudio;
    return options;
}

// Waits (processing events) until the bridge has a model and no job runs.
inline bool waitForModel(const ui::EngineBridge& bridge, int timeoutMs = 20000)
{
    return QTest::qWaitFor([&]() { return bridge.hasModel() && !bridge.busy(); }, timeoutMs);
}

inline bool waitIdle(const ui::EngineBridge& bridge, int timeoutMs = 20000)
{
    return QTest::qWaitFor([&]() { return !bridge.busy(); }, timeoutMs);
}

// The window-modal message box on top (error dialogs are opened non-blocking), or nullptr.
inline QMessageBox* activeMessageBox()
{
    return qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
}

// ---- Screenshot tests (test_*_screenshot) ----

// TM_TEST_OUT/screenshots (not created).
inline QString screenshotDir()
{
    return envPath("TM_TEST_OUT", QDir::tempPath()) + "/screenshots";
}

// The window as the X server shows it (falls back to rendering the widget).
inline QPixmap captureWindow(QWidget& window)
{
    window.repaint();
    QPixmap shot = window.screen()->grabWindow(window.winId());
    return shot.isNull() ? window.grab() : shot;
}

// Why the PNG at `path` is not a plausible screenshot of a large window ("" when it is): it must load, be at
// least 1000 x 700 and not be a blank frame (more than 20 distinct colours: text, plots, bars).
inline QString screenshotProblem(const QString& path)
{
    const QImage image(path);
    if (image.isNull()) return path + " cannot be read";
    if (image.width() < 1000 || image.height() < 700)
        return QString("%1 is only %2 x %3").arg(path).arg(image.width()).arg(image.height());
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 4)
        for (int x = 0; x < image.width(); x += 4) colours.insert(image.pixel(x, y));
    return colours.size() > 20 ? QString() : QString("%1 has only %2 colours").arg(path).arg(colours.size());
}

// A screenshot test's main (TM_QTEST_MAIN): runs TestClass on the Xvfb display that packaging/with-test-env.sh
// started (TM_XVFB_DISPLAY), in the app's theme. ctest sets QT_QPA_PLATFORM=offscreen; without the variable the
// test keeps that platform and should skip.
template <typename TestClass> int runOnXvfb(int argc, char** argv)
{
    const QByteArray display = qgetenv("TM_XVFB_DISPLAY");
    if (!display.isEmpty()) {
        qputenv("QT_QPA_PLATFORM", "xcb");
        qputenv("DISPLAY", display);
    }
    QApplication app(argc, argv);
    ui::applyTheme(app);
    TestClass test;
    return QTest::qExec(&test, argc, argv);
}

} // namespace tmk::test
