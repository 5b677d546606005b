// Building blocks of buildPairs (pairs.h), exposed for the unit tests.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

using FeaturePoint = std::array<double, 9>; // z-scored audio features

// Greedy closest-pair matching: repeatedly takes the closest (Euclidean) pair of unmatched points, ties broken
// by the smaller then the larger of the two points' ranks. Gives the same result as sorting all n(n-1)/2
// edges and taking them greedily, in O(n^2) time and O(n) memory. Returns index pairs (i, j), in the order taken.
// `rank` holds a distinct tie-breaking rank per point (the track id's order).
std::vector<std::pair<int, int>> matchClosestPairs(std::span<const FeaturePoint> points, std::span<const int> rank);

// A song's deterministic draw in [0, 1) for the train/test split: a hash of (seed, track id).
double splitDraw(uint64_t seed, std::string_view trackId);

// Audio files under a folder (recursively) by stem: <track_id>.{wav,flac,ogg,mp3} (extensions in any case;
// when a stem has several files, the first extension of that list wins, then the shorter path).
class AudioFolder {
public:
    static Expected<AudioFolder> scan(const std::filesystem::path& dir);
    // The song's audio: its audio_path cell (relative paths are under the folder) when that file exists,
    // else <track_id>.<ext>; empty when neither exists. Paths are absolute.
    std::filesystem::path find(const std::string& trackId, const std::string& audioPathCell) const;

private:
    std::filesystem::path m_dir;
    std::unordered_map<std::string, std::filesystem::path> m_byStem;
};

} // namespace tmk
