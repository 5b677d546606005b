// The steering report view (Steering ▸ Steering report…, ui/steering/): a report written from synthetic clips shows
// its sliders, which targets each meets, the chart's series and the interference matrix; a malformed report.json
// shows an error naming the file and leaves the view usable; the bank's own report is found; and on the tiny public
// model and its fixture bank a run (1 slider, 1 seed, 1 prompt, values -1 and 1, 0.5 s clips) completes and shows
// its report, while a cancelled run leaves the app usable and a second run into its folder continues it. No
// assertion depends on the machine's speed.
#include <future>

#include <QAction>
#include <QAreaSeries>
#include <QChart>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QSettings>
#include <QSignalSpy>
#include <QTest>

#include "app_test_support.h"
#include "engine_bridge.h"
#include "mainwindow.h"
#include "qtest_registry.h"
#include "steering/steering_menu.h"
#include "steering/steering_report_view.h"
#include "steering/steering_report_widgets.h"
#include "steering/steering_run_dialog.h"
#include "steering_report_fixture.h"
#include "tastemaker/runtime.h"

using namespace tmk::ui;

namespace {

constexpr int kRunTimeoutMs = 600'000; // generous: the tests never depend on the machine's speed

QString cellText(const QTableWidget* table, int row, int column)
{
    const QTableWidgetItem* item = table->item(row, column);
    return item ? item->text() : QString();
}

int columnIndex(const std::string& name)
{
    const std::vector<std::string>& columns = tmk::steeringColumns();
    return static_cast<int>(std::find(columns.begin(), columns.end(), name) - columns.begin());
}

// The tiny run the brief asks for: energy only, 1 seed, 1 prompt, values -1 and 1, 0.5 s clips.
SteeringRunRequest tinyRequest(const QString& outDir)
{
    SteeringRunRequest request;
    request.params.sliders = { "energy" };
    request.params.prompts = { "jazz" };
    request.params.seeds = 1;
    request.params.values = { -1.0, 1.0 };
    request.params.durationSeconds = 0.5;
    request.params.bootstrapResamples = 200;
    request.outDir = outDir;
    return request;
}

} // namespace

class TestSteeringReportView : public QObject {
    Q_OBJECT

private:
    QString m_reportDir;

    // A main window on the tiny public model with its fixture bank open.
    struct App {
        EngineBridge bridge;
        MainWindow window;
        explicit App(const QString& library)
            : bridge(tmk::test::bridgeOptions(library))
            , window(bridge, MainWindowOptions { tmk::test::defaultModelDir(), {}, false })
        {
            window.openInitial(tmk::test::fixtureModelDir(), tmk::test::fixtureBankDir());
        }
        bool ready()
        {
            return tmk::test::waitForModel(bridge) && QTest::qWaitFor([&] { return bridge.bank() != nullptr; });
        }
        SteeringReportView* openView()
        {
            auto* menu = window.findChild<SteeringMenu*>();
            if (!menu) return nullptr;
            menu->reportAction()->trigger();
            return menu->reportView();
        }
    };

private Q_SLOTS:
    void initTestCase()
    {
        tmk::test::isolateSettings("TastemakerTest-steering-report");
        tmk::initRuntime(1);
        m_reportDir = tmk::test::freshOutDir("ui-steering-report/synthetic");
        const QString problem = tmk::test::writeSyntheticSteeringReport(m_reportDir);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }

    void showsTheSlidersTargetsChartAndMatrix()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(tmk::test::freshOutDir("ui-steering-report/clips-show")));
        SteeringReportView view(bridge);
        view.show();
        QVERIFY(view.openReport(m_reportDir));
        QVERIFY(view.errorText().isEmpty());
        QVERIFY(view.findChild<QLabel*>("steeringReportSource")->text().contains("synthetic-fixture"));

        const tmk::SteeringReport& report = *view.report();
        SteeringSliderTable* table = view.sliderTable();
        QCOMPARE(table->rowCount(), 3);
        QCOMPARE(table->metricAt(0), QString("energy"));
        QCOMPARE(table->metricAt(1), QString("tempo"));
        QCOMPARE(table->metricAt(2), QString("popularity"));
        QCOMPARE(cellText(table, 0, SteeringSliderTable::SliderColumn), QString("Energy"));
        QCOMPARE(cellText(table, 0, SteeringSliderTable::ClipsColumn), QString("60"));
        // energy meets every target; its figures are shown with their intervals.
        QVERIFY(tmk::steeringTargets(report.sliders[0]).allMet());
        QCOMPARE(cellText(table, 0, SteeringSliderTable::TargetsColumn), QString("✓ all met"));
        QVERIFY(cellText(table, 0, SteeringSliderTable::DifferenceColumn).contains('['));
        QVERIFY(cellText(table, 0, SteeringSliderTable::EffectColumn).contains('['));
        // tempo misses Spearman (a weak effect in much noise).
        QCOMPARE(tmk::steeringTargets(report.sliders[1]).spearman, tmk::TargetResult::Missed);
        QVERIFY(cellText(table, 1, SteeringSliderTable::TargetsColumn).startsWith("✗ missed"));
        QVERIFY(cellText(table, 1, SteeringSliderTable::TargetsColumn).contains("Spearman"));
        QVERIFY(cellText(table, 1, SteeringSliderTable::DifferenceColumn).contains("BPM"));
        // popularity is latent: no on-target figure is invented.
        for (int column : { SteeringSliderTable::DifferenceColumn, SteeringSliderTable::EffectColumn,
                 SteeringSliderTable::SpearmanColumn, SteeringSliderTable::InterferenceColumn,
                 SteeringSliderTable::TargetsColumn })
            QCOMPARE(cellText(table, 2, column), QString("not measurable"));

        // The chart starts on energy: the mean per value over its band, and every clip.
        SteeringCurveChart* chart = view.chart();
        QCOMPARE(table->currentRow(), 0);
        QCOMPARE(chart->seriesCount(), 3);
        QCOMPARE(chart->meanSeries()->count(), 5);
        QCOMPARE(chart->bandSeries()->upperSeries()->count(), 5);
        QCOMPARE(chart->bandSeries()->lowerSeries()->count(), 5);
        QCOMPARE(chart->clipSeries()->count(), 60);
        QVERIFY(chart->meanSeries()->at(0).y() < chart->meanSeries()->at(4).y());
        QVERIFY(chart->bandSeries()->lowerSeries()->at(4).y() <= chart->meanSeries()->at(4).y());
        view.selectSlider("tempo");
        QCOMPARE(chart->seriesCount(), 3);
        QCOMPARE(chart->clipSeries()->count(), 60);
        view.selectSlider("popularity");
        QCOMPARE(chart->seriesCount(), 0);
        QVERIFY(chart->chart()->title().contains("not measurable"));

        // The interference matrix: rows the sliders, columns the measured metrics.
        InterferenceTable* matrix = view.interferenceTable();
        QCOMPARE(matrix->rowCount(), 3);
        QCOMPARE(matrix->columnCount(), int(tmk::steeringColumns().size()));
        QCOMPARE(matrix->verticalHeaderItem(2)->text(), QString("Popularity"));
        const int energy = columnIndex("energy"), mode = columnIndex("mode"), dance = columnIndex("danceability");
        QCOMPARE(matrix->horizontalHeaderItem(energy)->text(), QString("Energy"));
        QCOMPARE(matrix->horizontalHeaderItem(columnIndex("loudness"))->text(), QString("Loudness")); // no slider's
        QTableWidgetItem* onTarget = matrix->item(0, energy);
        QVERIFY(onTarget->text().startsWith('+'));
        QVERIFY(onTarget->font().bold());
        QVERIFY(onTarget->background().color().red() > onTarget->background().color().blue()); // red: up
        QCOMPARE(matrix->item(0, mode)->text(), QString("–")); // mode never changes: undefined
        QVERIFY(!matrix->item(0, dance)->font().bold());
        QVERIFY(matrix->item(2, dance)->text().startsWith('+')); // popularity moves danceability
    }

    void malformedReportShowsAnErrorAndNoCrash()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(tmk::test::freshOutDir("ui-steering-report/clips-bad")));
        SteeringReportView view(bridge);
        view.show();
        const QString bad = tmk::test::freshOutDir("ui-steering-report/malformed");
        QFile file(bad + "/report.json");
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("{ \"format\": \"tastemaker-steering-report\", \"sliders\": [");
        file.close();
        QVERIFY(!view.openReport(bad));
        QVERIFY2(view.errorText().contains(bad + "/report.json"), qPrintable(view.errorText()));
        QVERIFY2(view.errorText().contains("not valid JSON"), qPrintable(view.errorText()));
        QVERIFY(!view.report());
        QVERIFY(view.findChild<QLabel*>("steeringReportPlaceholder")->isVisible());

        // A well-formed report opens after it, and an error then keeps it shown.
        QVERIFY(view.openReport(m_reportDir));
        QVERIFY(view.errorText().isEmpty());
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write("{ \"format\": \"tastemaker-steering-report\", \"version\": 1, \"model\": 3 }");
        file.close();
        QVERIFY(!view.openReport(bad));
        QVERIFY2(view.errorText().contains("\"model\" has the wrong type"), qPrintable(view.errorText()));
        QCOMPARE(view.reportDir(), m_reportDir);
        QCOMPARE(view.sliderTable()->rowCount(), 3);
        QVERIFY(!view.openReport(bad + "/missing"));
        QVERIFY(view.errorText().contains("missing/report.json"));
    }

    void findsTheBanksOwnReport()
    {
        const QString bank = tmk::test::freshOutDir("ui-steering-report/bank");
        QCOMPARE(SteeringReportView::bankReportDir(bank), QString());
        const QString problem = tmk::test::writeSyntheticSteeringReport(bank + "/steering-report");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QCOMPARE(SteeringReportView::bankReportDir(bank), QDir(bank).filePath("steering-report"));
    }

    void runDialogDefaults()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(tmk::test::freshOutDir("ui-steering-report/clips-dialog")));
        auto bank = tmk::readBankSummary(tmk::test::fixtureBankDir().toStdString(), bridge.metrics());
        QVERIFY(bank);
        SteeringRunDialog dialog(*bank, bridge.metrics());
        QCOMPARE(dialog.sliderList()->count(), 13); // every slider the fixture bank has both adapters of
        const SteeringRunRequest request = dialog.request();
        QCOMPARE(request.params.sliders.size(), size_t(13));
        QCOMPARE(request.params.seeds, int64_t(16));
        QCOMPARE(request.params.prompts, tmk::defaultSteeringPrompts());
        QCOMPARE(request.params.values, (std::vector<double> { -1, -0.5, 0, 0.5, 1 }));
        QVERIFY(dialog.problem().isEmpty());
        QVERIFY(dialog.findChild<QLabel*>("steeringRunSummary")->text().contains("hours on a CPU"));
        dialog.valuesEdit()->setText("-1, x");
        QVERIFY(!dialog.problem().isEmpty());
        dialog.valuesEdit()->setText("1");
        QVERIFY(dialog.problem().contains("two slider values"));
    }

    void runsAReportOnTheTinyModel()
    {
        App app(tmk::test::freshOutDir("ui-steering-report/clips-run"));
        QVERIFY(app.ready());
        app.bridge.setSliders({ { "tempo", 0.4 } });
        QTRY_VERIFY(app.bridge.mergedSliders().count("tempo") == 1);
        QSettings().setValue("steering/lastReportDir", m_reportDir);
        SteeringReportView* view = app.openView();
        QVERIFY(view);
        QVERIFY(view->isVisible());
        QCOMPARE(view->reportDir(), m_reportDir); // the fixture bank ships no report: the last one opened shows
        QVERIFY(view->runButton()->isEnabled());

        const QString out = tmk::test::freshOutDir("ui-steering-report/run");
        QSignalSpy finished(view->runner(), &SteeringReportRunner::finished);
        QSignalSpy progress(view->runner(), &SteeringReportRunner::progress);
        QVERIFY(view->startRun(tinyRequest(out)));
        QVERIFY(view->running());
        QVERIFY(!view->runButton()->isEnabled());
        QVERIFY(view->progressBar()->isVisible());
        QVERIFY(finished.wait(kRunTimeoutMs));
        QCOMPARE(finished.first().at(0).value<SteeringRunOutcome>(), SteeringRunOutcome::Finished);
        QVERIFY2(view->errorText().isEmpty(), qPrintable(view->errorText()));
        QVERIFY(progress.count() >= 1);
        QCOMPARE(progress.last().at(0).toLongLong(), qint64(2));
        QCOMPARE(progress.last().at(1).toLongLong(), qint64(2));

        QCOMPARE(view->reportDir(), out);
        QVERIFY(view->report());
        QCOMPARE(view->report()->clipsDone, int64_t(2));
        QVERIFY(view->report()->complete);
        QCOMPARE(view->sliderTable()->rowCount(), 1);
        QCOMPARE(view->sliderTable()->metricAt(0), QString("energy"));
        QCOMPARE(view->interferenceTable()->rowCount(), 1);
        QCOMPARE(view->chart()->clipSeries()->count(), 2);
        for (const char* name : { "report.json", "report.csv", "interference.csv", "interference.png" })
            QVERIFY2(QFile::exists(out + "/" + name), name);
        QVERIFY(!view->progressBar()->isVisible());
        QVERIFY(view->runButton()->isEnabled());
        // The engine is free again, and the user's slider values are merged back into the model.
        QVERIFY(tmk::test::waitIdle(app.bridge));
        QCOMPARE(app.bridge.mergedSliders().at("tempo"), 0.4);
        tmk::SliderValues merged;
        app.bridge.post([&]() { merged = app.bridge.workerSteering()->current(); });
        QVERIFY(tmk::test::waitIdle(app.bridge));
        QCOMPARE(merged.count("tempo"), size_t(1));
        QCOMPARE(merged.at("tempo"), 0.4);
    }

    void cancelLeavesTheAppUsable()
    {
        App app(tmk::test::freshOutDir("ui-steering-report/clips-cancel"));
        QVERIFY(app.ready());
        SteeringReportView* view = app.openView();
        QVERIFY(view);

        // Cancelled before its first clip (a job ahead of it holds the worker until the cancel): no report.
        std::promise<void> gate;
        std::shared_future<void> open = gate.get_future().share();
        app.bridge.post([open]() { open.wait(); });
        QSignalSpy finished(view->runner(), &SteeringReportRunner::finished);
        const QString first = tmk::test::freshOutDir("ui-steering-report/cancel-first");
        QVERIFY(view->startRun(tinyRequest(first)));
        view->cancelRun();
        QVERIFY(!view->cancelButton()->isEnabled());
        gate.set_value();
        QVERIFY(finished.wait(kRunTimeoutMs));
        QCOMPARE(finished.first().at(0).value<SteeringRunOutcome>(), SteeringRunOutcome::Cancelled);
        QVERIFY(finished.first().at(1).toString().isEmpty());
        QVERIFY(!QFile::exists(first + "/report.json"));
        QVERIFY(view->statusText().contains("no report was written"));
        QVERIFY(!view->running());

        // Cancelled after its first generation: the report covers what was done (or, on a machine fast enough to
        // finish first, the whole run); either way it shows, and the engine is free.
        SteeringRunRequest longer = tinyRequest(tmk::test::freshOutDir("ui-steering-report/cancel-during"));
        longer.params.sliders = { "energy", "tempo" };
        longer.params.seeds = 4;
        finished.clear();
        QSignalSpy progress(view->runner(), &SteeringReportRunner::progress);
        QVERIFY(view->startRun(longer));
        QVERIFY(progress.wait(kRunTimeoutMs));
        view->cancelRun();
        QVERIFY(finished.count() == 1 || finished.wait(kRunTimeoutMs));
        const auto outcome = finished.first().at(0).value<SteeringRunOutcome>();
        QVERIFY(outcome == SteeringRunOutcome::Cancelled || outcome == SteeringRunOutcome::Finished);
        QVERIFY(view->report());
        QCOMPARE(view->reportDir(), longer.outDir);
        QCOMPARE(view->report()->complete, outcome == SteeringRunOutcome::Finished);
        QVERIFY(view->report()->clipsDone >= 1);
        if (outcome == SteeringRunOutcome::Cancelled)
            QVERIFY(view->findChild<QLabel*>("steeringReportSource")->text().contains("incomplete"));

        // Run again into that folder: the report is continued to the end.
        QVERIFY(tmk::test::waitIdle(app.bridge));
        finished.clear();
        QVERIFY(view->startRun(longer));
        QVERIFY(finished.wait(kRunTimeoutMs));
        QCOMPARE(finished.first().at(0).value<SteeringRunOutcome>(), SteeringRunOutcome::Finished);
        QVERIFY(view->report());
        QVERIFY(view->report()->complete);
        QCOMPARE(view->report()->clipsDone, int64_t(16)); // 2 sliders x 2 values x 4 seeds x 1 prompt
        // A run with other settings into it is refused, naming the folder and the difference; the report stays.
        QFile reportFile(longer.outDir + "/report.json");
        QVERIFY(reportFile.open(QIODevice::ReadOnly));
        const QByteArray kept = reportFile.readAll();
        reportFile.close();
        SteeringRunRequest other = longer;
        other.params.prompts = { "folk" };
        finished.clear();
        QVERIFY(view->startRun(other));
        QVERIFY(finished.wait(kRunTimeoutMs));
        QCOMPARE(finished.first().at(0).value<SteeringRunOutcome>(), SteeringRunOutcome::Failed);
        const QString refused = finished.first().at(2).toString();
        QVERIFY2(
            refused.contains("already holds a steering report") && refused.contains("prompts"), qPrintable(refused));
        QVERIFY(reportFile.open(QIODevice::ReadOnly));
        QCOMPARE(reportFile.readAll(), kept);
        reportFile.close();

        // The app is usable: the engine is idle, and the next run goes through.
        QVERIFY(tmk::test::waitIdle(app.bridge));
        QVERIFY(view->runButton()->isEnabled());
        finished.clear();
        QVERIFY(view->startRun(tinyRequest(tmk::test::freshOutDir("ui-steering-report/cancel-after"))));
        QVERIFY(finished.wait(kRunTimeoutMs));
        QCOMPARE(finished.first().at(0).value<SteeringRunOutcome>(), SteeringRunOutcome::Finished);
    }
};

TM_QTEST(TestSteeringReportView);

#include "test_steering_report_view.moc"
