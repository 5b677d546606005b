// The data page's "Analyse my library" (offscreen, no model): a folder of short WAVs (sine chords over
// click tracks, in two genre folders and at the top, plus one unreadable file) is analysed, the tracks CSV
// is written next to them without overwriting a file the user made, the tracks field is filled, and the
// pair builder's preview reads it (popularity unavailable). A cancel right after the start writes nothing.
// Nothing here depends on how fast the machine is: waits are QTRY_ with generous timeouts.
#include <cmath>
#include <filesystem>
#include <memory>
#include <set>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

#include "engine_bridge.h"
#include "qtest_registry.h"
#include "tastemaker/audio_file.h"
#include "training/data_page.h"
#include "training/library_tracks.h"
#include "training/training_bridge.h"
#include "training/wizard_context.h"
#include "training_fixture.h"

using namespace tmk::ui;
namespace fs = std::filesystem;

namespace {

constexpr int kAnalysisTimeoutMs = 120'000;

// A 3 s chord (root, third, fifth) over clicks at `bpm`, at 16 kHz; `i` varies pitch, level and tempo.
QString writeSong(const fs::path& path, int i)
{
    const int rate = 16000;
    const double bpm = 80.0 + 17.0 * i, root = 130.0 * std::pow(2.0, i / 12.0), level = 0.15 + 0.05 * (i % 4);
    std::vector<float> samples(static_cast<size_t>(3 * rate));
    const auto beatSamples = static_cast<size_t>(60.0 / bpm * rate);
    for (size_t n = 0; n < samples.size(); ++n) {
        const double t = static_cast<double>(n) / rate;
        double value = 0;
        for (double ratio : { 1.0, (i % 2 == 0) ? 1.26 : 1.19, 1.5 }) value += std::sin(2 * M_PI * root * ratio * t);
        const size_t sinceBeat = n % beatSamples;
        const double click = sinceBeat < 400 ? std::exp(-static_cast<double>(sinceBeat) / 60.0) : 0.0;
        samples[n] = static_cast<float>(level * value / 3 + 0.5 * click * std::sin(2 * M_PI * 2000 * t));
    }
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (auto written = tmk::writeAudioFile(path, samples, 1, rate, tmk::AudioWriteOptions {}); !written)
        return QString::fromStdString(written.error().message);
    return {};
}

QString readText(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return {};
    return QString::fromUtf8(file.readAll());
}

QStringList libraryCsvs(const QString& dir)
{
    QStringList names = QDir(dir).entryList({ QString(kLibraryTracksName) + "*.csv" }, QDir::Files);
    names.sort();
    return names;
}

} // namespace

class TestLibraryAnalysis : public QObject {
    Q_OBJECT

private:
    QString m_root;
    std::unique_ptr<EngineBridge> m_engine;
    std::unique_ptr<TrainingBridge> m_bridge;
    std::unique_ptr<WizardContext> m_context;
    std::unique_ptr<DataPage> m_page;

    // A folder with `count` songs: the first `count - 1` spread over rock/ and jazz/, the last at the top.
    void makeLibrary(const QString& dir, int count)
    {
        QDir(dir).removeRecursively();
        QVERIFY(QDir().mkpath(dir));
        for (int i = 0; i < count; ++i) {
            const QString sub = i + 1 == count ? QString() : (i % 2 == 0 ? "rock/" : "jazz/");
            const QString problem = writeSong((dir + "/" + sub + QString("song%1.wav").arg(i)).toStdString(), i);
            QVERIFY2(problem.isEmpty(), qPrintable(problem));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("TastemakerTest");
        QCoreApplication::setApplicationName("TestLibraryAnalysis");
        QSettings().clear(); // the page restores its fields from the settings
        m_root = tmk::test::testOutDir() + "/ui-library-analysis";
        QDir(m_root).removeRecursively();
        EngineBridgeOptions options;
        options.libraryDir = m_root + "/clips";
        options.openAudio = false;
        m_engine = std::make_unique<EngineBridge>(options);
        m_bridge = std::make_unique<TrainingBridge>(*m_engine);
        m_context = std::make_unique<WizardContext>(*m_bridge);
        m_page = std::make_unique<DataPage>(*m_context);
        m_page->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_page.get()));
    }

    void analysesTheFolderIntoATracksCsv()
    {
        const QString dir = m_root + "/library";
        makeLibrary(dir, 6); // rock: 0 2 4, jazz: 1 3, top: 5
        QFile broken(dir + "/rock/broken.wav");
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write("this is not a WAV file");
        broken.close();
        // A file of the CSV's name that the user made is never overwritten.
        const QString userFile = dir + "/tastemaker-tracks.csv";
        QFile user(userFile);
        QVERIFY(user.open(QIODevice::WriteOnly));
        user.write("my,own,notes\n1,2,3\n");
        user.close();

        m_page->setTracksCsv(QString());
        m_page->setAudioDir(dir);
        QVERIFY(m_page->analyseButton()->isEnabled());
        QVERIFY(!m_page->cancelAnalysisButton()->isEnabled());
        QTest::mouseClick(m_page->analyseButton(), Qt::LeftButton);
        QVERIFY(m_page->analysing());
        QVERIFY(m_page->cancelAnalysisButton()->isEnabled());
        QVERIFY(!m_page->previewButton()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(!m_page->analysing(), kAnalysisTimeoutMs);

        const QString written = dir + "/tastemaker-tracks-2.csv";
        QVERIFY2(m_page->messageText().contains("Analysed 6 files"), qPrintable(m_page->messageText()));
        QVERIFY2(m_page->messageText().contains("Skipped 1"), qPrintable(m_page->messageText()));
        QCOMPARE(m_page->findChild<QLineEdit*>("tracksCsv")->text(), written);
        QCOMPARE(m_page->analysisProgress()->value(), m_page->analysisProgress()->maximum());
        QCOMPARE(readText(userFile), QString("my,own,notes\n1,2,3\n"));

        const QStringList lines = readText(written).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 7);
        QCOMPARE(lines.front(), QString::fromStdString(libraryTracksHeader()));
        const QStringList header = lines.front().split(',');
        for (const char* column : { "track_id", "track_genre", "audio_path", "danceability", "energy", "loudness",
                 "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo", "mode" })
            QVERIFY2(header.contains(column), column);
        QVERIFY(!header.contains("popularity"));
        std::set<QString> genres, paths;
        for (int row = 1; row < lines.size(); ++row) {
            const QStringList fields = lines[row].split(',');
            QCOMPARE(fields.size(), header.size());
            genres.insert(fields[header.indexOf("track_genre")]);
            const QString audioPath = fields[header.indexOf("audio_path")];
            QVERIFY2(QFileInfo(dir + "/" + audioPath).isFile(), qPrintable(audioPath));
            paths.insert(audioPath);
        }
        QCOMPARE(paths.size(), size_t(6));
        QCOMPARE(genres, (std::set<QString> { "rock", "jazz", "library" }));

        // The pair builder reads it: every song has audio, the analysed metrics are available, popularity is not.
        QSignalSpy finished(m_bridge.get(), &TrainingBridge::previewFinished);
        QVERIFY(m_page->previewButton()->isEnabled());
        QTest::mouseClick(m_page->previewButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, kAnalysisTimeoutMs);
        const auto report = finished.first().at(0).value<tmk::PairReport>();
        QCOMPARE(report.songs, int64_t(6));
        QCOMPARE(report.songsWithAudio, int64_t(6));
        QVERIFY(report.find("tempo") && report.find("tempo")->available);
        QVERIFY(report.find("energy") && report.find("energy")->available);
        QVERIFY(report.find("popularity") && !report.find("popularity")->available);
        QVERIFY(!report.find("popularity")->unavailableReason.empty());

        // Analysing again replaces Tastemaker's own file, not the user's.
        QTest::mouseClick(m_page->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!m_page->analysing(), kAnalysisTimeoutMs);
        QCOMPARE(m_page->findChild<QLineEdit*>("tracksCsv")->text(), written);
        QCOMPARE(libraryCsvs(dir), (QStringList { "tastemaker-tracks-2.csv", "tastemaker-tracks.csv" }));
    }

    void cancelRightAfterTheStartWritesNothing()
    {
        const QString dir = m_root + "/cancelled";
        makeLibrary(dir, 4);
        m_page->setTracksCsv(QString());
        m_page->setAudioDir(dir);
        QTest::mouseClick(m_page->analyseButton(), Qt::LeftButton);
        QVERIFY(m_page->analysing());
        QTest::mouseClick(m_page->cancelAnalysisButton(), Qt::LeftButton);
        QVERIFY(!m_page->analysing());
        QVERIFY2(m_page->messageText().contains("cancelled"), qPrintable(m_page->messageText()));
        QVERIFY(m_page->analyseButton()->isEnabled());
        // The job stops before its next file; whatever it would still report is dropped.
        QTRY_VERIFY_WITH_TIMEOUT(!m_bridge->analysisBusy(), kAnalysisTimeoutMs);
        QTest::qWait(50); // deliver anything it posted
        QVERIFY(!m_page->analysing());
        QVERIFY(libraryCsvs(dir).isEmpty());
        QVERIFY(m_page->findChild<QLineEdit*>("tracksCsv")->text().isEmpty());
    }

    void cleanupTestCase()
    {
        m_page.reset();
        m_context.reset();
        m_bridge.reset();
        if (m_engine) m_engine->shutdown();
        m_engine.reset();
    }
};

TM_QTEST(TestLibraryAnalysis);
#include "test_library_analysis.moc"
