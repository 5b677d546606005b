// The smaller widgets, offscreen: WaveformView (peaks, click to seek, playhead), ClipListModel /
// ClipListView (order, rows, rename, Space / click / Delete, drag mime data), ExportDialog (formats, bit
// depths, file names, remembered folder), WelcomePanel (text and signals) and the theme.
#include <cmath>

#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStyle>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include "qtest_registry.h"
#include "widgets/bipolar_slider.h"
#include "widgets/clip_list.h"
#include "widgets/export_dialog.h"
#include "widgets/slider_panel.h"
#include "widgets/theme.h"
#include "widgets/waveform_view.h"
#include "widgets/welcome_panel.h"

using namespace tmk::ui;

namespace {

std::vector<float> sine(int sampleRate, double seconds, double amplitude)
{
    std::vector<float> samples(static_cast<size_t>(sampleRate * seconds));
    for (size_t i = 0; i < samples.size(); ++i) {
        samples[i] = static_cast<float>(amplitude * std::sin(2.0 * M_PI * 220.0 * double(i) / sampleRate));
    }
    return samples;
}

tmk::ClipEntry makeClip(
    const std::string& id, const std::string& title, const std::string& createdAt, double seconds, uint64_t seed)
{
    tmk::ClipEntry clip;
    clip.id = id;
    clip.audioPath = "/library/" + id + ".wav";
    clip.sidecarPath = "/library/" + id + ".json";
    clip.record.title = title;
    clip.record.prompt = title + " prompt";
    clip.record.createdAt = createdAt;
    clip.record.durationSeconds = seconds;
    clip.record.sampling.seed = seed;
    return clip;
}

ClipListView* makeLibraryView()
{
    auto* view = new ClipListView;
    view->clipModel()->setNow(QDateTime::fromString("2024-05-01T16:00:00.000Z", Qt::ISODateWithMs));
    view->clipModel()->setClips({
        makeClip("a", "Oldest", "2024-04-01T10:00:00.000Z", 5.0, 1),
        makeClip("c", "Newest", "2024-05-01T15:55:00.000Z", 8.4, 42),
        makeClip("b", "Middle", "2024-04-30T12:00:00.000Z", 65.0, 7),
    });
    view->resize(400, 400);
    return view;
}

} // namespace

class TestWidgets : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("TastemakerWidgetsTest");
        QCoreApplication::setApplicationName("TastemakerWidgetsTest");
        QSettings().clear();
    }

    void waveformEmptyState();
    void waveformClickSeeks();
    void waveformPlayheadIsPainted();
    void waveformAppendGrows();
    void clipListOrderAndRows();
    void clipListRelativeDates();
    void clipListRename();
    void clipListKeysAndClicks();
    void clipListDragMimeData();
    void clipListUpdateAndRemove();
    void exportFormatsAndBitDepths();
    void exportFileNames();
    void exportRemembersTheLastFolder();
    void exportRefusesAMissingFolder();
    void welcomePanel();
    void theme();
    void galleryScreenshots();
};

void TestWidgets::waveformEmptyState()
{
    WaveformView view;
    view.resize(400, 120);
    view.show();
    QVERIFY(!view.hasAudio());
    QSignalSpy seek(&view, &WaveformView::seekRequested);
    QTest::mouseClick(&view, Qt::LeftButton, Qt::NoModifier, QPoint(200, 60));
    QCOMPARE(seek.count(), 0);
}

void TestWidgets::waveformClickSeeks()
{
    WaveformView view;
    view.resize(400, 120);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setAudio(sine(8000, 2.0, 0.5), 8000);
    QVERIFY(view.hasAudio());
    QCOMPARE(view.durationSeconds(), 2.0);
    QSignalSpy seek(&view, &WaveformView::seekRequested);
    const QRectF area = view.waveRect();
    const double secondsPerPixel = 2.0 / area.width();
    const struct {
        double fraction;
        double seconds;
    } cases[] = { { 0.25, 0.5 }, { 0.5, 1.0 }, { 0.9, 1.8 }, { 0.0, 0.0 } };
    for (const auto& c : cases) {
        const QPoint at(qRound(area.left() + c.fraction * area.width()), qRound(area.center().y()));
        QTest::mouseClick(&view, Qt::LeftButton, Qt::NoModifier, at);
        QVERIFY(!seek.isEmpty());
        const double got = seek.takeLast().at(0).toDouble();
        QVERIFY2(std::abs(got - c.seconds) <= secondsPerPixel,
            qPrintable(QString("%1 s, expected %2").arg(got).arg(c.seconds)));
    }
    // Past the right end: the clip's end.
    QTest::mouseClick(&view, Qt::LeftButton, Qt::NoModifier, QPoint(view.width() - 1, 60));
    QCOMPARE(seek.takeLast().at(0).toDouble(), 2.0);
}

void TestWidgets::waveformPlayheadIsPainted()
{
    WaveformView view;
    view.resize(400, 120);
    view.setAudio(std::vector<float>(16000, 0.0f), 8000); // silence: only the playhead differs
    view.setPlayhead(0.0);
    const QImage atStart = view.grab().toImage();
    view.setPlayhead(1.0);
    QCOMPARE(view.playhead(), 1.0);
    const QImage atMiddle = view.grab().toImage();
    const int x = qRound(view.xForSeconds(1.0) * atMiddle.devicePixelRatio());
    const int y = qRound(view.waveRect().top() * atMiddle.devicePixelRatio()) + 2;
    QVERIFY(atStart.pixelColor(x, y) != atMiddle.pixelColor(x, y));
}

void TestWidgets::waveformAppendGrows()
{
    WaveformView view;
    view.setAudio({}, 8000);
    QVERIFY(!view.hasAudio());
    const auto chunk = sine(8000, 0.25, 0.3);
    view.appendAudio(chunk);
    view.appendAudio(chunk);
    QCOMPARE(view.durationSeconds(), 0.5);
    view.setExpectedDuration(4.0);
    QCOMPARE(view.displayedSeconds(), 4.0);
    view.clear();
    QVERIFY(!view.hasAudio());
}

void TestWidgets::clipListOrderAndRows()
{
    std::unique_ptr<ClipListView> view(makeLibraryView());
    ClipListModel* model = view->clipModel();
    QCOMPARE(model->rowCount(), 3);
    QCOMPARE(model->clipAt(0)->id, std::string("c")); // newest first
    QCOMPARE(model->clipAt(1)->id, std::string("b"));
    QCOMPARE(model->clipAt(2)->id, std::string("a"));
    QVERIFY(model->clipAt(3) == nullptr);
    QVERIFY(model->clipAt(-1) == nullptr);
    QCOMPARE(model->rowOf("b"), 1);
    QCOMPARE(model->rowOf("zzz"), -1);
    const QModelIndex newest = model->index(0);
    QCOMPARE(newest.data(Qt::DisplayRole).toString(), QString("Newest"));
    QCOMPARE(newest.data(ClipListModel::IdRole).toString(), QString("c"));
    QCOMPARE(newest.data(ClipListModel::SubtitleRole).toString(), QString::fromUtf8("0:08 · seed 42 · 5 min ago"));
    QCOMPARE(
        model->index(1).data(ClipListModel::SubtitleRole).toString(), QString::fromUtf8("1:05 · seed 7 · yesterday"));
    // Rows are two lines tall.
    view->show();
    QVERIFY(view->visualRect(newest).height() >= 2 * view->fontMetrics().height());
}

void TestWidgets::clipListRelativeDates()
{
    const QDateTime now = QDateTime::fromString("2024-05-10T12:00:00.000Z", Qt::ISODateWithMs);
    QCOMPARE(ClipListModel::relativeDate(now.addSecs(-10), now), QString("just now"));
    QCOMPARE(ClipListModel::relativeDate(now.addSecs(-5 * 60), now), QString("5 min ago"));
    QCOMPARE(ClipListModel::relativeDate(now.addDays(-3), now), QString("3 days ago"));
    QVERIFY(!ClipListModel::relativeDate(now.addDays(-40), now).contains("ago"));
    QCOMPARE(ClipListModel::formatDuration(8.4), QString("0:08"));
    QCOMPARE(ClipListModel::formatDuration(125.0), QString("2:05"));
}

void TestWidgets::clipListRename()
{
    std::unique_ptr<ClipListView> view(makeLibraryView());
    ClipListModel* model = view->clipModel();
    QSignalSpy rename(model, &ClipListModel::renameRequested);
    // Through the model.
    QVERIFY(model->setData(model->index(1), "Renamed middle", Qt::EditRole));
    QCOMPARE(rename.count(), 1);
    QCOMPARE(rename.last().at(0).toString(), QString("b"));
    QCOMPARE(rename.last().at(1).toString(), QString("Renamed middle"));
    QCOMPARE(model->index(1).data().toString(), QString("Renamed middle"));
    QVERIFY(!model->setData(model->index(1), "   ", Qt::EditRole)); // empty titles are refused
    QVERIFY(!model->setData(model->index(1), "Renamed middle", Qt::EditRole)); // unchanged
    QCOMPARE(rename.count(), 1);

    // Through the view's editor (F2).
    view->show();
    QVERIFY(QTest::qWaitForWindowExposed(view.get()));
    view->setCurrentIndex(model->index(0));
    view->setFocus();
    QTest::keyClick(view.get(), Qt::Key_F2);
    auto* editor = view->findChild<QLineEdit*>();
    QVERIFY(editor != nullptr);
    QCOMPARE(editor->text(), QString("Newest"));
    editor->setText("Brand new title");
    QTest::keyClick(editor, Qt::Key_Return);
    QTRY_COMPARE(rename.count(), 2);
    QCOMPARE(rename.last().at(0).toString(), QString("c"));
    QCOMPARE(rename.last().at(1).toString(), QString("Brand new title"));
}

void TestWidgets::clipListKeysAndClicks()
{
    std::unique_ptr<ClipListView> view(makeLibraryView());
    view->show();
    QVERIFY(QTest::qWaitForWindowExposed(view.get()));
    QSignalSpy audition(view.get(), &ClipListView::auditionRequested);
    QSignalSpy remove(view.get(), &ClipListView::deleteRequested);
    QSignalSpy current(view.get(), &ClipListView::currentClipChanged);

    const QRect second = view->visualRect(view->clipModel()->index(1));
    QTest::mouseClick(view->viewport(), Qt::LeftButton, Qt::NoModifier, second.center());
    QCOMPARE(audition.count(), 1);
    QCOMPARE(audition.last().at(0).toString(), QString("b"));
    QCOMPARE(view->currentClipId(), QString("b"));
    QVERIFY(!current.isEmpty());
    QCOMPARE(current.last().at(0).toString(), QString("b"));

    QTest::keyClick(view.get(), Qt::Key_Down);
    QCOMPARE(view->currentClipId(), QString("a"));
    QTest::keyClick(view.get(), Qt::Key_Space);
    QCOMPARE(audition.count(), 2);
    QCOMPARE(audition.last().at(0).toString(), QString("a"));

    QTest::keyClick(view.get(), Qt::Key_Delete);
    QCOMPARE(remove.count(), 1);
    QCOMPARE(remove.last().at(0).toString(), QString("a"));

    QVERIFY(view->selectClip("c"));
    QCOMPARE(view->currentClipId(), QString("c"));
    QVERIFY(!view->selectClip("nope"));
}

void TestWidgets::clipListDragMimeData()
{
    std::unique_ptr<ClipListView> view(makeLibraryView());
    ClipListModel* model = view->clipModel();
    QVERIFY(model->flags(model->index(0)) & Qt::ItemIsDragEnabled);
    QCOMPARE(model->mimeTypes(), QStringList({ "text/uri-list" }));
    QCOMPARE(model->supportedDragActions(), Qt::CopyAction);
    std::unique_ptr<QMimeData> mime(model->mimeData({ model->index(0) }));
    QVERIFY(mime != nullptr);
    QVERIFY(mime->hasFormat("text/uri-list"));
    QCOMPARE(mime->urls(), QList<QUrl>({ QUrl::fromLocalFile("/library/c.wav") }));
    QVERIFY(mime->urls().first().isLocalFile());
    QVERIFY(mime->urls().first().toLocalFile().endsWith(".wav"));
    QCOMPARE(view->dragDropMode(), QAbstractItemView::DragOnly);
    QVERIFY(view->dragEnabled());
}

void TestWidgets::clipListUpdateAndRemove()
{
    std::unique_ptr<ClipListView> view(makeLibraryView());
    ClipListModel* model = view->clipModel();
    model->updateClip(makeClip("d", "Fresh", "2024-05-01T15:59:00.000Z", 3.0, 9));
    QCOMPARE(model->rowCount(), 4);
    QCOMPARE(model->rowOf("d"), 0);
    auto changed = *model->clip("a");
    changed.record.title = "Old but renamed";
    model->updateClip(changed);
    QCOMPARE(model->rowCount(), 4);
    QCOMPARE(model->index(model->rowOf("a")).data().toString(), QString("Old but renamed"));
    model->removeClip("b");
    QCOMPARE(model->rowCount(), 3);
    QCOMPARE(model->rowOf("b"), -1);
}

void TestWidgets::exportFormatsAndBitDepths()
{
    QCOMPARE(ExportDialog::formatsFor(tmk::AudioContainer::Wav),
        QList<tmk::SampleFormat>({ tmk::SampleFormat::S16, tmk::SampleFormat::S24, tmk::SampleFormat::F32 }));
    QCOMPARE(ExportDialog::formatsFor(tmk::AudioContainer::Flac),
        QList<tmk::SampleFormat>({ tmk::SampleFormat::S16, tmk::SampleFormat::S24 }));
    QVERIFY(ExportDialog::formatsFor(tmk::AudioContainer::Ogg).isEmpty());

    QSettings().clear();
    ExportDialog dialog("Lofi beat");
    auto* depth = dialog.findChild<QComboBox*>("bitDepthCombo");
    QVERIFY(depth != nullptr);
    dialog.setContainer(tmk::AudioContainer::Wav);
    QCOMPARE(depth->count(), 3);
    QVERIFY(depth->isEnabled());
    dialog.setSampleFormat(tmk::SampleFormat::F32);
    QCOMPARE(dialog.choice().options.format, tmk::SampleFormat::F32);
    QVERIFY(dialog.path().endsWith("Lofi beat.wav"));

    dialog.setContainer(tmk::AudioContainer::Flac);
    QCOMPARE(depth->count(), 2);
    QCOMPARE(dialog.choice().options.container, tmk::AudioContainer::Flac);
    QCOMPARE(dialog.choice().options.format, tmk::SampleFormat::S16); // 32-bit float is not a FLAC depth
    dialog.setSampleFormat(tmk::SampleFormat::S24);
    QCOMPARE(dialog.choice().options.format, tmk::SampleFormat::S24);
    QVERIFY(dialog.path().endsWith("Lofi beat.flac")); // the extension follows the format

    dialog.setContainer(tmk::AudioContainer::Ogg);
    QVERIFY(!depth->isEnabled());
    QVERIFY(dialog.path().endsWith("Lofi beat.ogg"));
    QCOMPARE(dialog.choice().options.container, tmk::AudioContainer::Ogg);

    dialog.setComment("Tastemaker; prompt: lofi");
    QCOMPARE(dialog.choice().options.comment, std::string("Tastemaker; prompt: lofi"));
}

void TestWidgets::exportFileNames()
{
    QCOMPARE(ExportDialog::suggestedFileName("Lofi hip hop / take 2", tmk::AudioContainer::Wav),
        QString("Lofi hip hop - take 2.wav"));
    QCOMPARE(ExportDialog::suggestedFileName("what? \"yes\"", tmk::AudioContainer::Flac), QString("what yes.flac"));
    QCOMPARE(ExportDialog::suggestedFileName("", tmk::AudioContainer::Ogg), QString("clip.ogg"));
    QCOMPARE(ExportDialog::suggestedFileName("../secret", tmk::AudioContainer::Wav), QString("secret.wav"));
    ExportDialog dialog("x");
    dialog.setPath("/tmp/v1.2 mix");
    dialog.setContainer(tmk::AudioContainer::Flac);
    dialog.setContainer(tmk::AudioContainer::Wav);
    QCOMPARE(dialog.path(), QString("/tmp/v1.2 mix.wav"));
}

void TestWidgets::exportRemembersTheLastFolder()
{
    QSettings().clear();
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    {
        ExportDialog dialog("First clip");
        QVERIFY(!dialog.path().startsWith(dir.path()));
        dialog.setContainer(tmk::AudioContainer::Flac);
        dialog.setPath(dir.filePath("mine.flac"));
        dialog.accept();
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        QCOMPARE(dialog.choice().path, dir.filePath("mine.flac"));
    }
    QCOMPARE(QSettings().value("export/lastFolder").toString(), QFileInfo(dir.path()).absoluteFilePath());
    QCOMPARE(ExportDialog::lastFolder(), QFileInfo(dir.path()).absoluteFilePath());
    ExportDialog again("Second clip");
    QCOMPARE(again.path(), QDir(QFileInfo(dir.path()).absoluteFilePath()).filePath("Second clip.flac"));
    QCOMPARE(again.container(), tmk::AudioContainer::Flac); // the last format too
}

void TestWidgets::exportRefusesAMissingFolder()
{
    QTemporaryDir dir;
    ExportDialog dialog("Clip");
    dialog.show();
    dialog.setPath(dir.filePath("no/such/folder/clip.wav"));
    dialog.accept();
    QCOMPARE(dialog.result(), int(QDialog::Rejected));
    auto* problem = dialog.findChild<QLabel*>("problemLabel");
    QVERIFY(problem != nullptr && problem->isVisible());
    QVERIFY(problem->text().contains("does not exist"));
    dialog.setPath("");
    dialog.accept();
    QCOMPARE(dialog.result(), int(QDialog::Rejected));
}

void TestWidgets::welcomePanel()
{
    WelcomePanel panel;
    QSignalSpy openModel(&panel, &WelcomePanel::openModelRequested);
    QSignalSpy useDefault(&panel, &WelcomePanel::useDefaultModelRequested);
    QSignalSpy openBank(&panel, &WelcomePanel::openBankRequested);
    panel.openModelButton()->click();
    panel.defaultModelButton()->click();
    panel.openBankButton()->click();
    QCOMPARE(openModel.count(), 1);
    QCOMPARE(useDefault.count(), 1);
    QCOMPARE(openBank.count(), 1);
    QString text;
    for (const QLabel* label : panel.findChildren<QLabel*>()) {
        text += label->text();
    }
    QVERIFY(text.contains("huggingface-cli download facebook/musicgen-small --local-dir musicgen-small"));
    QVERIFY(text.contains("safetensors"));
    QVERIFY(text.contains(".bin"));
    panel.setDefaultModelAvailable(false, "This build has no default model");
    QVERIFY(!panel.defaultModelButton()->isEnabled());
    QCOMPARE(panel.defaultModelButton()->toolTip(), QString("This build has no default model"));
}

void TestWidgets::theme()
{
    const QPalette dark = themePalette(ThemeMode::Dark);
    const QPalette light = themePalette(ThemeMode::Light);
    QVERIFY(isDark(dark));
    QVERIFY(!isDark(light));
    qunsetenv("TASTEMAKER_THEME");
    QCOMPARE(preferredThemeMode(dark), ThemeMode::Dark);
    QCOMPARE(preferredThemeMode(light), ThemeMode::Light);
    qputenv("TASTEMAKER_THEME", "dark");
    QCOMPARE(preferredThemeMode(light), ThemeMode::Dark);
    qputenv("TASTEMAKER_THEME", "light");
    QCOMPARE(preferredThemeMode(dark), ThemeMode::Light);
    qputenv("TASTEMAKER_THEME", "dark");
    const ThemeMode applied = applyTheme(*qApp);
    qunsetenv("TASTEMAKER_THEME");
    QCOMPARE(applied, ThemeMode::Dark);
    QVERIFY(!qApp->styleSheet().isEmpty());
    QVERIFY(isDark(qApp->palette()));
    // Text stays readable: strong contrast between window and text in both palettes.
    for (const QPalette& palette : { dark, light }) {
        const double contrast
            = std::abs(palette.color(QPalette::Window).lightnessF() - palette.color(QPalette::WindowText).lightnessF());
        QVERIFY(contrast > 0.6);
        QVERIFY(accentColor(palette) != palette.color(QPalette::Window));
    }
}

// Renders the widgets together, as the main window will, in both palettes and at 2x, into
// <build>/test-out/widgets/ for a look by eye; asserts that something real was drawn.
void TestWidgets::galleryScreenshots()
{
    auto metrics = tmk::loadMetrics();
    QVERIFY(metrics.ok());
    const QString outDir = qEnvironmentVariable("TM_TEST_OUT", QDir::tempPath()) + "/widgets";
    QVERIFY(QDir().mkpath(outDir));
    for (const ThemeMode mode : { ThemeMode::Dark, ThemeMode::Light }) {
        qputenv("TASTEMAKER_THEME", mode == ThemeMode::Dark ? "dark" : "light");
        applyTheme(*qApp);
        qunsetenv("TASTEMAKER_THEME");

        QWidget window;
        auto* row = new QHBoxLayout(&window);
        auto* panel = new SliderPanel(*metrics);
        tmk::BankSummary bank;
        bank.dir = "/banks/demo";
        for (const auto& metric : *metrics) {
            if (metric.id != "rating") {
                bank.metrics.push_back(
                    { metric.id, "/b/" + metric.id + "+", metric.id == "tempo" ? "" : "/b/" + metric.id + "-" });
            }
        }
        panel->setBank(&bank);
        panel->setValues({ { "energy", 0.7 }, { "acousticness", -0.45 }, { "danceability", 0.25 }, { "tempo", 0.6 } });
        row->addWidget(panel, 3);
        auto* right = new QVBoxLayout;
        auto* wave = new WaveformView;
        std::vector<float> audio = sine(16000, 6.0, 0.6);
        for (size_t i = 0; i < audio.size(); ++i) {
            audio[i] *= static_cast<float>(0.3 + 0.7 * std::abs(std::sin(double(i) / 9000.0)));
        }
        wave->setAudio(audio, 16000);
        wave->setPlayhead(2.2);
        right->addWidget(wave);
        std::unique_ptr<ClipListView> clips(makeLibraryView());
        right->addWidget(clips.release(), 1);
        auto* empty = new WaveformView;
        right->addWidget(empty);
        row->addLayout(right, 2);
        window.resize(1280, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        panel->slider("energy")->setFocus();
        if (mode == ThemeMode::Light) {
            // Show the end of the list: "rating" is not in the bank, so it is greyed out.
            auto* scroll = panel->findChild<QScrollArea*>();
            QVERIFY(scroll != nullptr);
            scroll->verticalScrollBar()->setValue(scroll->verticalScrollBar()->maximum());
        }

        for (const int scale : { 1, 2 }) {
            QImage image(window.size() * scale, QImage::Format_ARGB32_Premultiplied);
            image.setDevicePixelRatio(scale);
            image.fill(window.palette().color(QPalette::Window));
            window.render(&image);
            const QString name = QString("%1/gallery-%2%3.png")
                                     .arg(outDir, mode == ThemeMode::Dark ? "dark" : "light", scale == 2 ? "-2x" : "");
            QVERIFY(image.save(name));
            QSet<QRgb> colours;
            for (int y = 0; y < image.height(); y += 7) {
                for (int x = 0; x < image.width(); x += 7) {
                    colours.insert(image.pixel(x, y));
                }
            }
            QVERIFY2(colours.size() > 20, qPrintable(name));
        }
        // The dialogs and the welcome panel on their own.
        ExportDialog dialog("Lofi hip hop / take 2");
        WelcomePanel welcome;
        welcome.resize(760, 420);
        for (QWidget* widget : { static_cast<QWidget*>(&dialog), static_cast<QWidget*>(&welcome) }) {
            widget->show();
            QVERIFY(QTest::qWaitForWindowExposed(widget));
            const QString name
                = QString("%1/%2-%3.png").arg(outDir, widget->objectName(), mode == ThemeMode::Dark ? "dark" : "light");
            QVERIFY(widget->grab().save(name));
        }
    }
}

TM_QTEST(TestWidgets);
#include "test_widgets.moc"
