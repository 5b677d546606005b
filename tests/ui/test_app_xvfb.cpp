// Launches the real `tastemaker` binary on the Xvfb display (TM_XVFB_DISPLAY, started by
// packaging/with-test-env.sh) with QT_QPA_PLATFORM=xcb, drives it with `--script` (types a prompt, drags
// sliders, presses Generate: ordinary Qt input events) and saves screenshots to
// <build>/test-out/screenshots/. Then it runs the app once more offscreen at QT_SCALE_FACTOR=2 with the
// dark theme. The PNGs must exist, have the window's size and not be blank, and each step must change
// what the window shows.
#include <cmath>

#include <QDir>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QTest>

#include "app_test_support.h"
#include "qtest_registry.h"

namespace {

struct Shot {
    QString path;
    QSize size;
};

struct Run {
    int exitCode = -1;
    QString output;
    std::vector<Shot> shots;
};

Run runApp(const QString& script, const QString& workDir, const QProcessEnvironment& extraEnv)
{
    QFile file(workDir + "/script.txt");
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) return {};
    file.write(script.toUtf8());
    file.close();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    // Settings and data of this run only: never the user's.
    env.insert("XDG_CONFIG_HOME", workDir + "/config");
    env.insert("XDG_DATA_HOME", workDir + "/data");
    env.insert("XDG_CACHE_HOME", workDir + "/cache");
    for (const QString& key : extraEnv.keys()) env.insert(key, extraEnv.value(key));
    QProcess app;
    app.setProcessEnvironment(env);
    app.setProcessChannelMode(QProcess::MergedChannels);
    app.start(QStringLiteral(TM_APP_BINARY),
        { "--model", tmk::test::fixtureModelDir(), "--bank", tmk::test::fixtureBankDir(), "--library",
            workDir + "/library", "--script", file.fileName() });
    Run run;
    if (!app.waitForFinished(90000)) {
        app.kill();
        app.waitForFinished();
    }
    run.output = QString::fromUtf8(app.readAll());
    run.exitCode = app.exitStatus() == QProcess::NormalExit ? app.exitCode() : -1;
    static const QRegularExpression shotLine(
        "^script: screenshot (\\S+) (\\d+)x(\\d+)$", QRegularExpression::MultilineOption);
    for (auto it = shotLine.globalMatch(run.output); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        run.shots.push_back({ m.captured(1), QSize(m.captured(2).toInt(), m.captured(3).toInt()) });
    }
    return run;
}

// Standard deviation of the grey levels (0..255): a blank or one-colour image is near 0.
double greyDeviation(const QImage& image)
{
    const QImage grey = image.convertToFormat(QImage::Format_Grayscale8);
    double sum = 0, sumSquares = 0;
    const double count = double(grey.width()) * grey.height();
    for (int y = 0; y < grey.height(); ++y) {
        const uchar* line = grey.constScanLine(y);
        for (int x = 0; x < grey.width(); ++x) {
            sum += line[x];
            sumSquares += double(line[x]) * line[x];
        }
    }
    const double mean = sum / count;
    return std::sqrt(std::max(0.0, sumSquares / count - mean * mean));
}

// The share of pixels that differ between two images of one size.
double changedFraction(const QImage& a, const QImage& b)
{
    const QImage x = a.convertToFormat(QImage::Format_RGB32), y = b.convertToFormat(QImage::Format_RGB32);
    if (x.size() != y.size()) return 1.0;
    qint64 changed = 0;
    for (int row = 0; row < x.height(); ++row) {
        const QRgb* p = reinterpret_cast<const QRgb*>(x.constScanLine(row));
        const QRgb* q = reinterpret_cast<const QRgb*>(y.constScanLine(row));
        for (int col = 0; col < x.width(); ++col) changed += p[col] != q[col];
    }
    return double(changed) / (double(x.width()) * x.height());
}

void checkShot(const Shot& shot, QSize expected)
{
    QVERIFY2(QFile::exists(shot.path), qPrintable(shot.path));
    QImage image(shot.path);
    QVERIFY2(!image.isNull(), qPrintable(shot.path));
    QCOMPARE(image.size(), shot.size);
    QCOMPARE(image.size(), expected);
    const double deviation = greyDeviation(image);
    QVERIFY2(deviation > 8.0, qPrintable(QString("%1 looks blank (grey deviation %2)").arg(shot.path).arg(deviation)));
}

} // namespace

class TestAppXvfb : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void drivesTheRealAppAndTakesScreenshots()
    {
        const QString display = qEnvironmentVariable("TM_XVFB_DISPLAY");
        if (display.isEmpty()) QSKIP("TM_XVFB_DISPLAY is not set: run through packaging/with-test-env.sh (needs Xvfb)");
        const QString work = tmk::test::freshOutDir("app-xvfb");
        const QString shots = tmk::test::freshOutDir("screenshots");
        const QString script = QStringLiteral("resize 1280 800\n"
                                              "wait-model 30\n"
                                              "wait-bank 30\n"
                                              "sleep 300\n"
                                              "screenshot %1/01-start.png\n"
                                              "type promptBox Classic rock, electric guitar, keyboard, drums\n"
                                              "drag-slider energy 0.7\n"
                                              "drag-slider danceability -0.45\n"
                                              "key slider:tempo Right 6\n"
                                              "type durationBox 12\n"
                                              "wait-idle 30\n"
                                              "sleep 300\n"
                                              "screenshot %1/02-prompt-and-sliders.png\n"
                                              "click generateButton\n"
                                              "wait-progress 30\n"
                                              "screenshot %1/03-generating.png\n"
                                              "wait-generated 1 60\n"
                                              "sleep 500\n"
                                              "screenshot %1/04-generated.png\n"
                                              "quit\n")
                                   .arg(shots);
        QProcessEnvironment env;
        env.insert("DISPLAY", display);
        env.insert("QT_QPA_PLATFORM", "xcb");
        const Run run = runApp(script, work, env);
        QVERIFY2(run.exitCode == 0, qPrintable(run.output));
        QCOMPARE(run.shots.size(), size_t(4));
        for (const Shot& shot : run.shots) checkShot(shot, QSize(1280, 800));
        QImage start(run.shots[0].path), edited(run.shots[1].path), generating(run.shots[2].path),
            done(run.shots[3].path);
        QVERIFY(changedFraction(start, edited) > 0.001); // the prompt and the sliders moved
        QVERIFY(changedFraction(edited, generating) > 0.001); // Stop, progress, streaming waveform
        QVERIFY(changedFraction(edited, done) > 0.001); // the new clip in the list and its waveform
        QCOMPARE(QDir(work + "/library").entryList({ "*.wav" }, QDir::Files).size(), 1);
        QVERIFY(run.output.contains("script: click generateButton"));
    }

    void twiceTheScaleInTheDarkTheme()
    {
        const QString work = tmk::test::freshOutDir("app-xvfb-2x");
        const QString shots = tmk::test::freshOutDir("screenshots-2x");
        const QString script = QStringLiteral("resize 1280 800\n"
                                              "wait-model 30\n"
                                              "wait-bank 30\n"
                                              "type promptBox Lofi hip hop, dusty piano, vinyl crackle\n"
                                              "drag-slider acousticness 0.55\n"
                                              "type durationBox 4\n"
                                              "click generateButton\n"
                                              "wait-generated 1 60\n"
                                              "sleep 300\n"
                                              "screenshot %1/05-dark-2x.png\n"
                                              "quit\n")
                                   .arg(shots);
        QProcessEnvironment env;
        env.insert("QT_QPA_PLATFORM", "offscreen");
        env.insert("QT_SCALE_FACTOR", "2");
        env.insert("TASTEMAKER_THEME", "dark");
        const Run run = runApp(script, work, env);
        QVERIFY2(run.exitCode == 0, qPrintable(run.output));
        QCOMPARE(run.shots.size(), size_t(1));
        checkShot(run.shots[0], QSize(2560, 1600));
        // Dark: most pixels are dark.
        const QImage image = QImage(run.shots[0].path).convertToFormat(QImage::Format_Grayscale8);
        qint64 dark = 0;
        for (int y = 0; y < image.height(); y += 4)
            for (int x = 0; x < image.width(); x += 4) dark += image.pixelColor(x, y).value() < 100;
        QVERIFY(dark > (image.width() / 4) * (image.height() / 4) / 2);
    }
};

TM_QTEST(TestAppXvfb);
#include "test_app_xvfb.moc"
