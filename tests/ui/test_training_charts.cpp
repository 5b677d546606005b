// The training wizard's curve widgets without training: CurveCharts (series per split, CSV and PNG
// export, errors naming the file), LatestValuesTable (eval values folded onto their metric), the ETA
// text, and the runs dialog on a folder without runs.
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QPushButton>
#include <QStandardPaths>
#include <QTest>

#include "qtest_registry.h"
#include "training/run_monitor.h"
#include "training/runs_dialog.h"
#include "training/training_charts.h"

using namespace tmk::ui;

namespace {

tmk::TrainLogEntry entry(int64_t step, const std::string& split, std::vector<std::pair<std::string, double>> values)
{
    tmk::TrainLogEntry e;
    e.step = step;
    e.epoch = static_cast<double>(step) / 4.0;
    e.split = split;
    e.values = std::move(values);
    return e;
}

QString outDir()
{
    const QString dir = qEnvironmentVariable("TM_TEST_OUT", QDir::tempPath()) + "/ui-training-charts";
    QDir(dir).removeRecursively();
    QDir().mkpath(dir);
    return dir;
}

} // namespace

class TestTrainingCharts : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void chartsSplitTrainAndEval()
    {
        CurveCharts charts;
        QCOMPARE(CurveCharts::plottedMetrics().size(), 4);
        charts.addEntry(entry(1, "train",
            { { "loss", 0.69 }, { "rewards/accuracies", 0.5 }, { "learning_rate", 1e-4 }, { "grad_norm", 3.0 } }));
        charts.addEntry(entry(2, "train", { { "loss", 0.60 }, { "rewards/margins", 0.1 }, { "learning_rate", 2e-4 } }));
        charts.addEntry(entry(2, "eval", { { "eval_loss", 0.65 }, { "eval_rewards/accuracies", 0.75 } }));
        QCOMPARE(charts.pointCount("loss", "train"), 2);
        QCOMPARE(charts.pointCount("loss", "eval"), 1);
        QCOMPARE(charts.pointCount("rewards/accuracies", "eval"), 1);
        QCOMPARE(charts.pointCount("rewards/margins", "train"), 1);
        QCOMPARE(charts.pointCount("learning_rate", "train"), 2);
        QVERIFY(charts.series("learning_rate", "eval") == nullptr); // the trainer logs no eval learning rate
        QVERIFY(charts.series("grad_norm", "train") == nullptr); // not plotted, but in the CSV
        // A NaN is kept in the data but not drawn.
        charts.addEntry(entry(3, "train", { { "loss", std::nan("") } }));
        QCOMPARE(charts.pointCount("loss", "train"), 2);
        QCOMPARE(int(charts.entries().size()), 4);

        charts.setEntries({ entry(5, "train", { { "loss", 0.5 } }) });
        QCOMPARE(charts.pointCount("loss", "train"), 1);
        QCOMPARE(charts.pointCount("loss", "eval"), 0);
        charts.clear();
        QCOMPARE(charts.pointCount("loss", "train"), 0);
    }

    void csvAndPngExport()
    {
        CurveCharts charts;
        charts.resize(800, 600);
        charts.addEntry(entry(1, "train", { { "loss", 0.5 }, { "learning_rate", 0.001 } }));
        charts.addEntry(entry(1, "eval", { { "eval_loss", 0.25 } }));
        QCOMPARE(charts.toCsv(),
            QString("step,epoch,split,loss,learning_rate,eval_loss\n"
                    "1,0.25,train,0.5,0.001,\n"
                    "1,0.25,eval,,,0.25\n"));
        const QString dir = outDir();
        QVERIFY(charts.exportCsv(dir + "/curves.csv").ok());
        QFile csv(dir + "/curves.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(csv.readAll()), charts.toCsv());
        QVERIFY(charts.exportPng(dir + "/curves.png").ok());
        const QImage png(dir + "/curves.png");
        QCOMPARE(png.size(), QSize(800, 600));

        const QString unwritable = dir + "/no-such-folder/curves.csv";
        tmk::Expected<void> failed = charts.exportCsv(unwritable);
        QVERIFY(!failed.ok());
        QVERIFY2(QString::fromStdString(failed.error().message).contains(unwritable), failed.error().message.c_str());
    }

    void latestValuesFoldEvalNames()
    {
        LatestValuesTable table;
        table.addEntry(entry(4, "train", { { "loss", 0.5 }, { "learning_rate", 5e-4 } }));
        table.addEntry(entry(4, "eval", { { "eval_loss", 0.6 } }));
        table.addEntry(entry(5, "train", { { "loss", 0.25 } }));
        QCOMPARE(table.rowCount(), 2); // loss, learning_rate
        QCOMPARE(table.valueText("loss", "train"), QString("0.2500"));
        QCOMPARE(table.valueText("loss", "eval"), QString("0.6000"));
        QCOMPARE(table.valueText("learning_rate", "train"), QString("5.00e-04"));
        QCOMPARE(table.valueText("learning_rate", "eval"), QString());
        QCOMPARE(table.item(0, 3)->text(), QString("5 / 4")); // train step / eval step
        table.reset();
        QCOMPARE(table.rowCount(), 0);
    }

    void etaText()
    {
        QCOMPARE(EtaEstimator::format(std::nullopt), QString("ETA –"));
        QCOMPARE(EtaEstimator::format(65.0), QString("ETA 1:05"));
        QCOMPARE(EtaEstimator::format(3723.0), QString("ETA 1:02:03"));
        EtaEstimator eta;
        QVERIFY(!eta.secondsLeft());
        eta.update(0.5);
        QVERIFY(!eta.secondsLeft()); // no progress measured yet
    }

    void runsDialogWithoutRuns()
    {
        const QString dir = outDir();
        RunsDialog dialog(dir);
        QVERIFY(dialog.runs().empty());
        QVERIFY(!dialog.resumeButton()->isEnabled());
        QVERIFY(!dialog.selectedRun());
        bool saidSo = false;
        for (QLabel* label : dialog.findChildren<QLabel*>()) saidSo |= label->text().startsWith("No training runs");
        QVERIFY(saidSo);
    }
};

TM_QTEST(TestTrainingCharts);
#include "test_training_charts.moc"
