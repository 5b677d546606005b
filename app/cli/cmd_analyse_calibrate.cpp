// Calibration of the Analyser on a rendered world: each song's audio is analysed and compared with the
// values the generator wrote in tracks.csv (tempo, mode, and the 0..1 metrics derived from its knobs).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

#include "analysis/model_fit.h"
#include "cmd_analyse_calibrate.h"
#include "commands.h"
#include "tastemaker/fileio.h"
#include "training/csv_reader.h"

namespace tmk::cli {

namespace {

const std::vector<std::string> kTruthColumns = {"tempo",        "mode",         "energy",           "danceability",
                                                "acousticness", "valence",      "instrumentalness", "speechiness",
                                                "liveness"};

struct WorldSong {
    std::filesystem::path audio;
    std::map<std::string, double> truth;
    AudioMetrics measured;
};

Expected<std::vector<WorldSong>> readWorld(const std::filesystem::path& dir)
{
    Expected<CsvReader> csv = CsvReader::open(dir / "tracks.csv");
    if (!csv) return csv.error();
    const int audioColumn = csv->findColumn("audio_path");
    if (audioColumn < 0) return Error::inFile(ErrorCode::Format, (dir / "tracks.csv").string(), "no audio_path column");
    std::map<std::string, int> columns;
    for (const std::string& name : kTruthColumns) {
        columns[name] = csv->findColumn(name);
        if (columns[name] < 0)
            return Error::inFile(ErrorCode::Format, (dir / "tracks.csv").string(), "no " + name + " column");
    }
    std::vector<WorldSong> songs;
    while (csv->next()) {
        WorldSong song;
        song.audio = std::filesystem::path(std::string(csv->field(audioColumn)));
        if (song.audio.is_relative()) song.audio = dir / song.audio;
        for (const auto& [name, column] : columns) song.truth[name] = parseCsvNumber(csv->field(column)).value_or(NAN);
        songs.push_back(std::move(song));
    }
    return songs;
}

Expected<void> analyseWorld(std::vector<WorldSong>& songs, const AnalysisOptions& options)
{
    for (size_t i = 0; i < songs.size(); ++i) {
        Expected<AudioMetrics> m = analyseFile(songs[i].audio, options);
        if (!m) return m.error();
        songs[i].measured = std::move(*m);
        if ((i + 1) % 50 == 0 || i + 1 == songs.size()) std::fprintf(stderr, "analysed %zu/%zu songs\n", i + 1, songs.size());
    }
    return {};
}

double measuredValue(const AudioMetrics& m, const std::string& name)
{
    if (name == "energy") return m.energy;
    if (name == "danceability") return m.danceability;
    if (name == "acousticness") return m.acousticness;
    if (name == "valence") return m.valence;
    if (name == "instrumentalness") return m.instrumentalness;
    if (name == "speechiness") return m.speechiness;
    if (name == "liveness") return m.liveness;
    return NAN;
}

void printReport(const std::vector<WorldSong>& songs, const std::filesystem::path& dir)
{
    const double n = static_cast<double>(songs.size());
    int tempoHits = 0, octaveErrors = 0, modeHits = 0, acousticHits = 0;
    for (const WorldSong& s : songs) {
        const double truth = s.truth.at("tempo"), est = s.measured.tempoBpm;
        if (std::abs(est - truth) <= 0.02 * truth) ++tempoHits;
        else if (std::abs(est - 2 * truth) <= 0.04 * truth || std::abs(est - truth / 2) <= 0.01 * truth) ++octaveErrors;
        if (s.measured.mode == static_cast<int>(s.truth.at("mode"))) ++modeHits;
        if ((s.measured.acousticness >= 0.5) == (s.truth.at("acousticness") >= 0.5)) ++acousticHits;
    }
    std::printf("# Analyser calibration on %s (%zu songs)\n\n| estimator | figure | target | met |\n|---|---|---|---|\n",
                dir.string().c_str(), songs.size());
    auto row = [](const char* name, double value, const char* target, bool met) {
        std::printf("| %s | %.3f | %s | %s |\n", name, value, target, met ? "yes" : "no");
    };
    row("tempo within 2% (share)", tempoHits / n, ">= 0.95", tempoHits / n >= 0.95);
    std::printf("| tempo octave errors (share) | %.3f | (counted as misses) | |\n", octaveErrors / n);
    row("mode correct (share)", modeHits / n, ">= 0.95", modeHits / n >= 0.95);
    row("acoustic vs electronic correct (share)", acousticHits / n, ">= 0.95", acousticHits / n >= 0.95);
    for (const std::string& name : {"energy", "danceability", "speechiness", "instrumentalness", "liveness",
                                    "acousticness", "valence"}) {
        std::vector<double> a, b;
        for (const WorldSong& s : songs) {
            a.push_back(measuredValue(s.measured, name));
            b.push_back(s.truth.at(name));
        }
        const double rho = analysis::spearman(a, b);
        const bool targeted = name != "acousticness" && name != "valence";
        row(("Spearman " + name).c_str(), rho, targeted ? ">= 0.7" : "(reported)", !targeted || rho >= 0.7);
    }
}

int runFit(const Args& args, const AnalysisOptions& options)
{
    std::vector<AnalysisFeatures> features;
    std::map<std::string, std::vector<double>> targets;
    for (const std::string& dir : args.getAll("fit")) {
        Expected<std::vector<WorldSong>> songs = readWorld(dir);
        if (!songs) return reportError(songs.error());
        if (Expected<void> ok = analyseWorld(*songs, options); !ok) return reportError(ok.error());
        for (const WorldSong& s : *songs) {
            features.push_back(s.measured.features);
            for (const auto& [name, value] : s.truth) targets[name].push_back(value);
        }
    }
    Expected<double> lambda = args.number("ridge", 0.05);
    if (!lambda) return reportError(lambda.error());
    std::vector<analysis::LinearModel> models;
    for (const std::string& name :
         {"energy", "danceability", "acousticness", "valence", "instrumentalness", "speechiness", "liveness"}) {
        models.push_back(analysis::fitLogitRidge(name, features, targets[name], {}, *lambda));
        std::vector<double> predicted;
        for (const AnalysisFeatures& f : features) predicted.push_back(analysis::modelValue(models.back(), f));
        std::fprintf(stderr, "%s: in-sample Spearman %.3f\n", name.c_str(), analysis::spearman(predicted, targets[name]));
    }
    std::string worlds;
    for (const std::string& dir : args.getAll("fit")) worlds += " " + std::filesystem::path(dir).filename().string();
    const std::string text = analysis::modelsToInc(
        models, "Fitted by `tastemaker-cli analyse --fit` on " + std::to_string(features.size()) + " songs of the worlds"
                    + worlds + " (ridge " + std::to_string(*lambda) + "); see docs/world-calibration.md.");
    if (auto out = args.get("models-out")) {
        if (Expected<void> ok = writeFileAtomic(*out, std::string_view(text)); !ok) return reportError(ok.error());
    } else {
        std::cout << text;
    }
    return kExitOk;
}

}  // namespace

int runAnalyseCalibration(const Args& args, const AnalysisOptions& options)
{
    if (args.has("fit")) return runFit(args, options);
    const std::filesystem::path dir = *args.get("calibrate");
    Expected<std::vector<WorldSong>> songs = readWorld(dir);
    if (!songs) return reportError(songs.error());
    if (songs->empty()) return reportError(Error::inFile(ErrorCode::Format, (dir / "tracks.csv").string(), "no songs"));
    if (Expected<void> ok = analyseWorld(*songs, options); !ok) return reportError(ok.error());
    printReport(*songs, dir);
    return kExitOk;
}

}  // namespace tmk::cli
