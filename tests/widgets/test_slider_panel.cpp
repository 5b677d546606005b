// SliderPanel: built from metrics.json, disabled metrics and their tooltips (no bank, a metric the bank
// lacks, one side missing), Reset all, exaggerate, presets (round trip, malformed files, unknown ids, the
// bundled presets), the coalescing of valuesChanged and what the bank's steering report measured of each slider
// (offscreen).
#include <cmath>

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "qtest_registry.h"
#include "tastemaker/steering_report.h"
#include "widgets/bipolar_slider.h"
#include "widgets/measured_steering.h"
#include "widgets/slider_panel.h"

using tmk::ui::BipolarSlider;
using tmk::ui::SliderPanel;

namespace {

std::vector<tmk::MetricInfo> metrics()
{
    auto loaded = tmk::loadMetrics();
    if (!loaded) {
        qFatal("%s", loaded.error().message.c_str());
    }
    return *loaded;
}

void writeText(const QString& path, const QByteArray& text)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(text);
}

// Collects valuesChanged emissions.
struct Emissions {
    explicit Emissions(SliderPanel& panel)
    {
        QObject::connect(
            &panel, &SliderPanel::valuesChanged, [this](const tmk::SliderValues& values) { list.push_back(values); });
    }
    std::vector<tmk::SliderValues> list;
};

bool sameValues(const tmk::SliderValues& a, const tmk::SliderValues& b)
{
    if (a.size() != b.size()) {
        return false;
    }
    for (const auto& [id, value] : a) {
        const auto found = b.find(id);
        if (found == b.end() || std::abs(found->second - value) > 1e-9) {
            return false;
        }
    }
    return true;
}

} // namespace

class TestSliderPanel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("TastemakerSliderPanelTest");
        QCoreApplication::setApplicationName("TastemakerSliderPanelTest");
    }
    void oneSliderPerMetricInOrder();
    void setValuesAndResetAll();
    void noBankDisablesEverySlider();
    void bankWithMissingAdapters();
    void exaggerate();
    void presetRoundTrip();
    void malformedPresetsNameTheFile();
    void malformedPresetShowsAMessageBox();
    void unknownMetricIdsAreReported();
    void bundledPresetsAreValid();
    void coalescesBursts();
    void measuredSteeringMarksEachSlider();
};

void TestSliderPanel::oneSliderPerMetricInOrder()
{
    const auto all = metrics();
    SliderPanel panel(all);
    const auto sliders = panel.findChildren<BipolarSlider*>();
    QCOMPARE(sliders.size(), static_cast<qsizetype>(all.size()));
    QCOMPARE(panel.values().size(), all.size());
    for (const auto& metric : all) {
        BipolarSlider* slider = panel.slider(QString::fromStdString(metric.id));
        QVERIFY(slider != nullptr);
        QCOMPARE(slider->accessibleName(), QString::fromStdString(metric.name));
        QCOMPARE(panel.values().at(metric.id), 0.0);
    }
    QVERIFY(panel.slider("sparkle") == nullptr);
    // Tab order follows the slider order.
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    BipolarSlider* first = panel.slider(QString::fromStdString(all[0].id));
    first->setFocus();
    QTest::keyClick(first, Qt::Key_Tab);
    QCOMPARE(QApplication::focusWidget(), panel.slider(QString::fromStdString(all[1].id)));
}

void TestSliderPanel::setValuesAndResetAll()
{
    SliderPanel panel(metrics());
    Emissions emitted(panel);
    panel.setValues({ { "energy", 0.7 }, { "tempo", -0.35 }, { "sparkle", 1.0 } });
    QCOMPARE(emitted.list.size(), size_t(1)); // a bulk change is one emission, at once
    QCOMPARE(emitted.list.back().at("energy"), 0.7);
    QCOMPARE(emitted.list.back().at("tempo"), -0.35);
    QCOMPARE(emitted.list.back().count("sparkle"), size_t(0));
    QCOMPARE(panel.slider("energy")->value(), 0.7);

    // setValues sets every slider: one the map omits goes back to 0.
    panel.setValues({ { "energy", 0.2 } });
    QCOMPARE(panel.slider("tempo")->value(), 0.0);
    QCOMPARE(emitted.list.size(), size_t(2));
    panel.setValues({ { "energy", 0.2 } }); // nothing changes, nothing is emitted
    QCOMPARE(emitted.list.size(), size_t(2));

    panel.setValues({ { "energy", 0.5 }, { "valence", -1.0 } });
    auto* reset = panel.findChild<QPushButton*>("resetAllButton");
    QVERIFY(reset != nullptr);
    reset->click();
    for (const auto& [id, value] : panel.values()) {
        QCOMPARE(value, 0.0);
    }
    QCOMPARE(emitted.list.size(), size_t(4));
    QCOMPARE(emitted.list.back().at("valence"), 0.0);
}

void TestSliderPanel::noBankDisablesEverySlider()
{
    SliderPanel panel(metrics());
    panel.setValues({ { "energy", 0.5 } });
    Emissions emitted(panel);
    panel.setBank(nullptr);
    for (const auto& metric : panel.metrics()) {
        BipolarSlider* slider = panel.slider(QString::fromStdString(metric.id));
        QVERIFY(!slider->isEnabled());
        QVERIFY(slider->toolTip().contains("Open an adapter bank to use this slider"));
        QCOMPARE(slider->value(), 0.0);
    }
    QCOMPARE(emitted.list.size(), size_t(1)); // energy went to 0
}

void TestSliderPanel::bankWithMissingAdapters()
{
    SliderPanel panel(metrics());
    tmk::BankSummary bank;
    bank.dir = "/banks/demo-bank";
    for (const auto& metric : panel.metrics()) {
        tmk::BankMetric entry { metric.id, "/banks/demo-bank/" + metric.id + "+",
            "/banks/demo-bank/" + metric.id + "-" };
        if (metric.id == "tempo") {
            continue; // not in the bank at all
        }
        if (metric.id == "popularity") {
            entry.positiveDir.clear();
            entry.negativeDir.clear();
        }
        if (metric.id == "valence") {
            entry.negativeDir.clear();
        }
        if (metric.id == "liveness") {
            entry.positiveDir.clear();
        }
        bank.metrics.push_back(entry);
    }
    panel.setValues({ { "valence", -0.6 }, { "energy", 0.4 } });
    panel.setBank(&bank);

    QVERIFY(panel.slider("energy")->isEnabled());
    QCOMPARE(panel.slider("energy")->value(), 0.4);
    QVERIFY(!panel.slider("energy")->toolTip().contains("demo-bank"));
    for (const QString& id : { QString("tempo"), QString("popularity") }) {
        BipolarSlider* slider = panel.slider(id);
        QVERIFY(!slider->isEnabled());
        const QString name = QString::fromStdString(slider->metric().name);
        QVERIFY2(slider->toolTip().contains("The bank demo-bank has no adapters for " + name),
            qPrintable(slider->toolTip()));
    }
    BipolarSlider* valence = panel.slider("valence");
    QVERIFY(valence->isEnabled());
    QCOMPARE(valence->value(), 0.0); // clamped off the missing side
    QCOMPARE(valence->minimum(), 0.0);
    QCOMPARE(valence->maximum(), 1.0);
    const QString negative = QString::fromStdString(valence->metric().negativeLabel);
    QVERIFY2(valence->toolTip().contains("has no \"" + negative + "\" adapter"), qPrintable(valence->toolTip()));
    BipolarSlider* liveness = panel.slider("liveness");
    QCOMPARE(liveness->maximum(), 0.0);
    QCOMPARE(liveness->minimum(), -1.0);
    const QString positive = QString::fromStdString(liveness->metric().positiveLabel);
    QVERIFY(liveness->toolTip().contains("has no \"" + positive + "\" adapter"));

    // A full bank enables everything again.
    for (auto& entry : bank.metrics) {
        entry.positiveDir = "/banks/demo-bank/x+";
        entry.negativeDir = "/banks/demo-bank/x-";
    }
    bank.metrics.push_back({ "tempo", "/banks/demo-bank/tempo+", "/banks/demo-bank/tempo-" });
    panel.setBank(&bank);
    for (const auto& metric : panel.metrics()) {
        QVERIFY(panel.slider(QString::fromStdString(metric.id))->isEnabled());
        QCOMPARE(panel.slider(QString::fromStdString(metric.id))->minimum(), -1.0);
    }
}

void TestSliderPanel::exaggerate()
{
    SliderPanel panel(metrics());
    QVERIFY(!panel.exaggerated());
    panel.setValues({ { "energy", 1.5 } }); // beyond ±1 switches exaggerate on
    QVERIFY(panel.exaggerated());
    QCOMPARE(panel.slider("energy")->limit(), 2.0);
    QCOMPARE(panel.slider("tempo")->limit(), 2.0);
    QCOMPARE(panel.values().at("energy"), 1.5);
    Emissions emitted(panel);
    panel.setExaggerated(false);
    QCOMPARE(panel.values().at("energy"), 1.0);
    QCOMPARE(emitted.list.size(), size_t(1));
    QCOMPARE(emitted.list.back().at("energy"), 1.0);
}

void TestSliderPanel::presetRoundTrip()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("mine.json");
    SliderPanel panel(metrics());
    panel.setValues({ { "energy", 0.7 }, { "tempo", -0.35 }, { "valence", 1.25 }, { "acousticness", -2.0 } });
    const tmk::SliderValues saved = panel.values();
    const auto wrote = panel.savePreset(path);
    QVERIFY2(wrote.ok(), wrote.ok() ? "" : wrote.error().message.c_str());

    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
    QCOMPARE(root.value("format").toString(), QString("tastemaker-preset"));
    QCOMPARE(root.value("version").toInt(), 1);
    QCOMPARE(root.value("sliders").toObject().value("energy").toDouble(), 0.7);
    QVERIFY(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size() == 1); // no temporary left

    panel.resetAll();
    panel.setExaggerated(false);
    panel.setValues({ { "danceability", 0.4 } });
    QStringList unknown;
    const auto loaded = panel.loadPreset(path, &unknown);
    QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().message.c_str());
    QVERIFY(unknown.isEmpty());
    QVERIFY(panel.exaggerated());
    QVERIFY(sameValues(panel.values(), saved));

    const auto read = SliderPanel::readPresetFile(path);
    QVERIFY(read.ok());
    QVERIFY(sameValues(*read, saved));
}

void TestSliderPanel::malformedPresetsNameTheFile()
{
    QTemporaryDir dir;
    SliderPanel panel(metrics());
    panel.setValues({ { "energy", 0.3 } });
    const struct {
        const char* name;
        QByteArray text;
        const char* problem;
    } cases[] = {
        { "broken.json", "{\"format\": \"tastemaker-preset\", \"version\": 1, \"sliders\": {", "not valid JSON" },
        { "other.json", "{\"format\": \"something-else\", \"version\": 1, \"sliders\": {}}",
            "not a Tastemaker preset" },
        { "future.json", "{\"format\": \"tastemaker-preset\", \"version\": 7, \"sliders\": {}}", "version 7" },
        { "nosliders.json", "{\"format\": \"tastemaker-preset\", \"version\": 1}", "no \"sliders\"" },
        { "big.json", "{\"format\": \"tastemaker-preset\", \"version\": 1, \"sliders\": {\"energy\": 3}}",
            "\"energy\"" },
        { "text.json", "{\"format\": \"tastemaker-preset\", \"version\": 1, \"sliders\": {\"tempo\": \"fast\"}}",
            "\"tempo\"" },
    };
    for (const auto& c : cases) {
        const QString path = dir.filePath(c.name);
        writeText(path, c.text);
        const auto loaded = panel.loadPreset(path);
        QVERIFY(!loaded.ok());
        const QString message = QString::fromStdString(loaded.error().message);
        QVERIFY2(message.contains(path) && message.contains(c.problem), qPrintable(message));
        QCOMPARE(panel.values().at("energy"), 0.3); // untouched
    }
    const auto missing = panel.loadPreset(dir.filePath("absent.json"));
    QVERIFY(!missing.ok());
    QVERIFY(QString::fromStdString(missing.error().message).contains("absent.json"));
    const auto unwritable = panel.savePreset(dir.filePath("no/such/folder/p.json"));
    QVERIFY(!unwritable.ok());
    QVERIFY(QString::fromStdString(unwritable.error().message).contains("p.json"));
}

void TestSliderPanel::malformedPresetShowsAMessageBox()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("broken.json");
    writeText(path, "not json at all");
    SliderPanel panel(metrics());
    panel.show();
    QString shownText;
    QTimer::singleShot(0, [&] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        if (box != nullptr) {
            shownText = box->text();
            box->accept();
        }
    });
    panel.loadPresetFromFile(path); // runs the message box's event loop
    QVERIFY2(shownText.contains(path) && shownText.contains("not valid JSON"), qPrintable(shownText));
}

void TestSliderPanel::unknownMetricIdsAreReported()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("future.json");
    writeText(path,
        "{\"format\": \"tastemaker-preset\", \"version\": 1, "
        "\"sliders\": {\"energy\": 0.5, \"sparkle\": 1.0, \"grit\": -0.5}}");
    SliderPanel panel(metrics());
    QStringList unknown;
    const auto loaded = panel.loadPreset(path, &unknown);
    QVERIFY(loaded.ok());
    unknown.sort();
    QCOMPARE(unknown, QStringList({ "grit", "sparkle" }));
    QCOMPARE(panel.values().at("energy"), 0.5);
    QCOMPARE(panel.values().count("sparkle"), size_t(0));

    // Interactively they are listed in a message box.
    panel.show();
    QString shownText;
    QTimer::singleShot(0, [&] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            shownText = box->text();
            box->accept();
        }
    });
    panel.loadPresetFromFile(path);
    QVERIFY2(shownText.contains("sparkle") && shownText.contains("grit"), qPrintable(shownText));
}

void TestSliderPanel::bundledPresetsAreValid()
{
    const QString bundled = SliderPanel::bundledPresetsDir();
    QVERIFY2(!bundled.isEmpty(), "resources/presets is missing");
    const QStringList files = QDir(bundled).entryList({ "*.json" }, QDir::Files);
    QVERIFY(files.size() >= 2);
    SliderPanel panel(metrics());
    for (const QString& name : files) {
        QStringList unknown;
        const auto loaded = panel.loadPreset(QDir(bundled).filePath(name), &unknown);
        QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().message.c_str());
        QVERIFY2(unknown.isEmpty(), qPrintable(name + ": " + unknown.join(", ")));
        bool moved = false;
        for (const auto& [id, value] : panel.values()) {
            moved = moved || value != 0.0;
        }
        QVERIFY2(moved, qPrintable(name));
    }
}

void TestSliderPanel::coalescesBursts()
{
    SliderPanel panel(metrics());
    Emissions emitted(panel);
    BipolarSlider* energy = panel.slider("energy");
    // A burst of 100 moves, as a fast drag produces, within one event-loop turn.
    for (int i = 1; i <= 100; ++i) {
        energy->setValue(i * 0.009);
    }
    const double finalValue = energy->value();
    QVERIFY(std::abs(finalValue - 0.9) < 1e-9);
    // The first move goes out at once, the rest are folded into the timer's emission.
    QCOMPARE(emitted.list.size(), size_t(1));
    QTRY_VERIFY(!emitted.list.empty() && std::abs(emitted.list.back().at("energy") - finalValue) < 1e-12);
    QTest::qWait(4 * SliderPanel::kCoalesceMs); // the timer runs out with nothing pending
    QVERIFY2(emitted.list.size() <= 3, qPrintable(QString::number(emitted.list.size())));
    QCOMPARE(emitted.list.back().at("energy"), finalValue);

    // A move after a quiet spell is emitted at once again.
    const size_t before = emitted.list.size();
    panel.slider("tempo")->setValue(-0.5);
    QCOMPARE(emitted.list.size(), before + 1);
    QCOMPARE(emitted.list.back().at("tempo"), -0.5);
    QCOMPARE(emitted.list.back().at("energy"), finalValue);
}

// What the bank's steering report measured: a slider that moves its metric gets a filled mark, one whose interval
// holds 0 a hollow one, one that moves it the wrong way the reversed mark; a latent slider and one retrained since
// get none, but their tooltips say why; no report clears everything.
void TestSliderPanel::measuredSteeringMarksEachSlider()
{
    SliderPanel panel(metrics());
    const auto measurable = [](double value, double low, double high) {
        tmk::SteeringSliderReport slider;
        slider.measurable = true;
        slider.lowValue = -1.0;
        slider.highValue = 1.0;
        slider.difference = tmk::Estimate { value, low, high };
        slider.standardisedEffect = tmk::Estimate { value * 4, low * 4, high * 4 };
        slider.interferenceRatio = 1.04;
        slider.largestOffTarget = "liveness";
        return slider;
    };
    tmk::MeasuredSteering measured;
    measured.seeds = 16;
    measured.prompts = 4;
    measured.seconds = 5.0;
    measured.sliders["acousticness"] = measurable(0.153, 0.063, 0.241);
    measured.sliders["tempo"] = measurable(-0.3, -8.0, 7.7);
    measured.sliders["valence"] = measurable(-0.089, -0.161, -0.017);
    tmk::SteeringSliderReport latent;
    latent.largestOffTarget = "liveness";
    measured.sliders["popularity"] = latent;
    measured.stale = { "energy" };
    panel.setMeasured(&measured);

    using Measured = BipolarSlider::Measured;
    BipolarSlider* acousticness = panel.slider("acousticness");
    QCOMPARE(acousticness->measured(), Measured::Moves);
    const QString tip = acousticness->toolTip();
    for (const QString& part : { QString("16 seeds \u00d7 4 prompts, 5 s clips"),
             QString("from \u22121 to +1 the clips' acousticness changes by +0.153"),
             QString("(95% interval +0.063 to +0.241)"), QString("d = +0.61"), QString("the right way"),
             QString("It moves liveness too, 1.04\u00d7 as much") })
        QVERIFY2(tip.contains(part), qPrintable(part + " not in: " + tip));
    QCOMPARE(panel.slider("tempo")->measured(), Measured::NoEffect);
    QVERIFY2(panel.slider("tempo")->toolTip().contains("changes by \u22120.3 BPM (95% interval \u22128.0 to +7.7)"),
        qPrintable(panel.slider("tempo")->toolTip()));
    QVERIFY(panel.slider("tempo")->toolTip().contains("No effect was measurable"));
    QCOMPARE(panel.slider("valence")->measured(), Measured::Reversed);
    QVERIFY(panel.slider("valence")->toolTip().contains("the wrong way"));
    QCOMPARE(panel.slider("popularity")->measured(), Measured::Unmeasured);
    QVERIFY2(panel.slider("popularity")->toolTip().contains("cannot measure Popularity")
            && panel.slider("popularity")->toolTip().contains("moves liveness the most"),
        qPrintable(panel.slider("popularity")->toolTip()));
    QCOMPARE(panel.slider("energy")->measured(), Measured::Unmeasured);
    QVERIFY(panel.slider("energy")->toolTip().contains("retrained since"));
    QCOMPARE(
        tmk::ui::measuredBankLine(measured), QString("steering report: 1 of 3 measurable sliders move their metric"));
    QCOMPARE(panel.slider("danceability")->measured(), Measured::Unmeasured);
    QVERIFY(panel.slider("danceability")->measuredSummary().isEmpty()); // not in the report at all

    // The mark is drawn after the name: the filled dot changes the slider's pixels.
    acousticness->resize(acousticness->sizeHint());
    const QImage marked = acousticness->grab().toImage();
    panel.setMeasured(nullptr);
    for (const auto& metric : panel.metrics()) {
        BipolarSlider* slider = panel.slider(QString::fromStdString(metric.id));
        QCOMPARE(slider->measured(), Measured::Unmeasured);
        QVERIFY(slider->measuredSummary().isEmpty());
        QVERIFY(!slider->toolTip().contains("steering report"));
    }
    QVERIFY(acousticness->grab().toImage() != marked);
}

TM_QTEST(TestSliderPanel);
#include "test_slider_panel.moc"
