// An Xvfb screenshot of the training wizard's run page with live curves: two adapters are trained on the
// public tiny model and a synthetic dataset, and while the second one runs the window is captured from
// the X server into build/test-out/screenshots/training-run-page.png (the data, targets and settings
// pages are saved beside it as training-{data,targets,settings}-page.png). Runs on the display that
// packaging/with-test-env.sh starts (TM_XVFB_DISPLAY); skips with a message without one.
#include <QApplication>
#include <QCheckBox>
#include <QDir>
#include <QImage>
#include <QPixmap>
#include <QScreen>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

#include "app_test_support.h"
#include "engine_bridge.h"
#include "qtest_registry.h"
#include "training/data_page.h"
#include "training/run_monitor.h"
#include "training/run_page.h"
#include "training/settings_page.h"
#include "training/targets_page.h"
#include "training/training_bridge.h"
#include "training/training_charts.h"
#include "training/training_wizard.h"
#include "training_fixture.h"

using namespace tmk::ui;

namespace {

using tmk::test::captureWindow;
using tmk::test::screenshotDir;

} // namespace

class TestTrainingScreenshot : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void runPageScreenshot()
    {
        if (QGuiApplication::platformName() != "xcb")
            QSKIP(
                "No Xvfb display (TM_XVFB_DISPLAY is unset): run under packaging/with-test-env.sh for the screenshot.");
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("TastemakerTest");
        QCoreApplication::setApplicationName("TestTrainingScreenshot");
        tmk::test::TrainingFixture fixture;
        const QString root = tmk::test::testOutDir() + "/ui-training-screenshot";
        const QString problem = tmk::test::makeTrainingFixture(root, 24, fixture);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));

        EngineBridgeOptions options;
        options.libraryDir = root + "/clips";
        options.openAudio = false;
        EngineBridge bridge(options);
        QSignalSpy bankLoaded(&bridge, &EngineBridge::bankLoaded);
        bridge.loadBank(fixture.bankDir);
        QVERIFY(bankLoaded.wait(30'000));

        TrainingWizard wizard(bridge);
        wizard.resize(1180, 860);
        wizard.show();
        QVERIFY(QTest::qWaitForWindowExposed(&wizard));
        DataPage* data = wizard.dataPage();
        data->setTracksCsv(fixture.tracksCsv);
        data->setAudioDir(fixture.audioDir);
        data->startPreview();
        QTRY_VERIFY_WITH_TIMEOUT(data->previewOk(), 20'000);
        QVERIFY(QDir().mkpath(screenshotDir()));
        QTest::qWait(50);
        QVERIFY(captureWindow(wizard).save(screenshotDir() + "/training-data-page.png"));
        wizard.next();
        TargetsPage* targets = wizard.targetsPage();
        targets->setModelDir(tmk::test::tinyModelDir());
        targets->setBankDir(fixture.bankDir);
        targets->setRunsRoot(fixture.runsRoot);
        targets->checkBox("energy", tmk::AdapterSide::Positive)->setChecked(true);
        targets->checkBox("danceability", tmk::AdapterSide::Positive)->setChecked(true);
        QTest::qWait(50);
        QVERIFY(captureWindow(wizard).save(screenshotDir() + "/training-targets-page.png"));
        wizard.next();
        SettingsPage* settings = wizard.settingsPage();
        settings->setSteps(40);
        settings->setBatchSize(2);
        settings->setEvalEvery(4);
        settings->setCheckpointEvery(10);
        settings->setWindowSeconds(1.0);
        settings->setLoraRank(4);
        settings->setAdvancedVisible(true);
        QTest::qWait(50);
        QVERIFY(captureWindow(wizard).save(screenshotDir() + "/training-settings-page.png"));

        // Capture while the second adapter is half-way: curves, both progress bars and the ETA are live.
        RunMonitor* monitor = wizard.runPage()->monitor();
        const QString path = screenshotDir() + "/training-run-page.png";
        QFile::remove(path);
        bool captured = false;
        connect(&wizard.bridge(), &TrainingBridge::logEntry, this, [&](int index, const tmk::TrainLogEntry& entry) {
            if (captured || index != 1 || entry.step < 20) return;
            captured = true;
            // Let the charts lay out the points that just arrived and paint them, so that all four plots
            // and the bars show the same moment.
            QCoreApplication::processEvents();
            wizard.repaint();
            QCoreApplication::processEvents();
            captureWindow(wizard).save(path);
        });
        QSignalSpy finished(&wizard.bridge(), &TrainingBridge::runFinished);
        wizard.next();
        QVERIFY(finished.wait(60'000));
        QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Finished);
        QVERIFY(captured);
        QVERIFY(monitor->charts()->pointCount("loss", "train") > 0);

        const QString shotProblem = tmk::test::screenshotProblem(path);
        QVERIFY2(shotProblem.isEmpty(), qPrintable(shotProblem));
        qInfo("screenshot: %s", qPrintable(path));
    }
};

TM_QTEST_MAIN(tmk::test::runOnXvfb<TestTrainingScreenshot>);

#include "test_training_screenshot.moc"
