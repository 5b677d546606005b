// The Analyser: Spotify-style audio metrics measured from audio alone (tempo, loudness, mode, energy,
// danceability, acousticness, valence, instrumentalness, speechiness, liveness). Torch-free and Qt-free:
// libsndfile reads, libsamplerate resamples, libebur128 measures loudness, the rest is our own DSP.
// docs/analysis.md says what each estimator is.
#pragma once

#include <array>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tastemaker/cancel.h"
#include "tastemaker/error.h"
#include "tastemaker/progress.h"

namespace tmk {

// The sample rate every signal is resampled to before the descriptors are measured (the world renders at it).
inline constexpr int kAnalysisSampleRate = 16000;

// The low-level descriptors of one song (the inputs of the learned estimators). Names in analysisFeatureNames().
inline constexpr int kAnalysisFeatureCount = 85;
using AnalysisFeatures = std::array<double, kAnalysisFeatureCount>;
const std::array<const char*, kAnalysisFeatureCount>& analysisFeatureNames();

// What measures: the DSP's version (kAnalyserVersion, raised whenever a descriptor or estimator changes) and a
// fingerprint of the learned models, e.g. "analyser 2, models sha256:<16 hex digits>". A steering report
// records it, and a resumed report refuses clips that another analyser measured.
inline constexpr int kAnalyserVersion = 4;
std::string analyserIdentity();

struct AudioMetrics {
    std::filesystem::path path;
    double tempoBpm = 0.0; // beats per minute; 0 when no pulse was found
    double loudnessLufs = -70.0; // EBU R128 integrated loudness
    int mode = 1; // 1 major, 0 minor
    double energy = 0.0; // the rest run from 0 to 1
    double danceability = 0.0;
    double acousticness = 0.0;
    double valence = 0.0;
    double instrumentalness = 0.0;
    double speechiness = 0.0;
    double liveness = 0.0;
    int keyPitchClass = 0; // 0 = C ... 11 = B (the key the mode was read from)
    AnalysisFeatures features {};
};

struct AnalysisOptions {
    double maxSeconds = 0.0; // analyse at most this many seconds from the start (0 = the whole file)
    Expected<void> validate() const;
};

// Analyses a mono signal. `loudnessLufs` is measured on the same signal.
AudioMetrics analyseSignal(std::span<const float> mono, int sampleRate, const AnalysisOptions& options = {});
// Reads any file libsndfile reads (loudness on the file's own channels and rate), mixes to mono, resamples
// to kAnalysisSampleRate and analyses it. An unreadable file is an error naming it.
Expected<AudioMetrics> analyseFile(const std::filesystem::path& path, const AnalysisOptions& options = {});

// The audio files under `inputs` (files are taken as given; folders are searched recursively for the
// extensions libsndfile reads), sorted, without duplicates. A missing input is an error naming it.
Expected<std::vector<std::filesystem::path>> collectAudioFiles(const std::vector<std::filesystem::path>& inputs);

struct LibraryAnalysis {
    std::vector<AudioMetrics> songs;
    std::vector<std::pair<std::filesystem::path, std::string>> skipped; // file, why (each also logged as a warning)
    bool cancelled = false;
};

// Analyses every audio file under `inputs`. A file that cannot be read is logged as a warning naming it
// and skipped. Progress stage "analysing" counts files; `cancel` is polled before each file.
Expected<LibraryAnalysis> analyseLibrary(const std::vector<std::filesystem::path>& inputs,
    const AnalysisOptions& options, const ProgressCallback& progress, const CancelToken* cancel);

// "path,tempo,loudness,mode,energy,danceability,acousticness,valence,instrumentalness,speechiness,liveness"
std::string metricsCsvHeader();
std::string metricsCsvRow(const AudioMetrics& metrics);
// Header and rows; written atomically when `path` is given.
std::string metricsCsv(const std::vector<AudioMetrics>& songs);
Expected<void> writeMetricsCsv(const std::filesystem::path& path, const std::vector<AudioMetrics>& songs);

// "path,<feature names>" and one row per song: the descriptors that the estimators are trained on.
std::string featuresCsv(const std::vector<AudioMetrics>& songs);

} // namespace tmk
