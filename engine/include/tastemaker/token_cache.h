// The token cache: EnCodec codes of every song of a pairs folder, computed once and reused by DPO training.
//
// Layout, under a pairs folder DIR (see pairs.h for songs.jsonl):
//   DIR/tokens/<codec key>/<sha256 of the audio file's content>.safetensors
//       one tensor "codes", int64 [K, T]: the codes of the song's cropped window
//   DIR/tokens/<codec key>/index.json
//       {"format":1,"model":{"name":..,"fingerprint":..},"window":{"seconds":10,"start_fraction":0.3},
//        "tracks":{"<track_id>":{"hash":"<sha256>","frames":T,
//                                "source":{"path":..,"size":..,"mtime_ns":..,"inode":..}}},
//        "failed":{"<track_id>":"<reason>"}}
// <codec key> is the first 16 hex digits of the fingerprint of the model's codec (codecIdentity,
// clip_library.h), which "model" records: the codes depend on the EnCodec alone, so models that share it (a
// language model trained further, its fine-tunes, musicgen-small and -medium) share one cache.
//
// Entries are keyed by file content, so a song stored under two track ids, or a file that was moved, is
// encoded once; a file whose content changed is encoded again. Every file is written atomically and the
// index is rewritten every few songs, so a killed or cancelled run leaves a valid cache that the next run
// continues. A file whose path, size, modification time and inode still equal its recorded "source" keeps
// its recorded hash without being read again (the make/rsync rule), so resuming over a large library is
// quick; any rewrite or touch of the file hashes it again. A different window (seconds or start fraction) invalidates
// the entries: they are re-encoded.
//
// The window: the song is decoded (libsndfile), down-mixed, resampled to the model's rate (libsamplerate),
// and `windowSeconds` starting at `startFraction` of its length are kept. A song shorter than
// start + window keeps its last `windowSeconds` (the whole song when it is shorter than that); "frames"
// records the code frames actually stored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tastemaker/cancel.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/error.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/progress.h"

namespace tmk {

struct TokenizeOptions {
    std::filesystem::path modelDir, pairsDir;
    double windowSeconds = 10.0;
    double startFraction = 0.3; // of the track's length, in [0, 1]
    ModelOptions model;
    // Optional: a model already loaded from modelDir (the engine thread's), used instead of loading one.
    // Without it, the model is loaded on the first song that needs encoding (a run that only reuses
    // cached codes never loads it).
    std::shared_ptr<const MusicgenModel> loadedModel;
    // Songs encoded at once on the CPU, each on its own thread (0: libtorch's thread count). On CUDA one.
    int workers = 0;

    Expected<void> validate() const;
};

struct TokenizeReport {
    int64_t songs = 0, encoded = 0, reused = 0, failed = 0, withoutAudio = 0;
    bool cancelled = false; // the run stopped early; the cache is valid and a later run continues it
    std::vector<std::pair<std::string, std::string>> failures; // track id, one sentence naming the file
    std::filesystem::path cacheDir; // DIR/tokens/<model key>
};

// Encodes every song of pairsDir/songs.jsonl that has audio and is not cached yet. Progress: stage
// Tokenizing, one step per song. The cancel token is checked between songs; a cancelled run returns
// its report with `cancelled` set (not an error). Unreadable, corrupt or empty audio files are failures in
// the report (and in index.json "failed"), not errors; errors are a bad model, a bad songs.jsonl or a
// cache that cannot be written.
Expected<TokenizeReport> tokenizeSongs(
    const TokenizeOptions& options, const ProgressCallback& progress = {}, const CancelToken* cancel = nullptr);

// "a1b2c3d4e5f60718": the folder name of a model's cache (the first 16 hex digits of its fingerprint).
std::string tokenCacheKey(const ContentIdentity& model);
// pairsDir/tokens/<model key>
std::filesystem::path tokenCacheDir(const std::filesystem::path& pairsDir, const ContentIdentity& model);

// Every cached song for the model: track id -> codes (batch 1, [1, K, T]). Every file is validated: dtype
// int64, shape [K, T] with T equal to the index's "frames", the same K for every song, and, when the model
// folder (model.path) has a readable config.json, K equal to its codebook count and every value in
// [0, codebook size). Errors name the file at fault. A missing cache (no index.json) is a NotFound error
// that says to run `tastemaker-cli tokenize`.
Expected<std::map<std::string, AudioCodes>> loadTokenCache(
    const std::filesystem::path& pairsDir, const ContentIdentity& model);

// Stores one song's codes ([1, K, T]) as <contentHash>.safetensors and records trackId in index.json (both
// atomically; the index keeps its window, or gets the default window when new). Used by tokenizeSongs and
// by tests that make synthetic token sets. `contentHash` is 64 lower-case hex digits.
Expected<void> storeTokens(const std::filesystem::path& pairsDir, const ContentIdentity& model,
    const std::string& trackId, const std::string& contentHash, const AudioCodes& codes);

// The SHA-256 of a file's whole content, as 64 lower-case hex digits; the error names the file.
Expected<std::string> fileContentHash(const std::filesystem::path& path);

} // namespace tmk
