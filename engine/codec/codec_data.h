// The audio that codec training reads: songs (one file each) split into train and held-out sets by song,
// deterministically from the seed, and random fixed-length crops of them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"

namespace tmk::encodec {

struct Song {
    std::string id;
    std::filesystem::path path;
    std::vector<float> samples; // mono at the codec's rate
};

struct SongSplit {
    std::vector<Song> train;
    std::vector<Song> heldOut;
};

// Every *.wav in `dir` (sorted by name; the id is the file's stem).
Expected<std::vector<Song>> listAudioFolder(const std::filesystem::path& dir);
// A world: `dir`/tracks.csv (its track_id column) and `dir`/audio/<track_id>.wav; rows without audio are skipped.
Expected<std::vector<Song>> listWorld(const std::filesystem::path& dir);
// Reads every song's samples, down-mixed and resampled to `sampleRate`.
Expected<void> loadSongs(std::vector<Song>& songs, int sampleRate);

// Held out when a hash of (seed, id) falls below `fraction`; with two or more songs at least one is held
// out and at least one trains. The split depends only on the ids and the seed, not on their order.
SongSplit splitBySong(std::vector<Song> songs, uint64_t seed, double fraction);

// [batch, 1, samples] crops: a song uniformly at random, then an offset uniformly at random (songs shorter
// than a crop are zero-padded). The same (songs, seed, stream) always gives the same crops.
at::Tensor randomCrops(const std::vector<Song>& songs, int64_t batch, int64_t samples, uint64_t seed, uint64_t stream);

// A well-mixed 64-bit hash (splitmix64) for deriving per-step seeds.
uint64_t mixSeed(uint64_t a, uint64_t b);

} // namespace tmk::encodec
