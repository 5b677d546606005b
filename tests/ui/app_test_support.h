// Helpers for the app's Qt Tests (test_mainwindow, test_app_*): isolated settings, fresh output folders,
// the fixture and default models, and waiting on the bridge.
#pragma once

#include <QApplication>
#include <QCoreApplication>
#include <QDir>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QString>
#include <QTest>

#include "engine_bridge.h"

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

} // namespace tmk::test
