// The tracks CSV that the data page's "Analyse my library" writes for an audio folder without metadata.
//
// One row per analysed file, in the Spotify Tracks format the pair builder reads (docs/pairs.md):
//   track_id     the file's path relative to the audio folder ("Rock/song.flac"): unique per file
//   track_genre  the top-level folder under the audio folder that holds the file ("Rock"); files directly
//                in the audio folder, and a folder holding a single file (which could not be paired), get
//                "library". The pair builder pairs songs within a genre and uses it as the training prompt.
//   audio_path   the same relative path (an absolute one for a file outside the folder), so the pair
//                builder finds the file whatever its name
//   track_name   the file's name without extension; artists is empty (no YouTube join can match)
//   the 9 audio features, key and mode under Spotify's names and scales, as the Analyser measures them.
// popularity and the YouTube columns are absent, so those metrics are reported unavailable, never faked.
//
// The file is <audio folder>/tastemaker-tracks.csv, written atomically. A file of that name that
// Tastemaker did not write (its first line is not libraryTracksHeader()) is never overwritten:
// tastemaker-tracks-2.csv, -3, ... is used instead. Plain C++ (file work only): the GUI thread calls it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tastemaker/analysis.h"
#include "tastemaker/error.h"

namespace tmk::ui {

inline constexpr const char* kLibraryTracksName = "tastemaker-tracks";
inline constexpr const char* kLibraryGenre = "library";

struct LibraryTracksFile {
    std::filesystem::path path;
    int64_t songs = 0;
    int64_t genres = 0;
};

// "track_id,track_genre,audio_path,track_name,artists,danceability,energy,key,loudness,mode,..."
std::string libraryTracksHeader();
// The genre of each song (see above), in the order of `songs`.
std::vector<std::string> libraryGenres(
    const std::vector<tmk::AudioMetrics>& songs, const std::filesystem::path& audioDir);
// Header and one row per song.
std::string libraryTracksCsv(const std::vector<tmk::AudioMetrics>& songs, const std::filesystem::path& audioDir);
// True when `path` exists and starts with libraryTracksHeader(): Tastemaker wrote it, it may be replaced.
bool isLibraryTracksFile(const std::filesystem::path& path);
// <audioDir>/tastemaker-tracks.csv, or the first of tastemaker-tracks-2.csv, -3, ... that is absent or
// was written by Tastemaker.
std::filesystem::path libraryTracksTarget(const std::filesystem::path& audioDir);
// Writes libraryTracksCsv() atomically to libraryTracksTarget(). An empty `songs` is an error.
tmk::Expected<LibraryTracksFile> writeLibraryTracks(
    const std::vector<tmk::AudioMetrics>& songs, const std::filesystem::path& audioDir);

} // namespace tmk::ui
