// The training wizard end to end (offscreen) on the public tiny model and a synthetic dataset made at run
// time: the pages validate their inputs, a run trains and registers its adapter, the charts receive
// points, the new adapter's slider becomes active, and a cancelled run is listed by Training ▸ Resume…
// and finished by resuming it.
#include <filesystem>

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QMainWindow>
#include <QMenuBar>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTest>

#include "engine_bridge.h"
#include "qtest_registry.h"
#include "training/data_page.h"
#include "training/run_monitor.h"
#include "training/run_page.h"
#include "training/runs_dialog.h"
#include "training/settings_page.h"
#include "training/targets_page.h"
#include "training/training_bridge.h"
#include "training/training_charts.h"
#include "training/training_menu.h"
#include "training/training_wizard.h"
#include "training_fixture.h"
#include "widgets/bipolar_slider.h"
#include "widgets/slider_panel.h"

using namespace tmk::ui;
namespace fs = std::filesystem;

namespace {

constexpr int kRunTimeoutMs = 60'000;

int metricRow(const QTableWidget* table, const QString& metric)
{
    for (int row = 0; row < table->rowCount(); ++row)
        if (table->item(row, 0) && table->item(row, 0)->data(Qt::UserRole).toString() == metric) return row;
    return -1;
}

} // namespace

class TestTrainingWizard : public QObject {
    Q_OBJECT

private:
    tmk::test::TrainingFixture m_fixture;
    std::unique_ptr<EngineBridge> m_bridge;
    std::unique_ptr<QMainWindow> m_window;
    SliderPanel* m_sliders = nullptr;
    TrainingMenu* m_menu = nullptr;
    QString m_firstRunDir;

    TrainingWizard* openNewWizard()
    {
        m_menu->newFineTuneAction()->trigger();
        TrainingWizard* wizard = m_menu->wizard();
        if (wizard) (void)QTest::qWaitForWindowExposed(wizard);
        return wizard;
    }

    bool nextEnabled(TrainingWizard* wizard) const
    {
        QAbstractButton* next
            = wizard->button(wizard->currentPage()->isCommitPage() ? QWizard::CommitButton : QWizard::NextButton);
        return next && next->isEnabled();
    }

    // Fills the data page with the fixture and previews it.
    void previewFixture(TrainingWizard* wizard)
    {
        DataPage* data = wizard->dataPage();
        data->setTracksCsv(m_fixture.tracksCsv);
        data->setYoutubeCsv(QString());
        data->setAudioDir(m_fixture.audioDir);
        data->setRatingColumn(QString());
        QVERIFY(data->previewButton()->isEnabled());
        QTest::mouseClick(data->previewButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(data->previewOk(), 20'000);
    }

    // Settings for a short run on the fixture.
    void shortSettings(SettingsPage* settings, int steps)
    {
        settings->setSteps(steps);
        settings->setBatchSize(2);
        settings->setEvalEvery(3);
        settings->setCheckpointEvery(3);
        settings->setWindowSeconds(1.0);
        settings->setLoraRank(4);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("TastemakerTest");
        QCoreApplication::setApplicationName("TestTrainingWizard");
        const QString root = tmk::test::testOutDir() + "/ui-training-wizard";
        const QString problem = tmk::test::makeTrainingFixture(root, 20, m_fixture);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QSettings().setValue("training/runsRoot", m_fixture.runsRoot);

        EngineBridgeOptions options;
        options.libraryDir = root + "/clips";
        options.openAudio = false;
        m_bridge = std::make_unique<EngineBridge>(options);
        QSignalSpy failed(m_bridge.get(), &EngineBridge::jobFailed);
        QSignalSpy modelLoaded(m_bridge.get(), &EngineBridge::modelLoaded);
        m_bridge->loadModel(tmk::test::tinyModelDir(), tmk::ModelOptions {});
        QVERIFY(modelLoaded.wait(30'000));
        QSignalSpy bankLoaded(m_bridge.get(), &EngineBridge::bankLoaded);
        m_bridge->loadBank(m_fixture.bankDir);
        QVERIFY(bankLoaded.wait(30'000));
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(1).toString()));
        QVERIFY(m_bridge->bank() != nullptr);

        m_window = std::make_unique<QMainWindow>();
        m_sliders = new SliderPanel(m_bridge->metrics(), m_window.get());
        m_window->setCentralWidget(m_sliders);
        m_sliders->setBank(m_bridge->bank());
        m_menu = new TrainingMenu(m_window->menuBar(), *m_bridge, m_sliders, m_window.get());
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        // An empty bank: the energy slider is disabled until training registers an adapter.
        QVERIFY(!m_sliders->slider("energy")->isAvailable());
    }

    void menuHasEntries()
    {
        QCOMPARE(m_menu->menu()->title(), QString("&Training"));
        QVERIFY(m_window->findChild<QAction*>("actionNewFineTune") != nullptr);
        QVERIFY(m_window->findChild<QAction*>("actionResumeTraining") != nullptr);

        // In a window with a Help menu, Training goes before it.
        QMainWindow window;
        window.menuBar()->addMenu("&File");
        window.menuBar()->addMenu("&Help");
        TrainingMenu menu(window.menuBar(), *m_bridge, nullptr, &window);
        QStringList titles;
        for (QAction* action : window.menuBar()->actions()) titles << action->text();
        QCOMPARE(titles, QStringList({ "&File", "&Training", "&Help" }));
    }

    void previewShowsTheBuildersError()
    {
        TrainingWizard* wizard = openNewWizard();
        QVERIFY(wizard != nullptr);
        const QString bad = m_fixture.root + "/bad-header.csv";
        QFile file(bad);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("id,name,genre\n1,a,rock\n");
        file.close();
        DataPage* data = wizard->dataPage();
        data->setTracksCsv(bad);
        data->setAudioDir(m_fixture.audioDir);
        QSignalSpy failed(&wizard->bridge(), &TrainingBridge::previewFailed);
        data->startPreview();
        QVERIFY(failed.wait(20'000));
        QVERIFY2(data->messageText().contains("bad-header.csv"), qPrintable(data->messageText()));
        QVERIFY(!data->previewOk());
        QVERIFY(!nextEnabled(wizard));
    }

    void dataPageValidatesInputs()
    {
        TrainingWizard* wizard = openNewWizard();
        QVERIFY(wizard != nullptr);
        QCOMPARE(wizard->currentId(), int(TrainingWizard::DataPageId));
        DataPage* data = wizard->dataPage();

        data->setTracksCsv(QString());
        data->setAudioDir(QString());
        QVERIFY(!data->previewButton()->isEnabled());
        QVERIFY(!nextEnabled(wizard));
        QVERIFY2(data->messageText().contains("tracks CSV"), qPrintable(data->messageText()));

        data->setTracksCsv(m_fixture.root + "/missing.csv");
        QVERIFY(!data->previewButton()->isEnabled());
        QVERIFY2(data->messageText().contains("does not exist"), qPrintable(data->messageText()));

        data->setTracksCsv(m_fixture.tracksCsv);
        QVERIFY(!data->previewButton()->isEnabled()); // no audio folder yet
        QVERIFY2(data->messageText().contains("audio folder"), qPrintable(data->messageText()));

        data->setAudioDir(m_fixture.audioDir);
        QVERIFY(data->previewButton()->isEnabled());
        QVERIFY(!nextEnabled(wizard)); // not before a preview

        previewFixture(wizard);
        QVERIFY(nextEnabled(wizard));
        QVERIFY2(data->summaryText().contains("20 songs") && data->summaryText().contains("20 with audio"),
            qPrintable(data->summaryText()));
        QTableWidget* table = data->metricsTable();
        QCOMPARE(table->rowCount(), int(m_bridge->metrics().size()));
        const int energy = metricRow(table, "energy");
        QVERIFY(energy >= 0);
        QVERIFY(table->item(energy, 1)->text().toInt() > 0);
        const int views = metricRow(table, "view_count"); // a YouTube metric: no YouTube CSV given
        QVERIFY(views >= 0);
        QVERIFY2(table->item(views, 3)->text().startsWith("unavailable"), qPrintable(table->item(views, 3)->text()));

        // Editing an input makes the preview stale: Next is disabled again until the inputs match it.
        data->setRatingColumn("my_rating");
        QVERIFY(!nextEnabled(wizard));
        data->setRatingColumn(QString());
        QVERIFY(nextEnabled(wizard));
    }

    void targetsPageValidates()
    {
        TrainingWizard* wizard = m_menu->wizard();
        QVERIFY(wizard);
        wizard->next();
        QCOMPARE(wizard->currentId(), int(TrainingWizard::TargetsPageId));
        TargetsPage* targets = wizard->targetsPage();
        QCOMPARE(targets->modelDir(), m_bridge->modelDir()); // defaults to the app's model
        QCOMPARE(targets->bankDir(), m_bridge->bankDir());
        targets->setRunsRoot(m_fixture.runsRoot);

        QVERIFY(targets->selectedTargets().empty());
        QVERIFY(!nextEnabled(wizard));
        QVERIFY2(targets->messageText().contains("at least one"), qPrintable(targets->messageText()));

        QCheckBox* views = targets->checkBox("view_count", tmk::AdapterSide::Positive);
        QVERIFY(views && !views->isEnabled());
        QVERIFY2(!views->toolTip().isEmpty(), "an unavailable metric says why");
        QCheckBox* energyUp = targets->checkBox("energy", tmk::AdapterSide::Positive);
        QVERIFY(energyUp && energyUp->isEnabled());
        QVERIFY(!energyUp->text().contains("in bank"));
        energyUp->setChecked(true);
        QVERIFY(nextEnabled(wizard));

        targets->setModelDir(m_fixture.root); // not a model folder
        QVERIFY(!nextEnabled(wizard));
        QVERIFY2(targets->messageText().contains("config.json"), qPrintable(targets->messageText()));
        targets->setModelDir(m_bridge->modelDir());
        QVERIFY(nextEnabled(wizard));
    }

    void settingsPageValidates()
    {
        TrainingWizard* wizard = m_menu->wizard();
        wizard->next();
        QCOMPARE(wizard->currentId(), int(TrainingWizard::SettingsPageId));
        SettingsPage* settings = wizard->settingsPage();
        QVERIFY(settings->isCommitPage());
        QCOMPARE(wizard->button(QWizard::CommitButton)->text(), QString("Start training"));

        auto* loss = settings->findChild<QComboBox*>("lossType");
        auto* beta = settings->findChild<QWidget*>("beta");
        QVERIFY(loss && beta);
        QVERIFY(beta->isVisibleTo(settings));
        QVERIFY(!loss->isVisibleTo(settings)); // advanced: hidden by default
        settings->setAdvancedVisible(true);
        QVERIFY(loss->isVisibleTo(settings));
        QCOMPARE(loss->currentText(), QString("sigmoid"));

        auto* targets = settings->findChild<QLineEdit*>("loraTargets");
        QVERIFY(targets);
        const QString defaultTargets = targets->text();
        targets->setText(QString());
        QVERIFY(!settings->validatePage());
        QVERIFY2(settings->messageText().contains("target"), qPrintable(settings->messageText()));
        targets->setText(defaultTargets);
        settings->setAdvancedVisible(false);
        shortSettings(settings, 6);
        QVERIFY(settings->problem().isEmpty());
    }

    void runTrainsAndActivatesSlider()
    {
        TrainingWizard* wizard = m_menu->wizard();
        QSignalSpy finished(&wizard->bridge(), &TrainingBridge::runFinished);
        QSignalSpy entries(&wizard->bridge(), &TrainingBridge::logEntry);
        QSignalSpy bankLoaded(m_bridge.get(), &EngineBridge::bankLoaded);
        wizard->next(); // commit: the run starts
        QCOMPARE(wizard->currentId(), int(TrainingWizard::RunPageId));
        RunMonitor* monitor = wizard->runPage()->monitor();
        QVERIFY(wizard->bridge().running());
        QVERIFY(!wizard->button(QWizard::FinishButton)->isEnabled());

        QVERIFY(finished.wait(kRunTimeoutMs));
        const auto outcome = finished.first().at(0).value<RunOutcome>();
        QVERIFY2(outcome == RunOutcome::Finished, qPrintable(monitor->statusText() + "\n" + monitor->logText()));
        QVERIFY(wizard->button(QWizard::FinishButton)->isEnabled());
        QVERIFY(entries.count() >= 6);

        // The charts and the table got the logged values.
        CurveCharts* charts = monitor->charts();
        QCOMPARE(charts->pointCount("loss", "train"), 6);
        QVERIFY(charts->pointCount("loss", "eval") > 0);
        QVERIFY(charts->pointCount("rewards/accuracies", "train") > 0);
        QVERIFY(charts->pointCount("rewards/margins", "train") > 0);
        QVERIFY(charts->pointCount("learning_rate", "train") > 0);
        QVERIFY(!monitor->table()->valueText("loss", "train").isEmpty());
        QVERIFY(!monitor->table()->valueText("loss", "eval").isEmpty());
        QCOMPARE(monitor->overallBar()->value(), monitor->overallBar()->maximum());
        QVERIFY2(monitor->statusText().startsWith("Done"), qPrintable(monitor->statusText()));

        // The run folder holds the adapter, and the bank lists it.
        const fs::path runDir = wizard->bridge().runDir(0);
        m_firstRunDir = QString::fromStdString(runDir.string());
        QVERIFY2(QString::fromStdString(runDir.filename().string()).endsWith("-energy+"), qPrintable(m_firstRunDir));
        QCOMPARE(QString::fromStdString(runDir.parent_path().string()), m_fixture.runsRoot);
        QVERIFY(fs::exists(runDir / "adapter_config.json"));
        QVERIFY(fs::exists(runDir / "metrics.jsonl"));
        QVERIFY(fs::exists(wizard->bridge().pairsDir() / "pairs.jsonl"));

        // The bank was reloaded: the energy slider is active on its "+" side only, without a restart.
        QTRY_VERIFY_WITH_TIMEOUT(
            m_bridge->bank() && m_bridge->bank()->find("energy") && m_bridge->bank()->find("energy")->hasPositive(),
            20'000);
        tmk::ui::BipolarSlider* energy = m_sliders->slider("energy");
        QTRY_VERIFY_WITH_TIMEOUT(energy->positiveAvailable(), 5'000);
        QVERIFY(energy->isEnabled());
        QVERIFY(!energy->negativeAvailable());
        QVERIFY(bankLoaded.count() >= 1);

        // Curves export: CSV with one row per logged entry, and a PNG of the plots.
        const QString csvPath = m_fixture.root + "/energy-curves.csv";
        const QString pngPath = m_fixture.root + "/energy-curves.png";
        QVERIFY(monitor->exportCsv(csvPath).ok());
        QVERIFY(monitor->exportPng(pngPath).ok());
        QFile csv(csvPath);
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
        QVERIFY(lines.first().startsWith("step,epoch,split,"));
        QVERIFY(lines.first().contains("loss"));
        QCOMPARE(lines.size(), int(charts->entries().size()) + 1);
        const QImage png(pngPath);
        QVERIFY(!png.isNull());
        QVERIFY(png.width() > 200 && png.height() > 100);

        wizard->button(QWizard::FinishButton)->click();
        QTRY_VERIFY(m_menu->wizard() == nullptr); // deleted on close
    }

    void cancelThenResume()
    {
        TrainingWizard* wizard = openNewWizard();
        QVERIFY(wizard);
        previewFixture(wizard);
        wizard->next();
        TargetsPage* targets = wizard->targetsPage();
        targets->setRunsRoot(m_fixture.runsRoot);
        // The adapter trained before is marked as present in the bank.
        QVERIFY2(targets->checkBox("energy", tmk::AdapterSide::Positive)->text().contains("in bank"),
            qPrintable(targets->checkBox("energy", tmk::AdapterSide::Positive)->text()));
        QVERIFY(!targets->checkBox("energy", tmk::AdapterSide::Negative)->text().contains("in bank"));
        targets->checkBox("energy", tmk::AdapterSide::Negative)->setChecked(true);
        wizard->next();
        shortSettings(wizard->settingsPage(), 120);

        // Cancel as soon as the first log entry arrives.
        RunMonitor* monitor = wizard->runPage()->monitor();
        connect(&wizard->bridge(), &TrainingBridge::logEntry, monitor, [monitor]() {
            if (monitor->cancelButton()->isEnabled()) monitor->cancelButton()->click();
        });
        QSignalSpy finished(&wizard->bridge(), &TrainingBridge::runFinished);
        wizard->next();
        QVERIFY(finished.wait(kRunTimeoutMs));
        QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Cancelled);
        const qint64 step = finished.first().at(1).toLongLong();
        QVERIFY(step >= 1 && step < 120);
        QVERIFY2(monitor->statusText() == QString("Cancelled at step %1 — resume from Training ▸ Resume…").arg(step),
            qPrintable(monitor->statusText()));
        const fs::path runDir = wizard->bridge().runDir(0);
        const QString runName = QString::fromStdString(runDir.filename().string());
        QVERIFY(!fs::exists(runDir / "adapter_config.json"));
        const int pointsBefore = monitor->charts()->pointCount("loss", "train");
        QVERIFY(pointsBefore >= 1);
        QVERIFY(wizard->button(QWizard::FinishButton)->isEnabled());
        wizard->button(QWizard::FinishButton)->click();
        QTRY_VERIFY(m_menu->wizard() == nullptr);

        // Training ▸ Resume… lists the interrupted run (and the finished one).
        m_menu->resumeAction()->trigger();
        RunsDialog* runs = m_menu->runsDialog();
        QVERIFY(runs);
        runs->setRunsRoot(m_fixture.runsRoot); // (another process of this test may share the settings file)
        QVERIFY(runs->runs().size() >= 2);
        QVERIFY(runs->selectRun(runName));
        std::optional<tmk::RunInfo> selected = runs->selectedRun();
        QVERIFY(selected && RunsDialog::resumable(*selected));
        QCOMPARE(selected->step, step);
        QVERIFY(runs->resumeButton()->isEnabled());
        QVERIFY(runs->selectRun(QFileInfo(m_firstRunDir).fileName()));
        QVERIFY(!runs->resumeButton()->isEnabled()); // finished: nothing to resume
        QCOMPARE(RunsDialog::statusText(*runs->selectedRun()), QString("finished"));
        QVERIFY(runs->selectRun(runName));

        runs->resumeButton()->click();
        TrainingWizard* resumed = m_menu->wizard();
        QVERIFY(resumed && resumed->isResume());
        QCOMPARE(resumed->currentId(), int(TrainingWizard::RunPageId));
        QSignalSpy resumedFinished(&resumed->bridge(), &TrainingBridge::runFinished);
        QVERIFY(resumed->bridge().running() || !resumedFinished.isEmpty());
        RunMonitor* resumedMonitor = resumed->runPage()->monitor();
        // The curves logged before the cancel are shown from the run's metrics.jsonl.
        QVERIFY(resumedMonitor->charts()->pointCount("loss", "train") >= 1);
        QVERIFY(resumedFinished.wait(kRunTimeoutMs) || !resumedFinished.isEmpty());
        QVERIFY2(resumedFinished.first().at(0).value<RunOutcome>() == RunOutcome::Finished,
            qPrintable(resumedMonitor->statusText() + "\n" + resumedMonitor->logText()));
        QCOMPARE(resumedFinished.first().at(1).toLongLong(), qint64(120));
        QCOMPARE(resumedMonitor->charts()->pointCount("loss", "train"), 120); // history + the rest, once each
        QVERIFY(fs::exists(runDir / "adapter_config.json"));

        // Both sides of the energy slider are active now.
        tmk::ui::BipolarSlider* energy = m_sliders->slider("energy");
        QTRY_VERIFY_WITH_TIMEOUT(energy->negativeAvailable() && energy->positiveAvailable(), 20'000);
        resumed->close();
    }

    void cleanupTestCase()
    {
        m_window.reset(); // the menu and any wizard go with the window
        if (m_bridge) m_bridge->shutdown();
        m_bridge.reset();
    }
};

TM_QTEST(TestTrainingWizard);
#include "test_training_wizard.moc"
