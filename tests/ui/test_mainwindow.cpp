// The main window: menus and shortcuts, the welcome panel on first run and its bundled default model, a
// bad model folder showing the engine's exact error in a dialog, settings persisting across restarts, a
// model's generation_config.json reaching the sampling controls, and quitting while a job runs asking first.
#include <filesystem>

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMenuBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTest>
#include <QTimer>

#include "app_test_support.h"
#include "clip_panel.h"
#include "engine_bridge.h"
#include "generation_panel.h"
#include "mainwindow.h"
#include "qtest_registry.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/runtime.h"
#include "widgets/bipolar_slider.h"
#include "widgets/slider_panel.h"
#include "widgets/welcome_panel.h"

using tmk::ui::EngineBridge;
using tmk::ui::MainWindow;

class TestMainWindow : public QObject {
    Q_OBJECT

private:
    QString m_library;

    tmk::ui::MainWindowOptions options() const
    {
        tmk::ui::MainWindowOptions o;
        o.defaultModelDir = tmk::test::defaultModelDir(); // the tiny model: no default bank, not the demo
        return o;
    }

    // A copy of the fixture model whose generation_config.json sets `fields` (over the fixture's own).
    static QString fixtureModelWith(const QString& name, const QJsonObject& fields)
    {
        const QString dir = tmk::test::freshOutDir(name);
        const QDir fixture(tmk::test::fixtureModelDir());
        for (const QString& file : fixture.entryList(QDir::Files))
            if (!QFile::copy(fixture.filePath(file), dir + "/" + file)) return {};
        QFile config(dir + "/generation_config.json");
        if (!config.open(QIODevice::ReadOnly)) return {};
        QJsonObject json = QJsonDocument::fromJson(config.readAll()).object();
        config.close();
        for (auto it = fields.begin(); it != fields.end(); ++it) json.insert(it.key(), it.value());
        if (!config.open(QIODevice::WriteOnly | QIODevice::Truncate)) return {};
        config.write(QJsonDocument(json).toJson());
        return dir;
    }

private Q_SLOTS:
    void initTestCase()
    {
        tmk::test::isolateSettings("TastemakerTest-mainwindow");
        tmk::initRuntime();
    }

    void init()
    {
        QSettings().clear();
        m_library = tmk::test::freshOutDir(QString("mainwindow-") + QTest::currentTestFunction());
    }

    void menusAndShortcuts()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(m_library));
        MainWindow window(bridge, options());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QCOMPARE(window.windowTitle(), QString("Tastemaker"));
        auto action = [&](const char* name) { return window.findChild<QAction*>(name); };
        for (const char* name : { "actionOpenModel", "actionOpenBank", "actionDefaultModel", "actionExport",
                 "actionQuit", "actionUndo", "actionGenerate", "actionAbout", "actionRestoreSettings",
                 "actionNewFineTune", "actionResumeTraining", "actionSteeringReport" })
            QVERIFY2(action(name) != nullptr, name);
        // The steering report's and the training wizard's menus sit between Generate and Help.
        QStringList menus;
        for (QAction* top : window.menuBar()->actions()) menus << top->text().remove('&');
        QCOMPARE(menus, (QStringList { "File", "Edit", "Generate", "Steering", "Training", "Help" }));
        QCOMPARE(action("actionExport")->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_E));
        QCOMPARE(action("actionUndo")->shortcut(), QKeySequence(QKeySequence::Undo));
        QVERIFY(action("actionGenerate")->shortcuts().contains(QKeySequence(Qt::CTRL | Qt::Key_Return)));
        QVERIFY(action("actionGenerate")->shortcuts().contains(QKeySequence(Qt::CTRL | Qt::Key_Enter)));
        QCOMPARE(action("actionQuit")->shortcut(), QKeySequence(QKeySequence::Quit));
        QVERIFY(action("actionDefaultModel")->isEnabled());
        // Without a model, Generate is off and says why.
        QVERIFY(!window.generationPanel()->generateButton()->isEnabled());
        action("actionQuit")->trigger();
        QVERIFY(!window.isVisible());
    }

    void welcomeOnFirstRunOffersTheDefaultModel()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(m_library));
        MainWindow window(bridge, options());
        window.show();
        window.openInitial();
        QVERIFY(window.welcomeShown());
        auto* welcome = window.findChild<tmk::ui::WelcomePanel*>();
        QVERIFY(welcome && welcome->isVisible());
        QVERIFY(welcome->defaultModelButton()->isEnabled());
        QTest::mouseClick(welcome->defaultModelButton(), Qt::LeftButton);
        QVERIFY(tmk::test::waitForModel(bridge));
        QVERIFY(!window.welcomeShown());
        QVERIFY(window.modelDescription().contains("default-tiny"));
        QVERIFY(window.modelDescription().contains("untrained"));
        QVERIFY(window.generationPanel()->generateButton()->isEnabled());
        QCOMPARE(QSettings().value("model/dir").toString(), tmk::test::defaultModelDir());
    }

    void badModelFolderShowsTheEnginesError_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::newRow("empty folder") << "empty";
        QTest::newRow("only pytorch_model.bin") << "pickle";
    }

    void badModelFolderShowsTheEnginesError()
    {
        QFETCH(QString, kind);
        const QString dir = tmk::test::freshOutDir("mainwindow-bad-model-" + kind);
        if (kind == "pickle") {
            QFile bin(dir + "/pytorch_model.bin");
            QVERIFY(bin.open(QIODevice::WriteOnly));
            bin.write("PK\x03\x04 not really a pickle");
        }
        auto expected = tmk::MusicgenModel::load(dir.toStdString(), {});
        QVERIFY(!expected);
        const QString message = QString::fromStdString(expected.error().message);

        EngineBridge bridge(tmk::test::bridgeOptions(m_library));
        MainWindow window(bridge, options());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.openModel(dir);
        QTRY_VERIFY_WITH_TIMEOUT(tmk::test::activeMessageBox() != nullptr, 10000);
        QMessageBox* box = tmk::test::activeMessageBox();
        QCOMPARE(box->objectName(), QString("errorDialog"));
        QCOMPARE(box->text(), QString("Could not open the model"));
        QCOMPARE(box->informativeText(), message); // the engine's exact words
        box->button(QMessageBox::Ok)->click();
        QTRY_VERIFY(tmk::test::activeMessageBox() == nullptr);
        QVERIFY(window.isVisible());
        QVERIFY(!bridge.hasModel());
        QVERIFY(window.welcomeShown()); // nothing loaded: back to the welcome panel
    }

    // A bank whose bank.json records another base model still opens (the shapes fit), and the bank label says
    // it was trained on another model, with the engine's sentence on hover; the fixture bank records none.
    void bankOfAnotherModelIsMarked()
    {
        const std::filesystem::path bank = tmk::test::freshOutDir("foreign_bank").toStdString() + "/bank";
        std::filesystem::copy(
            tmk::test::fixtureBankDir().toStdString(), bank, std::filesystem::copy_options::recursive);
        QFile file(QString::fromStdString((bank / "bank.json").string()));
        QVERIFY(file.open(QIODevice::ReadOnly));
        QJsonObject json = QJsonDocument::fromJson(file.readAll()).object();
        file.close();
        json.insert("base_model_fingerprint", "sha256:" + QString(64, 'b'));
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(QJsonDocument(json).toJson());
        file.close();

        EngineBridge bridge(tmk::test::bridgeOptions(m_library));
        MainWindow window(bridge, options());
        window.show();
        window.openInitial(tmk::test::fixtureModelDir(), QString::fromStdString(bank.string()));
        QVERIFY(tmk::test::waitForModel(bridge));
        QTRY_VERIFY(bridge.bank() != nullptr);
        auto* label = window.findChild<QLabel*>("bankLabel");
        QVERIFY(label);
        QTRY_VERIFY(label->text().contains("trained on another model"));
        QVERIFY(label->toolTip().contains("may not steer"));
        QVERIFY(label->toolTip().contains("sha256:bbbbbbbbbbbb"));
        QVERIFY(window.sliderPanel()->slider("energy")->isEnabled());
        window.openBank(tmk::test::fixtureBankDir());
        QTRY_COMPARE(bridge.bankDir(), tmk::test::fixtureBankDir());
        QTRY_VERIFY(!label->text().contains("trained on another model"));
    }

    // Musicians' laptops: the window, with a model and a bank open (the bank label at its longest, two lines),
    // fits a 1366 x 768 screen less a task bar (1366 x 720).
    void fitsALaptopScreen()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(m_library));
        MainWindow window(bridge, options());
        window.show();
        window.openInitial(tmk::test::fixtureModelDir(), tmk::test::fixtureBankDir());
        QVERIFY(tmk::test::waitForModel(bridge));
        QTRY_VERIFY(bridge.bank() != nullptr);
        auto* label = window.findChild<QLabel*>("bankLabel");
        label->setText(label->text() + " · " + QString(80, 'x') + " " + QString(80, 'x'));
        const QSize minimum = window.minimumSizeHint().expandedTo(window.minimumSize());
        qInfo("minimum window size %dx%d", minimum.width(), minimum.height());
        QVERIFY2(minimum.width() <= 1366 && minimum.height() <= 720,
            qPrintable(QString("%1x%2").arg(minimum.width()).arg(minimum.height())));
    }

    void settingsPersistAcrossRestarts()
    {
        {
            EngineBridge bridge(tmk::test::bridgeOptions(m_library));
            MainWindow window(bridge, options());
            window.show();
            window.openInitial(tmk::test::fixtureModelDir(), tmk::test::fixtureBankDir());
            QVERIFY(tmk::test::waitForModel(bridge));
            QVERIFY(bridge.bank() != nullptr);
            tmk::ui::GenerationPanel* panel = window.generationPanel();
            panel->setPrompt("dusty lofi piano");
            panel->addToHistory("an older prompt");
            panel->setSeed(4242);
            panel->setSeedLocked(true);
            panel->setDurationSeconds(3.5);
            tmk::ui::BipolarSlider* energy = window.sliderPanel()->slider("energy");
            QVERIFY(energy && energy->isEnabled());
            energy->setFocus();
            for (int i = 0; i < 10; ++i) QTest::keyClick(energy, Qt::Key_Right); // +0.05 each
            QTRY_COMPARE(energy->value(), 0.5);
            window.resize(1100, 700);
            QTest::qWait(100); // the panel's coalescing timer
        }
        EngineBridge bridge(tmk::test::bridgeOptions(m_library));
        MainWindow window(bridge, options());
        window.show();
        window.openInitial(); // no arguments: the remembered model and bank
        QVERIFY(!window.welcomeShown());
        QVERIFY(tmk::test::waitForModel(bridge));
        QTRY_VERIFY(bridge.bank() != nullptr);
        QCOMPARE(bridge.modelDir(), tmk::test::fixtureModelDir());
        QCOMPARE(bridge.bankDir(), tmk::test::fixtureBankDir());
        tmk::ui::GenerationPanel* panel = window.generationPanel();
        QCOMPARE(panel->prompt(), QString("dusty lofi piano"));
        QVERIFY(panel->promptHistory().contains("an older prompt"));
        QCOMPARE(panel->seed(), quint64(4242));
        QVERIFY(panel->seedLocked());
        QCOMPARE(panel->durationSeconds(), 3.5);
        QTRY_COMPARE(window.sliderPanel()->slider("energy")->value(), 0.5);
        QTRY_COMPARE(bridge.mergedSliders().count("energy"), size_t(1));
        QCOMPARE(bridge.mergedSliders().at("energy"), 0.5);
        QCOMPARE(window.size(), QSize(1100, 700));
    }

    void modelDefaultsReachTheControls()
    {
        // The controls' own defaults are CFG 3 and top-k 250; the fixture's codebook has 64 codes.
        const QString model
            = fixtureModelWith("mainwindow-model-defaults", { { "guidance_scale", 4.5 }, { "top_k", 37 } });
        QVERIFY(!model.isEmpty());
        auto cfgBox = [](MainWindow& window) { return window.findChild<QDoubleSpinBox*>("cfgBox"); };
        auto topKBox = [](MainWindow& window) { return window.findChild<QSpinBox*>("topKBox"); };
        {
            EngineBridge bridge(tmk::test::bridgeOptions(m_library));
            MainWindow window(bridge, options());
            window.show();
            QCOMPARE(cfgBox(window)->value(), 3.0);
            QCOMPARE(topKBox(window)->value(), 250);
            window.openInitial(model);
            QVERIFY(tmk::test::waitForModel(bridge));
            QCOMPARE(cfgBox(window)->value(), 4.5);
            QCOMPARE(topKBox(window)->value(), 37);
            cfgBox(window)->setValue(6.0); // the user's choice, on top of the model's defaults
        }
        // Reopening the same model at startup keeps the user's restored choice; another model brings its own.
        EngineBridge bridge(tmk::test::bridgeOptions(m_library));
        MainWindow window(bridge, options());
        window.show();
        window.openInitial();
        QVERIFY(tmk::test::waitForModel(bridge));
        QCOMPARE(bridge.modelDir(), model);
        QCOMPARE(cfgBox(window)->value(), 6.0);
        QCOMPARE(topKBox(window)->value(), 37);
        window.openModel(tmk::test::fixtureModelDir());
        QTRY_COMPARE_WITH_TIMEOUT(bridge.modelDir(), tmk::test::fixtureModelDir(), 20000);
        QVERIFY(tmk::test::waitIdle(bridge));
        QCOMPARE(cfgBox(window)->value(), 3.0); // the fixture's guidance_scale
        QCOMPARE(topKBox(window)->value(), 64); // no top_k: 250, clamped to the codebook size
    }

    void quittingWhileGeneratingAsksFirst()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(m_library));
        MainWindow window(bridge, options());
        window.show();
        window.openInitial(tmk::test::defaultModelDir());
        QVERIFY(tmk::test::waitForModel(bridge));
        window.generationPanel()->setDurationSeconds(1000); // clamped to the model's longest
        QSignalSpy progress(&bridge, &EngineBridge::generationProgress);
        window.generateOrStop();
        QVERIFY2(progress.wait(10000),
            qPrintable(window.statusText()
                + (tmk::test::activeMessageBox() ? tmk::test::activeMessageBox()->informativeText() : QString("-"))));

        // "No": the window stays and the generation goes on.
        auto answer = [](QMessageBox::StandardButton button, bool* asked) {
            QTimer::singleShot(0, [=]() {
                QTRY_VERIFY(tmk::test::activeMessageBox() != nullptr);
                QMessageBox* box = tmk::test::activeMessageBox();
                *asked = box->objectName() == "quitQuestion";
                box->button(button)->click();
            });
        };
        bool asked = false;
        answer(QMessageBox::No, &asked);
        QVERIFY(!window.close());
        QVERIFY(asked);
        QVERIFY(window.isVisible());
        QVERIFY(bridge.generating());

        // "Yes": the generation is cancelled, the worker joined, nothing saved.
        asked = false;
        answer(QMessageBox::Yes, &asked);
        QVERIFY(window.close());
        QVERIFY(asked);
        QVERIFY(!window.isVisible());
        QTest::qWait(50);
        auto clips = bridge.listClips();
        QVERIFY(clips);
        QCOMPARE(clips->size(), size_t(0));
    }
};

TM_QTEST(TestMainWindow);
#include "test_mainwindow.moc"
