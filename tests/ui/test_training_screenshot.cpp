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
#include "widgets/theme.h"

using namespace tmk::ui;

namespace {

// The window as the X server shows it (falls back to rendering the widget).
QPixmap captureWindow(QWidget& window)
{
    window.repaint();
    QPixmap shot = window.screen()->grabWindow(window.winId());
    return shot.isNull() ? window.grab() : shot;
}

QString screenshotDir()
{
    return tmk::test::testOutDir() + "/screenshots";
}

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

        const QImage image(path);
        QVERIFY2(!image.isNull(), qPrintable(path));
        QVERIFY(image.width() >= 1000 && image.height() >= 700);
        // Not a blank frame: many distinct colours (text, plots, bars).
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 4)
            for (int x = 0; x < image.width(); x += 4) colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 20, qPrintable(QString("only %1 colours").arg(colours.size())));
        qInfo("screenshot: %s", qPrintable(path));
    }
};

int runTrainingScreenshot(int argc, char** argv)
{
    // ctest sets QT_QPA_PLATFORM=offscreen; this test wants the real X server that with-test-env.sh started.
    const QByteArray display = qgetenv("TM_XVFB_DISPLAY");
    if (!display.isEmpty()) {
        qputenv("QT_QPA_PLATFORM", "xcb");
        qputenv("DISPLAY", display);
    }
    QApplication app(argc, argv);
    applyTheme(app);
    TestTrainingScreenshot test;
    return QTest::qExec(&test, argc, argv);
}
TM_QTEST_MAIN(runTrainingScreenshot);

#include "test_training_screenshot.moc"
