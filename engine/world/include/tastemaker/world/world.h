// Renders the procedural world (docs/world.md): N songs composed from genre templates and per-song knobs,
// synthesised with FluidSynth, written as 16-bit mono WAV with tracks.csv, youtube.csv, prompts.csv and knobs.csv.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tastemaker/cancel.h"
#include "tastemaker/error.h"
#include "tastemaker/progress.h"

namespace tmk::world {

inline constexpr int kWorldSampleRate = 16000; // the codec's rate (50 frames/s at hop 320)

struct WorldOptions {
    int songs = 100;
    uint64_t seed = 0;
    double secondsPerSong = 15.0;
    std::string outDir;
    std::string soundfont; // empty: defaultSoundfont()
    int jobs = 2; // worker threads, each with its own synth
    std::vector<std::string> genres; // empty: all genres; songs cycle through them in order
    double youtubeFraction = 0.5; // share of songs with a YouTube row (alternating within each genre)

    Expected<void> validate() const;
};

struct WorldSummary {
    int songs = 0;
    int youtubeRows = 0;
    double audioSeconds = 0.0;
    uint64_t audioBytes = 0;
};

// /usr/share/sounds/sf2/FluidR3_GM.sf2 (Debian fluid-soundfont-gm).
std::string defaultSoundfont();

// Renders the world into options.outDir (audio/<track_id>.wav and the CSVs). Progress counts songs; cancel is
// polled before each song. Same options (whatever `jobs`) give byte-identical files.
Expected<WorldSummary> renderWorld(
    const WorldOptions& options, const ProgressCallback& progress = {}, const CancelToken* cancel = nullptr);

// The exact column lists of the CSVs the world writes (the contract with `pairs` and `analyse`).
const std::vector<std::string>& tracksColumns();
const std::vector<std::string>& youtubeColumns();
const std::vector<std::string>& knobsColumns();

// The closed tag vocabulary of the prompts (prompts.csv): genre tags, instrument tags and the production, tempo
// and mood words. Every prompt is a comma-separated list of these, the first one capitalised.
const std::vector<std::string>& promptVocabulary();

} // namespace tmk::world
