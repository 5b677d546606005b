// `pairs`: preference pairs for DPO training from a tracks CSV (+ YouTube CSV, + audio folder); docs/pairs.md.
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/pairs.h"

namespace tmk::cli {

namespace {

CancelToken g_pairsCancel;

void printSummary(const PairSet& set, const std::string& outDir)
{
    const PairReport& r = set.report;
    std::printf("songs: %lld unique track ids from %lld rows, %lld genres", static_cast<long long>(r.songs),
        static_cast<long long>(r.rows), static_cast<long long>(r.genres));
    if (r.sameRecordingDropped > 0)
        std::printf(", %lld same-recording duplicates dropped", static_cast<long long>(r.sameRecordingDropped));
    if (r.songsWithoutFeatures > 0)
        std::printf(", %lld without audio features", static_cast<long long>(r.songsWithoutFeatures));
    std::printf("\n");
    if (!r.options.audioDir.empty())
        std::printf("audio: %lld songs with a file, %lld without (excluded)\n",
            static_cast<long long>(r.songsWithAudio), static_cast<long long>(r.songsWithoutAudio));
    if (!r.options.youtubeCsv.empty())
        std::printf("YouTube: %lld rows, %lld songs matched by artist and title\n",
            static_cast<long long>(r.youtubeRows), static_cast<long long>(r.youtubeMatchedSongs));
    std::printf("%-24s %8s %8s %8s %8s %10s\n", "metric", "songs", "train", "test", "ties", "below gap");
    for (const MetricPairStats& m : r.metrics) {
        if (!m.available) continue;
        std::printf("%-24s %8lld %8lld %8lld %8lld %10lld\n", m.metric.c_str(),
            static_cast<long long>(m.songsWithValue), static_cast<long long>(m.trainPairs),
            static_cast<long long>(m.testPairs), static_cast<long long>(m.ties), static_cast<long long>(m.belowGap));
    }
    for (const MetricPairStats& m : r.metrics)
        if (!m.available) std::printf("unavailable: %s %s\n", m.metric.c_str(), m.unavailableReason.c_str());
    for (const SkippedRows& s : r.skipped) {
        std::printf("skipped %lld rows: %s (lines", static_cast<long long>(s.count), s.reason.c_str());
        for (int64_t line : s.exampleLines) std::printf(" %lld", static_cast<long long>(line));
        std::printf("%s)\n", s.count > static_cast<int64_t>(s.exampleLines.size()) ? " ..." : "");
    }
    std::printf("wrote %lld pairs (%zu songs) to %s\n", static_cast<long long>(r.totalPairs()), set.songs.size(),
        outDir.c_str());
}

int runPairs(const Args& args)
{
    Expected<long long> seed = args.integer("seed", 0);
    Expected<double> testFraction = args.number("test-fraction", 0.2);
    Expected<double> minGap = args.number("min-gap", PairBuilderOptions {}.minRankGap);
    if (!seed) return reportError(seed.error());
    if (!testFraction) return reportError(testFraction.error());
    if (!minGap) return reportError(minGap.error());
    if (*seed < 0) return reportError(Error { ErrorCode::InvalidArgument, "pairs: --seed must not be negative" });
    PairBuilderOptions options;
    options.tracksCsv = *args.get("tracks");
    options.youtubeCsv = args.getOr("youtube", "");
    options.audioDir = args.getOr("audio", "");
    options.ratingColumn = args.getOr("rating-column", "");
    options.seed = static_cast<uint64_t>(*seed);
    options.testFraction = *testFraction;
    options.dropSameRecording = !args.has("keep-same-recording");
    options.matchOnOtherFeatures = !args.has("match-all-features");
    options.minRankGap = *minGap;
    if (Expected<void> valid = options.validate(); !valid) return reportError(valid.error());
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (!metrics) return reportError(metrics.error());
    std::signal(SIGINT, [](int) { g_pairsCancel.requestCancel(); });
    Expected<PairSet> set = buildPairs(options, *metrics, stderrProgress(), &g_pairsCancel);
    if (!set) {
        if (set.error().code == ErrorCode::Cancelled) {
            std::cerr << "tastemaker-cli: " << set.error().message << "\n";
            return kExitCancelled;
        }
        return reportError(set.error());
    }
    const std::string outDir = *args.get("out");
    if (Expected<void> written = writePairSet(*set, outDir); !written) return reportError(written.error());
    printSummary(*set, outDir);
    return kExitOk;
}

} // namespace

Command pairsCommand()
{
    Command command;
    command.name = "pairs";
    command.summary = "Build DPO preference pairs (chosen/rejected per metric) from a tracks CSV, optionally joined "
                      "with YouTube statistics.";
    command.options = {
        { "tracks", OptionKind::Value, "CSV",
            "Spotify Tracks CSV (.csv or .csv.gz): track_id, track_genre, the audio features, ...", true },
        { "youtube", OptionKind::Value, "CSV",
            "Spotify-YouTube CSV (.csv or .csv.gz), joined by artist and title (Views, Likes, Comments)" },
        { "audio", OptionKind::Value, "DIR",
            "songs' audio: <track_id>.{wav,flac,ogg,mp3} or an audio_path column; songs without audio are excluded" },
        { "rating-column", OptionKind::Value, "NAME", "the column holding your ratings (metric \"rating\")" },
        { "out", OptionKind::Value, "DIR", "folder to write (pairs.jsonl, songs.jsonl, report.json)", true },
        { "seed", OptionKind::Value, "S", "seed of the train/test split (default 0)" },
        { "test-fraction", OptionKind::Value, "F",
            "fraction of songs (and so of pairs) in the test split (default 0.2)" },
        { "keep-same-recording", OptionKind::Flag, "",
            "keep songs whose genre and audio features equal an earlier song's (dropped by default)" },
        { "min-gap", OptionKind::Value, "G",
            "keep a pair only when its songs' percentile ranks of the metric within their genre differ by at least "
            "G (default 0.25; 0: every untied pair)" },
        { "match-all-features", OptionKind::Flag, "",
            "match on all nine audio features for every metric (the original project's pairing) instead of on the "
            "features other than the metric's own" },
    };
    command.run = runPairs;
    return command;
}

} // namespace tmk::cli
