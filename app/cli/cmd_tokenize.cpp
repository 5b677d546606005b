// `tokenize`: EnCodec codes of every song of a pairs folder, cached for DPO training (resumable).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "commands.h"
#include "tastemaker/token_cache.h"

namespace tmk::cli {

namespace {

CancelToken g_tokenizeCancel;

// "\rtokenizing 12/340" on a terminal; otherwise a line every tenth of the songs.
ProgressCallback tokenizeProgress()
{
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    return [terminal](const Progress& progress) {
        if (progress.stage != ProgressStage::Tokenizing || progress.total <= 0) return;
        const int64_t step = std::max<int64_t>(1, progress.total / 10);
        if (terminal)
            std::fprintf(stderr, "\rtokenizing %lld/%lld songs%s", static_cast<long long>(progress.done),
                static_cast<long long>(progress.total), progress.done == progress.total ? "\n" : "");
        else if (progress.done > 0 && (progress.done % step == 0 || progress.done == progress.total))
            std::fprintf(stderr, "tokenizing %lld/%lld songs\n", static_cast<long long>(progress.done),
                static_cast<long long>(progress.total));
    };
}

Expected<TokenizeOptions> tokenizeOptionsFrom(const Args& args)
{
    TokenizeOptions options;
    options.modelDir = *args.get("model");
    options.pairsDir = *args.get("pairs");
    Expected<double> window = args.number("window", options.windowSeconds);
    if (!window) return window.error();
    Expected<double> start = args.number("start", options.startFraction);
    if (!start) return start.error();
    options.windowSeconds = *window;
    options.startFraction = *start;
    Expected<DeviceKind> device = parseDeviceKind(args.getOr("device", "cpu"));
    if (!device) return device.error();
    Expected<ComputeDType> dtype = parseComputeDType(args.getOr("dtype", "f32"));
    if (!dtype) return dtype.error();
    options.model = ModelOptions { *device, *dtype };
    Expected<long long> workers = args.integer("workers", 0);
    if (!workers) return workers.error();
    if (*workers < 0) return Error { ErrorCode::InvalidArgument, "tokenize: --workers must not be negative" };
    options.workers = static_cast<int>(*workers);
    TMK_TRY(options.validate());
    return options;
}

void printReport(const TokenizeReport& report)
{
    std::cout << "songs: " << report.songs << "\nencoded: " << report.encoded << "\nreused: " << report.reused
              << "\nfailed: " << report.failed << "\nwithout audio: " << report.withoutAudio
              << "\ncache: " << report.cacheDir.string() << "\n";
    for (const auto& [trackId, reason] : report.failures) std::cout << "failed " << trackId << ": " << reason << "\n";
}

int runTokenize(const Args& args)
{
    Expected<TokenizeOptions> options = tokenizeOptionsFrom(args);
    if (!options) return reportError(options.error());
    std::signal(SIGINT, [](int) { g_tokenizeCancel.requestCancel(); });
    Expected<TokenizeReport> report = tokenizeSongs(*options, tokenizeProgress(), &g_tokenizeCancel);
    std::signal(SIGINT, SIG_DFL);
    if (!report) return reportError(report.error());
    printReport(*report);
    if (report->cancelled) {
        std::cerr << "tastemaker-cli: cancelled; the cache is valid and running the same command again continues it\n";
        return kExitCancelled;
    }
    if (report->songs > 0 && report->songs == report->withoutAudio)
        return reportError(Error { ErrorCode::NotFound,
            "none of the " + std::to_string(report->songs)
                + " songs has an audio file (build the pairs with --audio DIR)" });
    if (report->failed > 0 && report->encoded + report->reused == 0)
        return reportError(Error { ErrorCode::Format, "no song could be tokenized (see the failures above)" });
    return kExitOk;
}

} // namespace

Command tokenizeCommand()
{
    Command command;
    command.name = "tokenize";
    command.summary
        = "Encode the audio of every song of a pairs folder into EnCodec codes, cached in DIR/tokens/ (resumable).";
    command.options = {
        { "model", OptionKind::Value, "DIR", "Hugging Face MusicGen checkpoint folder (its EnCodec encodes)", true },
        { "pairs", OptionKind::Value, "DIR", "pairs folder written by `tastemaker-cli pairs` (reads songs.jsonl)",
            true },
        { "window", OptionKind::Value, "SECONDS", "length of the encoded window (default 10)" },
        { "start", OptionKind::Value, "FRACTION", "where the window starts, as a fraction of the track (default 0.3)" },
        { "workers", OptionKind::Value, "N", "songs encoded at once on the CPU (default: one per libtorch thread)" },
        { "device", OptionKind::Value, "cpu|cuda", "compute device (default: cpu)" },
        { "dtype", OptionKind::Value, "f32|bf16|f16",
            "dtype of the text encoder and decoder, which load but do not run (default: f32)" },
    };
    command.run = runTokenize;
    return command;
}

} // namespace tmk::cli
