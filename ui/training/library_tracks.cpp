// The tracks CSV of an analysed audio folder (see library_tracks.h).
#include "training/library_tracks.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "tastemaker/fileio.h"

namespace tmk::ui {

namespace fs = std::filesystem;

namespace {

std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + '"';
}

fs::path absoluteNormal(const fs::path& path)
{
    std::error_code ec;
    const fs::path absolute = fs::absolute(path, ec);
    return (ec ? path : absolute).lexically_normal();
}

// The song's path relative to the audio folder, or its absolute path when it lies outside.
fs::path pathInFolder(const fs::path& song, const fs::path& audioDir)
{
    const fs::path absolute = absoluteNormal(song);
    const fs::path relative = absolute.lexically_relative(absoluteNormal(audioDir));
    if (relative.empty() || *relative.begin() == "..") return absolute;
    return relative;
}

} // namespace

std::string libraryTracksHeader()
{
    return "track_id,track_genre,audio_path,track_name,artists,danceability,energy,key,loudness,mode,speechiness,"
           "acousticness,instrumentalness,liveness,valence,tempo";
}

std::vector<std::string> libraryGenres(const std::vector<AudioMetrics>& songs, const fs::path& audioDir)
{
    std::vector<std::string> genres;
    std::map<std::string, int> counts;
    for (const AudioMetrics& song : songs) {
        const fs::path relative = pathInFolder(song.path, audioDir);
        std::string genre = kLibraryGenre;
        if (relative.is_relative() && std::distance(relative.begin(), relative.end()) >= 2)
            genre = relative.begin()->string();
        ++counts[genre];
        genres.push_back(std::move(genre));
    }
    // A genre of one song gives no pair: that song joins the "library" group instead.
    for (std::string& genre : genres)
        if (counts[genre] == 1) genre = kLibraryGenre;
    return genres;
}

std::string libraryTracksCsv(const std::vector<AudioMetrics>& songs, const fs::path& audioDir)
{
    const std::vector<std::string> genres = libraryGenres(songs, audioDir);
    std::string text = libraryTracksHeader() + "\n";
    char numbers[256];
    for (size_t i = 0; i < songs.size(); ++i) {
        const AudioMetrics& m = songs[i];
        const fs::path where = pathInFolder(m.path, audioDir);
        const std::string id = where.generic_string();
        text += csvField(id) + ',' + csvField(genres[i]) + ',' + csvField(id) + ',' + csvField(m.path.stem().string())
            + ",";
        std::snprintf(numbers, sizeof numbers, ",%.4f,%.4f,%d,%.2f,%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.3f\n", m.danceability,
            m.energy, m.keyPitchClass, m.loudnessLufs, m.mode, m.speechiness, m.acousticness, m.instrumentalness,
            m.liveness, m.valence, m.tempoBpm);
        text += numbers;
    }
    return text;
}

bool isLibraryTracksFile(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::string first;
    if (!in || !std::getline(in, first)) return false;
    if (!first.empty() && first.back() == '\r') first.pop_back();
    return first == libraryTracksHeader();
}

fs::path libraryTracksTarget(const fs::path& audioDir)
{
    for (int n = 1;; ++n) {
        const std::string suffix = n == 1 ? std::string() : "-" + std::to_string(n);
        const fs::path candidate = audioDir / (kLibraryTracksName + suffix + ".csv");
        std::error_code ec;
        if (!fs::exists(candidate, ec) || isLibraryTracksFile(candidate)) return candidate;
    }
}

Expected<LibraryTracksFile> writeLibraryTracks(const std::vector<AudioMetrics>& songs, const fs::path& audioDir)
{
    if (songs.empty())
        return Error::inFile(ErrorCode::InvalidArgument, audioDir.string(), "no audio file could be analysed");
    LibraryTracksFile file;
    file.path = libraryTracksTarget(audioDir);
    if (Expected<void> written = writeFileAtomic(file.path, libraryTracksCsv(songs, audioDir)); !written)
        return written.error();
    const std::vector<std::string> genres = libraryGenres(songs, audioDir);
    file.songs = static_cast<int64_t>(songs.size());
    file.genres = static_cast<int64_t>(std::set<std::string>(genres.begin(), genres.end()).size());
    return file;
}

} // namespace tmk::ui
