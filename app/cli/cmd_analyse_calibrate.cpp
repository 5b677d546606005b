// `analyse --calibrate WORLD_DIR` and `analyse --fit WORLD_DIR... [--models-out FILE]` (engine/analysis/calibration.h).
#include "cmd_analyse_calibrate.h"

#include <cstdio>
#include <iostream>

#include "analysis/calibration.h"
#include "commands.h"
#include "tastemaker/fileio.h"

namespace tmk::cli {

namespace {

ProgressCallback worldProgress(const std::string& dir)
{
    return [dir](const Progress& p) {
        if (p.done % 50 == 0 || p.done == p.total)
            std::fprintf(stderr, "%s: analysed %lld/%lld songs\n", dir.c_str(), static_cast<long long>(p.done),
                static_cast<long long>(p.total));
    };
}

Expected<std::vector<analysis::WorldSong>> analyseWorld(const std::string& dir, const AnalysisOptions& options)
{
    Expected<std::vector<analysis::WorldSong>> songs = analysis::readWorldTracks(dir);
    if (!songs) return songs.error();
    if (songs->empty()) return Error::inFile(ErrorCode::Format, dir + "/tracks.csv", "no songs");
    TMK_TRY(analysis::analyseWorldSongs(*songs, options, worldProgress(dir), nullptr));
    return songs;
}

int runFit(const Args& args, const AnalysisOptions& options)
{
    std::vector<analysis::WorldSong> all;
    std::string worlds;
    for (const std::string& dir : args.getAll("fit")) {
        Expected<std::vector<analysis::WorldSong>> songs = analyseWorld(dir, options);
        if (!songs) return reportError(songs.error());
        all.insert(all.end(), songs->begin(), songs->end());
        worlds += " " + dir;
    }
    Expected<double> lambda = args.number("ridge", 0.05);
    if (!lambda) return reportError(lambda.error());
    std::string log;
    const std::vector<analysis::LinearModel> models = analysis::fitEstimators(all, *lambda, log);
    std::cerr << log;
    char ridge[32];
    std::snprintf(ridge, sizeof ridge, "%g", *lambda);
    const std::string text = analysis::modelsToInc(models,
        "Fitted by `tastemaker-cli analyse --fit" + worlds + " --ridge " + ridge + "` on " + std::to_string(all.size())
            + " songs; see docs/world.md (section Calibration).");
    if (auto out = args.get("models-out")) {
        if (Expected<void> ok = writeFileAtomic(*out, std::string_view(text)); !ok) return reportError(ok.error());
    } else {
        std::cout << text;
    }
    return kExitOk;
}

} // namespace

int runAnalyseCalibration(const Args& args, const AnalysisOptions& options)
{
    if (args.has("fit")) return runFit(args, options);
    const std::string dir = *args.get("calibrate");
    Expected<std::vector<analysis::WorldSong>> songs = analyseWorld(dir, options);
    if (!songs) return reportError(songs.error());
    std::cout << analysis::calibrationReport(*songs, dir);
    if (auto out = args.get("out")) {
        std::vector<AudioMetrics> metrics;
        for (const analysis::WorldSong& s : *songs) metrics.push_back(s.measured);
        if (Expected<void> ok = writeMetricsCsv(*out, metrics); !ok) return reportError(ok.error());
    }
    return kExitOk;
}

} // namespace tmk::cli
