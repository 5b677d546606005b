// A small synthetic training set for the training wizard's tests, made at run time: a Spotify-Tracks CSV
// of `songs` songs in two genres (distinct, deterministic audio features and metrics) and one short WAV
// per song in an audio folder, plus an empty adapter bank. Header-only; used by tests/ui/test_training_*.
#pragma once

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <QDir>
#include <QFile>
#include <QString>
#include <QTextStream>

#include "tastemaker/audio_file.h"

namespace tmk::test {

// The Spotify Tracks header (../shared/data/PROVENANCE.md).
inline constexpr const char* kSpotifyTracksHeader
    = ",track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,loudness,mode,"
      "speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,track_genre";

struct TrainingFixture {
    QString root; // everything below lives here
    QString tracksCsv; // root/tracks.csv
    QString audioDir; // root/audio
    QString bankDir; // root/bank (bank.json without adapters)
    QString runsRoot; // root/runs (not created)
    int songs = 0;
};

// A deterministic value in [0, 1) for song i and column k (distinct across songs, so no ties).
inline double fixtureValue(int i, int k)
{
    const double x = std::sin(i * 12.9898 + k * 78.233 + 0.5) * 43758.5453;
    return x - std::floor(x);
}

inline QString fixtureTrackId(int i)
{
    return QString("trk%1").arg(i, 3, 10, QChar('0'));
}

// Writes the fixture under `root` (emptied first). Returns an empty string on success, else the problem.
inline QString makeTrainingFixture(const QString& root, int songs, TrainingFixture& out, double audioSeconds = 1.5)
{
    QDir(root).removeRecursively();
    if (!QDir().mkpath(root + "/audio") || !QDir().mkpath(root + "/bank")) return "cannot create " + root;
    out.root = root;
    out.tracksCsv = root + "/tracks.csv";
    out.audioDir = root + "/audio";
    out.bankDir = root + "/bank";
    out.runsRoot = root + "/runs";
    out.songs = songs;

    QFile csv(out.tracksCsv);
    if (!csv.open(QIODevice::WriteOnly | QIODevice::Text)) return "cannot write " + out.tracksCsv;
    QTextStream stream(&csv);
    stream << kSpotifyTracksHeader << "\n";
    for (int i = 0; i < songs; ++i) {
        auto v = [i](int k) { return QString::number(fixtureValue(i, k), 'f', 4); };
        const QString genre = i % 2 == 0 ? "rock" : "jazz";
        stream << i << "," << fixtureTrackId(i) << ",Artist " << i << ",Album " << i << ",Song " << i << ","
               << (5 + static_cast<int>(fixtureValue(i, 1) * 90)) << "," << (150000 + i * 1731) << ",False," << v(2)
               << "," << v(3) << "," << (i % 12) << "," << QString::number(-20.0 + 15.0 * fixtureValue(i, 4), 'f', 3)
               << "," << (i % 2) << "," << v(5) << "," << v(6) << "," << v(7) << "," << v(8) << "," << v(9) << ","
               << QString::number(80.0 + 80.0 * fixtureValue(i, 10), 'f', 3) << ",4," << genre << "\n";
    }
    csv.close();

    const int rate = 32000;
    for (int i = 0; i < songs; ++i) {
        std::vector<float> samples(static_cast<size_t>(audioSeconds * rate));
        const double frequency = 110.0 * (1 + i % 7) + 3.0 * i;
        for (size_t n = 0; n < samples.size(); ++n) {
            const double t = static_cast<double>(n) / rate;
            samples[n] = static_cast<float>(
                0.3 * std::sin(2 * M_PI * frequency * t) + 0.1 * std::sin(2 * M_PI * 2.5 * frequency * t));
        }
        const std::filesystem::path path = (out.audioDir + "/" + fixtureTrackId(i) + ".wav").toStdString();
        if (auto written = writeAudioFile(path, samples, 1, rate, AudioWriteOptions {}); !written)
            return QString::fromStdString(written.error().message);
    }

    QFile bank(out.bankDir + "/bank.json");
    if (!bank.open(QIODevice::WriteOnly | QIODevice::Text)) return "cannot write the bank";
    bank.write("{\"format\": 1, \"base_model\": \"musicgen-tiny-public\", \"metrics\": {}}\n");
    return {};
}

// tests/data (TM_TEST_DATA) and the build tree's test output folder (TM_TEST_OUT).
inline QString testDataDir()
{
    return qEnvironmentVariable("TM_TEST_DATA", "tests/data");
}
inline QString testOutDir()
{
    return qEnvironmentVariable("TM_TEST_OUT", QDir::tempPath());
}
inline QString tinyModelDir()
{
    return testDataDir() + "/musicgen-tiny-public";
}

} // namespace tmk::test
