// `analyse`: Spotify-style metrics measured from audio alone (tempo, loudness, mode, energy, ...) for files
// and folders (searched recursively), as a CSV on stdout or in --out. --calibrate and --fit compare the
// estimators with a rendered world's knobs and refit them (cmd_analyse_calibrate.cpp).
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "cmd_analyse_calibrate.h"
#include "commands.h"
#include "tastemaker/analysis.h"
#include "tastemaker/fileio.h"

namespace tmk::cli {

namespace {

CancelToken g_analyseCancel;

ProgressCallback analyseProgress()
{
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    return [terminal](const Progress& progress) {
        if (progress.total <= 0) return;
        const int64_t step = std::max<int64_t>(1, progress.total / 10);
        if (terminal)
            std::fprintf(stderr, "\r%s %lld/%lld files%s", progressStageName(progress.stage),
                static_cast<long long>(progress.done), static_cast<long long>(progress.total),
                progress.done == progress.total ? "\n" : "");
        else if (progress.done > 0 && (progress.done % step == 0 || progress.done == progress.total))
            std::fprintf(stderr, "%s %lld/%lld files\n", progressStageName(progress.stage),
                static_cast<long long>(progress.done), static_cast<long long>(progress.total));
    };
}

int runAnalyse(const Args& args)
{
    AnalysisOptions options;
    Expected<double> maxSeconds = args.number("max-seconds", 0.0);
    if (!maxSeconds) return reportError(maxSeconds.error());
    options.maxSeconds = *maxSeconds;
    if (Expected<void> valid = options.validate(); !valid) return reportError(valid.error());
    if (args.has("fit-acoustic")) return runFitAcoustic(args);
    if (args.has("fit-mode")) return runFitMode(args);
    if (args.has("fit-tempo")) return runFitTempo(args);
    if (args.has("calibrate") || args.has("fit")) return runAnalyseCalibration(args, options);
    if (args.positional().empty())
        return reportError(Error { ErrorCode::InvalidArgument, "name at least one audio file or folder" });

    std::vector<std::filesystem::path> inputs(args.positional().begin(), args.positional().end());
    std::signal(SIGINT, [](int) { g_analyseCancel.requestCancel(); });
    Expected<LibraryAnalysis> result = analyseLibrary(inputs, options, analyseProgress(), &g_analyseCancel);
    std::signal(SIGINT, SIG_DFL);
    if (!result) return reportError(result.error());
    if (auto out = args.get("out")) {
        if (Expected<void> written = writeMetricsCsv(*out, result->songs); !written)
            return reportError(written.error());
        std::cerr << "analysed " << result->songs.size() << " files into " << *out << " (" << result->skipped.size()
                  << " skipped)\n";
    } else {
        std::cout << metricsCsv(result->songs) << std::flush;
    }
    if (auto features = args.get("features")) {
        if (Expected<void> written = writeFileAtomic(*features, std::string_view(featuresCsv(result->songs))); !written)
            return reportError(written.error());
    }
    if (result->cancelled) {
        std::cerr << "tastemaker-cli: cancelled after " << result->songs.size() << " files\n";
        return kExitCancelled;
    }
    if (result->songs.empty() && !result->skipped.empty())
        return reportError(Error { ErrorCode::Format, "no file could be analysed (see the warnings above)" });
    return kExitOk;
}

} // namespace

Command analyseCommand()
{
    Command command;
    command.name = "analyse";
    command.summary = "Measure tempo, loudness, mode, energy, danceability, acousticness, valence, instrumentalness, "
                      "speechiness and liveness from audio files and folders (CSV, Spotify's names and scales).";
    command.positional = { "PATH..." };
    command.minPositional = 0;
    command.options = {
        { "out", OptionKind::Value, "FILE", "write the metrics CSV here (default: standard output)" },
        { "features", OptionKind::Value, "FILE", "also write the low-level descriptors of every file (CSV)" },
        { "max-seconds", OptionKind::Value, "SECONDS", "analyse at most this much of each file (default: all)" },
        { "calibrate", OptionKind::Value, "WORLD_DIR",
            "compare the estimators with the knobs of a rendered world (tracks.csv, knobs.csv) and print the report" },
        { "fit", OptionKind::RepeatedValue, "WORLD_DIR",
            "fit the learned estimators on rendered worlds (development seeds only)" },
        { "models-out", OptionKind::Value, "FILE", "with --fit: where the fitted models go (learned_models.inc)" },
        { "ridge", OptionKind::Value, "LAMBDA",
            "with --fit: the ridge penalty (default 0.05); with --fit-mode or --fit-tempo: 0.001" },
        { "fit-acoustic", OptionKind::RepeatedValue, "WORLD_DIR",
            "train the acoustic-share net on rendered worlds (development seeds only)" },
        { "fit-mode", OptionKind::RepeatedValue, "WORLD_DIR",
            "fit the mode classifier on rendered worlds (development seeds only)" },
        { "mode-out", OptionKind::Value, "FILE", "with --fit-mode: where the model goes (mode_model.inc)" },
        { "fit-tempo", OptionKind::RepeatedValue, "WORLD_DIR",
            "fit the tempo octave classifier on rendered worlds (development seeds only)" },
        { "tempo-out", OptionKind::Value, "FILE", "with --fit-tempo: where the models go (tempo_octave.inc)" },
        { "validate", OptionKind::RepeatedValue, "WORLD_DIR",
            "with --fit-acoustic, --fit-mode or --fit-tempo: report accuracy on these worlds" },
        { "net-out", OptionKind::Value, "FILE", "with --fit-acoustic: where the net goes (acoustic_net.inc)" },
        { "epochs", OptionKind::Value, "N", "with --fit-acoustic: passes over the songs (default 40)" },
        { "channels", OptionKind::Value, "C", "with --fit-acoustic: the net's width (default 64)" },
        { "seed", OptionKind::Value, "S", "with --fit-acoustic: the initial weights' and crops' seed (default 1)" },
    };
    command.run = runAnalyse;
    return command;
}

} // namespace tmk::cli
