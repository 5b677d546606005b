// The world's metadata: the catalogue (track ids, artists, titles, latent fame), the prompt of each song and
// the CSV rows derived from the knobs (docs/world.md, "How each CSV value is derived").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tastemaker/world/composer.h"

namespace tmk::world {

struct CatalogueEntry {
    std::string trackId, artist, album, title;
    double fame = 0.0; // latent artist fame 0..1 (views, popularity)
    double engagement = 0.0; // latent artist engagement 0..1 (likes and comments per view)
    bool youtube = false; // the song has a YouTube row
};

// One entry per song; `genres` is each song's genre index. Deterministic in worldSeed.
std::vector<CatalogueEntry> buildCatalogue(const std::vector<int>& genres, uint64_t worldSeed, double youtubeFraction);

// What rendering measured or decided, beyond the knobs.
struct SongOutcome {
    double loudnessLufs = 0.0;
    double targetLufs = 0.0;
    std::string prompt;
    int bars = 0, voiceBars = 0, spokenBars = 0, acousticParts = 0, parts = 0;
};

double targetLoudness(const SongKnobs& knobs);
std::string promptFor(const SongKnobs& knobs, const Score& score);

// The derived metadata of one song: Spotify-style values, the listener's rating and YouTube statistics.
struct TrackValues {
    double danceability = 0, energy = 0, speechiness = 0, acousticness = 0, instrumentalness = 0, liveness = 0,
           valence = 0, rating = 0;
    int popularity = 0;
    bool explicitLyrics = false;
    int64_t views = 0, likes = 0, comments = 0, dislikes = 0;
};

std::vector<TrackValues> deriveValues(const std::vector<SongKnobs>& knobs, const std::vector<SongOutcome>& outcomes,
    const std::vector<CatalogueEntry>& catalogue, uint64_t worldSeed);

// The CSV files' text.
std::string tracksCsv(const std::vector<SongKnobs>& knobs, const std::vector<SongOutcome>& outcomes,
    const std::vector<CatalogueEntry>& catalogue, const std::vector<TrackValues>& values, double secondsPerSong);
std::string youtubeCsv(const std::vector<CatalogueEntry>& catalogue, const std::vector<TrackValues>& values);
std::string promptsCsv(const std::vector<SongOutcome>& outcomes, const std::vector<CatalogueEntry>& catalogue);
std::string knobsCsv(const std::vector<SongKnobs>& knobs, const std::vector<SongOutcome>& outcomes,
    const std::vector<CatalogueEntry>& catalogue);

} // namespace tmk::world
