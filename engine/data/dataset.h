// The songs of a metadata dataset, with their metric values (internal to the training module).
//
// Songs come from a Spotify-Tracks-style CSV: one row per (track, genre), de-duplicated by track_id; a song's
// genre tags are the union of its rows' track_genre in file order, and every other field is its first row's.
// An optional Spotify-YouTube CSV is joined by artist and title: the YouTube Artist must equal one of the
// song's ';'-separated artists and the titles must agree after loose normalisation (ANALYSIS.md §2).
// Metrics are evaluated per song with MetricExpression::evaluate: a column is looked up in the tracks CSV
// first, then in the YouTube CSV (case-insensitively, aliases in order). A metric whose columns no dataset
// has, or which no song has a value for, is unavailable with a one-sentence reason.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tastemaker/pairs.h"

namespace tmk {

inline constexpr int kAudioFeatureCount = 9;
// danceability, energy, loudness, speechiness, acousticness, instrumentalness, liveness, valence, tempo
const std::array<std::string_view, kAudioFeatureCount>& audioFeatureColumns();

struct DatasetSong {
    std::string trackId;
    std::vector<int> genres; // indices into Dataset::genres in file order; genres[0] is the pairing group
    int64_t line = 0; // where its first row starts in the tracks CSV
    bool hasFeatures = false;
    std::array<double, kAudioFeatureCount> features {};
    std::string recordingKey; // the first row's audio cells (the 9 features, key, mode, duration_ms)
    std::string audioPath; // the first row's audio_path cell, "" when there is none
    int youtubeRow = -1; // the joined YouTube row (0-based among the rows read), -1 when none
};

struct DatasetMetric {
    bool available = false;
    std::string unavailableReason;
    bool usesYoutube = false; // some column comes from the YouTube CSV
    std::vector<double> values; // one per song, NaN where the song has none
    int64_t songsWithValue = 0;
};

struct Dataset {
    std::vector<std::string> genres; // in order of first appearance
    std::vector<DatasetSong> songs; // in order of first appearance
    std::vector<DatasetMetric> metrics; // one per metric, in the metrics list's order
    int64_t rows = 0, youtubeRows = 0, youtubeMatchedSongs = 0;
    std::vector<SkippedRows> skipped;

    std::string prompt(const DatasetSong& song) const; // its genre tags joined with ", "
};

// Reads the tracks CSV (and the YouTube CSV when options.youtubeCsv is set) and evaluates every metric.
// Progress stages ReadingTracks and ReadingYouTube (bytes); cancel is polled every few thousand rows.
Expected<Dataset> loadDataset(const PairBuilderOptions& options, const std::vector<MetricInfo>& metrics,
    const ProgressCallback& progress, const CancelToken* cancel);

// Normalisation for the YouTube join. Strict: accents stripped (Latin letters), lower case, "&" -> "and",
// punctuation -> spaces, spaces collapsed. Loose title: strict after dropping "(...)" and "[...]", anything
// from " - " on (remaster/edit tags) and anything from "feat." / "ft." on.
std::string normaliseStrict(std::string_view text);
std::string normaliseTitleLoose(std::string_view text);

} // namespace tmk
