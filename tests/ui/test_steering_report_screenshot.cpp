// An Xvfb screenshot of the steering report view (Steering ▸ Steering report…), captured from the X server into
// build/test-out/screenshots/steering-report.png. It shows the bundled bank's report
// (models/demo-bank/steering-report) when the source tree has one, else a report made from synthetic clips
// (steering_report_fixture.h; its header says so). Runs on the display that packaging/with-test-env.sh starts
// (TM_XVFB_DISPLAY); skips with a message without one.
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTest>

#include "app_test_support.h"
#include "engine_bridge.h"
#include "qtest_registry.h"
#include "steering/steering_report_view.h"
#include "steering/steering_report_widgets.h"
#include "steering_report_fixture.h"

using namespace tmk::ui;

namespace {

QString testOut()
{
    return qEnvironmentVariable("TM_TEST_OUT", QDir::tempPath());
}

// The bundled bank's report when the source tree has one, else the synthetic one written under TM_TEST_OUT.
QString reportToShow()
{
    const QString bundled = qEnvironmentVariable("TM_SOURCE_DIR", ".") + "/models/demo-bank/steering-report";
    if (QFileInfo::exists(bundled + "/report.json")) return bundled;
    const QString dir = testOut() + "/ui-steering-report-screenshot";
    QDir(dir).removeRecursively();
    return tmk::test::writeSyntheticSteeringReport(dir).isEmpty() ? dir : QString();
}

} // namespace

class TestSteeringReportScreenshot : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void reportViewScreenshot()
    {
        if (QGuiApplication::platformName() != "xcb")
            QSKIP(
                "No Xvfb display (TM_XVFB_DISPLAY is unset): run under packaging/with-test-env.sh for the screenshot.");
        tmk::test::isolateSettings("TastemakerTest-steering-screenshot");
        const QString report = reportToShow();
        QVERIFY(!report.isEmpty());

        EngineBridge bridge(tmk::test::bridgeOptions(testOut() + "/ui-steering-report-screenshot-clips"));
        SteeringReportView view(bridge);
        view.resize(1280, 860);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QVERIFY2(view.openReport(report), qPrintable(view.errorText()));
        view.selectSlider("energy");
        QVERIFY(view.chart()->seriesCount() == 3);

        QVERIFY(QDir().mkpath(tmk::test::screenshotDir()));
        const QString path = tmk::test::screenshotDir() + "/steering-report.png";
        QFile::remove(path);
        QTest::qWait(100); // let the chart lay out and paint
        QVERIFY(tmk::test::captureWindow(view).save(path));

        const QString problem = tmk::test::screenshotProblem(path);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        qInfo("screenshot: %s", qPrintable(path));
    }
};

TM_QTEST_MAIN(tmk::test::runOnXvfb<TestSteeringReportScreenshot>);

#include "test_steering_report_screenshot.moc"
