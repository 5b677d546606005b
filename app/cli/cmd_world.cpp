// `world render`: the procedural world of tagged songs (docs/world.md).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <unistd.h>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/world/world.h"

namespace tmk::cli {

namespace {

CancelToken g_worldCancel;

// Songs done, rate and ETA on one updating line (a terminal) or every 10% (a log).
ProgressCallback progressWithEta()
{
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    const auto start = std::chrono::steady_clock::now();
    auto lastDecile = std::make_shared<int64_t>(-1);
    return [=](const Progress& p) {
        if (p.total <= 0) return;
        const int64_t decile = 10 * p.done / p.total;
        if (!terminal && decile == *lastDecile && p.done != p.total) return;
        *lastDecile = decile;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double eta
            = p.done > 0 ? elapsed * static_cast<double>(p.total - p.done) / static_cast<double>(p.done) : 0.0;
        std::fprintf(stderr, "%s%s %lld/%lld (%3.0f%%) elapsed %s, ETA %s%s", terminal ? "\r" : "",
            progressStageName(p.stage), static_cast<long long>(p.done), static_cast<long long>(p.total),
            100.0 * p.fraction(), clockText(elapsed).c_str(), clockText(eta).c_str(),
            terminal && p.done != p.total ? "   " : "\n");
    };
}

int runWorld(const Args& args)
{
    if (args.positional().at(0) != "render")
        return reportError(Error { ErrorCode::InvalidArgument, "world: the only action is 'render'" });
    Expected<long long> songs = args.integer("songs", 100);
    Expected<long long> seed = args.integer("seed", 0);
    Expected<double> seconds = args.number("seconds", 15.0);
    Expected<long long> jobs = args.integer("jobs", 2);
    Expected<double> youtube = args.number("youtube-fraction", 0.5);
    for (const Error* e :
        { songs ? nullptr : &songs.error(), seed ? nullptr : &seed.error(), seconds ? nullptr : &seconds.error(),
            jobs ? nullptr : &jobs.error(), youtube ? nullptr : &youtube.error() })
        if (e) return reportError(*e);
    if (*seed < 0)
        return reportError(Error { ErrorCode::InvalidArgument, "world render: --seed must not be negative" });
    world::WorldOptions options;
    options.songs = static_cast<int>(std::min<long long>(*songs, 1000000));
    options.seed = static_cast<uint64_t>(*seed);
    options.secondsPerSong = *seconds;
    options.jobs = static_cast<int>(std::min<long long>(*jobs, 1000));
    options.outDir = *args.get("out");
    options.soundfont = args.getOr("soundfont", "");
    options.genres = splitList(args.getOr("genres", ""));
    options.youtubeFraction = *youtube;
    if (Expected<void> valid = options.validate(); !valid) return reportError(valid.error());
    std::signal(SIGINT, [](int) { g_worldCancel.requestCancel(); });
    const auto start = std::chrono::steady_clock::now();
    Expected<world::WorldSummary> summary = world::renderWorld(options, progressWithEta(), &g_worldCancel);
    if (!summary) {
        if (summary.error().code == ErrorCode::Cancelled) {
            std::cerr << "tastemaker-cli: " << summary.error().message << "\n";
            return kExitCancelled;
        }
        return reportError(summary.error());
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "rendered %d songs (%.0f s of audio, %.1f MB) with %d YouTube rows into %s in %.1f s (%.0fx real time)\n",
        summary->songs, summary->audioSeconds, static_cast<double>(summary->audioBytes) / 1e6, summary->youtubeRows,
        options.outDir.c_str(), elapsed, elapsed > 0 ? summary->audioSeconds / elapsed : 0.0);
    return kExitOk;
}

} // namespace

Command worldCommand()
{
    Command command;
    command.name = "world";
    command.summary = "Render the procedural world: tagged songs (FluidSynth) with tracks.csv, youtube.csv, "
                      "prompts.csv and knobs.csv (docs/world.md).";
    command.options = {
        { "songs", OptionKind::Value, "N", "number of songs (default 100)" },
        { "seed", OptionKind::Value, "S", "world seed (default 0); the same seed gives byte-identical files" },
        { "seconds", OptionKind::Value, "L", "length of each song in seconds (default 15)" },
        { "out", OptionKind::Value, "DIR", "folder to write (audio/, tracks.csv, youtube.csv, prompts.csv, knobs.csv)",
            true },
        { "soundfont", OptionKind::Value, "SF2",
            "General MIDI soundfont (default /usr/share/sounds/sf2/FluidR3_GM.sf2)" },
        { "jobs", OptionKind::Value, "N",
            "worker threads, each with its own synth (default 2); output does not depend on it" },
        { "genres", OptionKind::Value, "LIST", "comma-separated genres to use (default all twelve)" },
        { "youtube-fraction", OptionKind::Value, "F", "share of songs with a YouTube row (default 0.5)" },
    };
    command.positional = { "render" };
    command.minPositional = 1;
    command.run = runWorld;
    return command;
}

} // namespace tmk::cli
