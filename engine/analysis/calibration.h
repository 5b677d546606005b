// Calibration of the Analyser on a rendered world (docs/world.md (section Calibration)): each song's audio is analysed
// and compared with the values the generator wrote in its tracks.csv; the learned estimators are refitted on
// development worlds. Used by `tastemaker-cli analyse --calibrate / --fit`.
#pragma once

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "estimators.h"
#include "tastemaker/analysis.h"

namespace tmk::analysis {

struct WorldSong {
    std::filesystem::path audio;
    std::string genre, songSeed; // knobs.csv's track_genre and song_seed (empty without knobs.csv)
    std::map<std::string, double> truth; // tracks.csv: tempo, mode, energy, danceability, acousticness, ...
    AudioMetrics measured;
};

// Reads DIR/tracks.csv (audio_path relative to DIR, and the Spotify columns) and, when present, DIR/knobs.csv.
Expected<std::vector<WorldSong>> readWorldTracks(const std::filesystem::path& dir);
// Analyses every song; the first unreadable file is an error naming it.
Expected<void> analyseWorldSongs(std::vector<WorldSong>& songs, const AnalysisOptions& options,
    const ProgressCallback& progress, const CancelToken* cancel);
// The report: every figure against its target (markdown table).
std::string calibrationReport(const std::vector<WorldSong>& songs, const std::string& title);
// Fits the seven learned estimators on `songs`; `log` receives one line per model (in-sample Spearman).
std::vector<LinearModel> fitEstimators(const std::vector<WorldSong>& songs, double ridgeLambda, std::string& log);
// The value a metric should recover: the generator's noiseless knob value when knobs.csv was read, else tracks.csv's.
double truthOf(const WorldSong& song, const std::string& name);
// The calibration's tempo hit: the estimate within 2% of the truth (an octave error is a miss).
inline bool tempoWithin2Percent(double estimate, double truth)
{
    return truth > 0.0 && std::abs(estimate - truth) <= 0.02 * truth;
}
// The measured value of a 0..1 metric by name.
double measuredMetric(const AudioMetrics& metrics, const std::string& name);

} // namespace tmk::analysis
