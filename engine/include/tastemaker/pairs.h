// Preference pairs for DPO training, built from a music library's metadata (issue 7, docs/pairs.md).
//
// Songs come from a Spotify-Tracks-style CSV (one row per (track, genre); rows are de-duplicated by
// track_id and a song's genre tags are the union of its rows' genres). An optional Spotify-YouTube CSV is
// joined by normalised artist + title. Each metric of resources/metrics.json is evaluated per song; a metric
// whose columns no dataset provides is unavailable, with the reason (it is never faked). Within each genre,
// the most similar songs (z-scored audio features) are matched greedily into disjoint pairs; in every pair,
// the song higher on the metric is `chosen`. Ties are dropped. Each song belongs to one split (train or
// test), so a pair's two songs share a split and no song is in both.
//
// A pairs folder holds pairs.jsonl, songs.jsonl and report.json (the training contract), all written
// atomically and byte-identical for one seed. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tastemaker/cancel.h"
#include "tastemaker/error.h"
#include "tastemaker/metrics.h"
#include "tastemaker/progress.h"

namespace tmk {

struct PairBuilderOptions {
    std::filesystem::path tracksCsv; // Spotify Tracks CSV (.csv or .csv.gz)
    std::filesystem::path youtubeCsv; // optional Spotify-YouTube CSV
    std::filesystem::path audioDir; // optional: songs matched to <track_id>.{wav,flac,ogg,mp3} or an audio_path column
    std::string ratingColumn; // optional: the user's rating column (metric "rating")
    uint64_t seed = 0;
    double testFraction = 0.2;
    // Drop a song whose (first genre, audio-feature vector) equals an earlier song's: the same recording
    // under another album id. Such pairs are near-certain ties (ANALYSIS.md §4).
    bool dropSameRecording = true;
    // Matching leaves out the audio features a metric is computed from, and those that measure much the same
    // (|within-genre r| >= 0.5: energy's pairs are matched without energy and loudness), so a pair differs in its
    // metric and is alike in the rest. Off: one matching on all nine features
    // serves every metric (ANALYSIS.md §4, the original project's procedure), which pairs songs that are alike in
    // the very metric they contrast.
    bool matchOnOtherFeatures = true;
    // A pair is kept only when its songs' percentile ranks of the metric within their genre differ by at least
    // this much (0: any untied pair). Near-equal songs teach a preference the audio cannot show.
    double minRankGap = 0.25;

    Expected<void> validate() const; // tracksCsv given, testFraction in [0, 1), minRankGap in [0, 1)
};

struct MetricPairStats {
    std::string metric;
    bool available = false;
    std::string unavailableReason; // one sentence naming the missing column(s) and the datasets searched
    int64_t songsWithValue = 0, trainPairs = 0, testPairs = 0, ties = 0;
    int64_t belowGap = 0; // matched pairs dropped: their rank gap is under PairBuilderOptions::minRankGap
};

struct SkippedRows {
    std::string reason; // "<file>: <problem>", e.g. "tracks.csv: wrong number of fields (expected 21)"
    int64_t count = 0;
    std::vector<int64_t> exampleLines; // 1-based line numbers where the row starts, at most 10
};

struct PairReport {
    int64_t rows = 0, songs = 0, songsWithAudio = 0, songsWithoutAudio = 0, youtubeRows = 0, youtubeMatchedSongs = 0;
    int64_t genres = 0; // distinct first-genre groups that were paired
    int64_t sameRecordingDropped = 0; // see PairBuilderOptions::dropSameRecording
    int64_t songsWithoutFeatures = 0; // songs lacking one of the 9 audio features (cannot be matched)
    std::vector<MetricPairStats> metrics; // every metric of the metrics list, in its order
    std::vector<SkippedRows> skipped;
    PairBuilderOptions options;

    const MetricPairStats* find(const std::string& metric) const;
    int64_t totalPairs() const; // train + test over all metrics
    std::string toJson() const; // report.json's content (pretty, ends with a newline)
    static Expected<PairReport> fromJson(const std::string& text, const std::string& where);
};

struct PreferencePair {
    std::string metric, prompt, chosen, rejected; // chosen/rejected are track ids; chosen is strictly higher
    double chosenValue = 0, rejectedValue = 0;
    bool test = false;
};

struct PairSong {
    std::string trackId, prompt;
    std::filesystem::path audio; // empty without --audio
};

struct PairSet {
    std::vector<PairSong> songs; // every song in a pair, sorted by track id
    std::vector<PreferencePair> pairs; // sorted by (metric in metrics-list order, chosen, rejected)
    PairReport report;
};

// Reads the CSVs and builds the pairs. Progress stages: ReadingTracks, ReadingYouTube,
// MatchingSongs; cancel is polled between rows and between genres (ErrorCode::Cancelled).
// A malformed header, a missing required column (track_id, track_genre, the 9 audio features) or an
// unreadable file is an error naming the file; malformed rows are skipped and listed in the report.
Expected<PairSet> buildPairs(const PairBuilderOptions& options, const std::vector<MetricInfo>& metrics,
    const ProgressCallback& progress = {}, const CancelToken* cancel = nullptr);

// Writes DIR/pairs.jsonl, DIR/songs.jsonl and DIR/report.json atomically (creating DIR).
Expected<void> writePairSet(const PairSet& set, const std::filesystem::path& outDir);
// Reads pairs.jsonl + songs.jsonl (+ report.json when present); errors name the file and line.
Expected<PairSet> readPairSet(const std::filesystem::path& dir);

// The pairs folder's files.
std::filesystem::path pairsFilePath(const std::filesystem::path& dir); // DIR/pairs.jsonl
std::filesystem::path songsFilePath(const std::filesystem::path& dir); // DIR/songs.jsonl
std::filesystem::path reportFilePath(const std::filesystem::path& dir); // DIR/report.json

} // namespace tmk
