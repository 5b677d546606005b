#include "codec/codec_data.h"

#include <algorithm>
#include <random>

#include <ATen/ops/zeros.h>

#include "data/csv_reader.h"
#include "tastemaker/audio_file.h"

namespace tmk::encodec {

namespace fs = std::filesystem;

uint64_t mixSeed(uint64_t a, uint64_t b)
{
    uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

namespace {

uint64_t hashText(const std::string& text) // FNV-1a
{
    uint64_t hash = 1469598103934665603ULL;
    for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ULL;
    return hash;
}

} // namespace

Expected<std::vector<Song>> listAudioFolder(const fs::path& dir)
{
    std::error_code error;
    if (!fs::is_directory(dir, error)) return Error::inFile(ErrorCode::NotFound, dir.string(), "is not a folder");
    std::vector<Song> songs;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
        std::string extension = entry.path().extension().string();
        std::transform(extension.begin(), extension.end(), extension.begin(), ::tolower);
        if (entry.is_regular_file() && extension == ".wav")
            songs.push_back({ entry.path().stem().string(), entry.path(), {} });
    }
    if (error) return Error::inFile(ErrorCode::Io, dir.string(), "cannot be listed: " + error.message());
    std::sort(songs.begin(), songs.end(), [](const Song& a, const Song& b) { return a.id < b.id; });
    if (songs.empty()) return Error::inFile(ErrorCode::NotFound, dir.string(), "holds no .wav files");
    return songs;
}

Expected<std::vector<Song>> listWorld(const fs::path& dir)
{
    Expected<CsvReader> csv = CsvReader::open(dir / "tracks.csv");
    if (!csv) return csv.error();
    const int column = csv->findColumn("track_id");
    if (column < 0) return Error::inFile(ErrorCode::Format, (dir / "tracks.csv").string(), "has no track_id column");
    std::vector<Song> songs;
    while (csv->next()) {
        const std::string id(csv->field(column));
        const fs::path path = dir / "audio" / (id + ".wav");
        if (!id.empty() && fs::exists(path)) songs.push_back({ id, path, {} });
    }
    if (songs.empty())
        return Error::inFile(
            ErrorCode::NotFound, (dir / "tracks.csv").string(), "lists no track with audio/<track_id>.wav");
    return songs;
}

Expected<void> loadSongs(std::vector<Song>& songs, int sampleRate)
{
    for (Song& song : songs) {
        Expected<std::vector<float>> samples = readAudioMono(song.path, sampleRate);
        if (!samples) return samples.error();
        song.samples = std::move(*samples);
    }
    return {};
}

SongSplit splitBySong(std::vector<Song> songs, uint64_t seed, double fraction)
{
    auto score
        = [seed](const Song& song) { return static_cast<double>(mixSeed(seed, hashText(song.id)) >> 11) * 0x1.0p-53; };
    std::sort(songs.begin(), songs.end(), [&](const Song& a, const Song& b) { return score(a) < score(b); });
    size_t heldOut = 0;
    while (heldOut < songs.size() && score(songs[heldOut]) < fraction) ++heldOut;
    if (songs.size() >= 2) heldOut = std::clamp<size_t>(heldOut, 1, songs.size() - 1);
    SongSplit split;
    for (size_t i = 0; i < songs.size(); ++i)
        (i < heldOut ? split.heldOut : split.train).push_back(std::move(songs[i]));
    auto byId = [](const Song& a, const Song& b) { return a.id < b.id; };
    std::sort(split.train.begin(), split.train.end(), byId);
    std::sort(split.heldOut.begin(), split.heldOut.end(), byId);
    return split;
}

at::Tensor randomCrops(const std::vector<Song>& songs, int64_t batch, int64_t samples, uint64_t seed, uint64_t stream)
{
    std::mt19937_64 random(mixSeed(seed, stream));
    at::Tensor out = at::zeros({ batch, 1, samples }, at::TensorOptions().dtype(at::kFloat));
    float* data = out.data_ptr<float>();
    for (int64_t b = 0; b < batch; ++b) {
        const Song& song = songs[static_cast<size_t>(random() % songs.size())];
        const auto length = static_cast<int64_t>(song.samples.size());
        const int64_t offset
            = length > samples ? static_cast<int64_t>(random() % static_cast<uint64_t>(length - samples + 1)) : 0;
        const int64_t count = std::min(samples, length - offset);
        std::copy_n(song.samples.data() + offset, count, data + b * samples);
    }
    return out;
}

} // namespace tmk::encodec
