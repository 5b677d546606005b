// tokenizeSongs: every song of a pairs folder -> EnCodec codes of its window, cached by content hash.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include <ATen/Parallel.h>

#include "core/model_config.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/pairs.h"
#include "tastemaker/token_cache.h"
#include "training/token_index.h"
#include "training/worker_pool.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

constexpr int kFlushEvery = 8; // songs changed between index rewrites
constexpr int64_t kSongsPerWorker = 4; // songs read per worker before a parallel encode

// [start, start + length) of a track of `total` samples at `rate`.
struct WindowRange {
    int64_t start = 0, length = 0;
};

WindowRange windowRange(int64_t total, int rate, const TokenWindow& window)
{
    const int64_t want = std::max<int64_t>(1, std::llround(window.seconds * rate));
    if (total <= want) return { 0, total };
    const auto start = static_cast<int64_t>(std::floor(window.startFraction * static_cast<double>(total)));
    return { std::min(start, total - want), want };
}

// The window of a mono signal at `fromRate`, resampled to `toRate`, taking the resampled signal to be
// floor(n * toRate / fromRate) samples long. Equal to cropping resampleMono(whole signal), but only a
// segment around the window is resampled: it starts on the rates' common period (so its output samples
// fall on the same grid) and has a margin far wider than the sinc filter, so the samples are identical.
Expected<std::vector<float>> resampledWindow(
    std::span<const float> mono, int fromRate, int toRate, const TokenWindow& window)
{
    const auto n = static_cast<int64_t>(mono.size());
    const int64_t total = n * toRate / fromRate; // the whole signal's length at `toRate`
    const WindowRange range = windowRange(total, toRate, window);
    if (range.length <= 0) return std::vector<float> {};
    if (fromRate == toRate)
        return std::vector<float>(mono.begin() + range.start, mono.begin() + range.start + range.length);
    const int64_t common = std::gcd(fromRate, toRate);
    const int64_t inPeriod = fromRate / common, outPeriod = toRate / common;
    constexpr int64_t kMargin = 8192; // input samples
    const int64_t firstIn = range.start * fromRate / toRate;
    const int64_t segmentStart = std::max<int64_t>(0, firstIn - kMargin) / inPeriod * inPeriod;
    const int64_t segmentEnd = std::min(n, (range.start + range.length) * fromRate / toRate + kMargin);
    Expected<std::vector<float>> resampled
        = resampleMono(mono.subspan(segmentStart, segmentEnd - segmentStart), fromRate, toRate);
    if (!resampled) return resampled.error();
    const int64_t offset = range.start - segmentStart / inPeriod * outPeriod;
    if (offset < 0) return Error { ErrorCode::Internal, "the resampled window starts before the resampled segment" };
    // libsamplerate may deliver a sample less than `total` at the very end: it reads as silence.
    std::vector<float> cropped(static_cast<size_t>(range.length), 0.0f);
    const int64_t available = std::clamp<int64_t>(static_cast<int64_t>(resampled->size()) - offset, 0, range.length);
    std::copy_n(resampled->begin() + offset, available, cropped.begin());
    return cropped;
}

// The song's window at `rate`; errors are failures of this file (one sentence naming it).
Expected<std::vector<float>> loadWindow(const fs::path& path, int rate, const TokenWindow& window)
{
    std::error_code ec;
    if (fs::is_regular_file(path, ec) && fs::file_size(path, ec) == 0 && !ec)
        return Error::inFile(ErrorCode::Format, path.string(), "is empty (0 bytes)");
    Expected<AudioBuffer> audio = readAudioFile(path);
    if (!audio) return audio.error();
    if (audio->frames() == 0) return Error::inFile(ErrorCode::Format, path.string(), "holds no audio samples");
    const std::vector<float> mono = downmixToMono(*audio);
    if (!std::all_of(mono.begin(), mono.end(), [](float v) { return std::isfinite(v); }))
        return Error::inFile(ErrorCode::Format, path.string(), "holds samples that are not finite numbers");
    Expected<std::vector<float>> cropped = resampledWindow(mono, audio->sampleRate, rate, window);
    if (!cropped)
        return Error::inFile(cropped.error().code, path.string(), "could not be resampled: " + cropped.error().message);
    if (cropped->empty())
        return Error::inFile(
            ErrorCode::Format, path.string(), "is too short to hold one sample at " + std::to_string(rate) + " Hz");
    return cropped;
}

enum class SongOutcome { Encoded, Reused, Failed };

class Tokenizer {
public:
    Tokenizer(const TokenizeOptions& options, ContentIdentity identity, const MusicgenConfig& config, TokenIndex index,
        fs::path cacheDir, ProgressCallback progress)
        : m_options(options)
        , m_identity(std::move(identity))
        , m_index(std::move(index))
        , m_cacheDir(std::move(cacheDir))
        , m_progress(std::move(progress))
    {
        m_expect.codebooks = config.decoder.numCodebooks;
        m_expect.codebookSize = config.codec.codebookSize;
        m_sampleRate = static_cast<int>(config.codec.samplingRate);
    }

    Expected<void> run(const std::vector<PairSong>& songs, TokenizeReport& report, const CancelToken* cancel);

private:
    // A song whose codes must be computed: its window, read on the main thread, encoded on a worker.
    struct Pending {
        size_t song = 0;
        std::string hash;
        SourceStamp stamp;
        std::vector<float> window;
        std::optional<Expected<AudioCodes>> codes;
        bool duplicate = false; // the same content as an earlier song of this chunk: encoded once, then reused
    };
    // Hashes the file and either records a reusable cache entry (Reused), a failure (Failed), or fills `pending`
    // with the window to encode (Encoded, not yet done).
    Expected<SongOutcome> prepareSong(const PairSong& song, std::string& failure, Pending& pending);
    // Writes an encoded song's token file and its index entry.
    Expected<void> commitSong(const PairSong& song, Pending& pending);
    void recordEntry(const PairSong& song, const TokenEntry& entry);
    // Encodes every pending window that is not a duplicate: one at a time with libtorch's threads for one
    // worker, else on `workers` threads of one intra-op thread each (forEachOnWorkers).
    void encodeAll(std::vector<Pending>& pending, int workers);
    bool reusable(const std::string& hash, int64_t* frames);
    Expected<const MusicgenModel*> model();
    Expected<void> flush();
    void fail(const std::string& trackId, const std::string& reason, TokenizeReport& report);

    const TokenizeOptions& m_options;
    ContentIdentity m_identity;
    TokenIndex m_index;
    fs::path m_cacheDir;
    ProgressCallback m_progress;
    TokenFileExpectation m_expect;
    int m_sampleRate = 0;
    std::shared_ptr<const MusicgenModel> m_model; // loaded on the first song that needs encoding
    std::map<std::string, int64_t> m_verified; // content hash -> frames of a valid file of this model and window
    int m_unsaved = 0;
};

Expected<void> Tokenizer::run(const std::vector<PairSong>& songs, TokenizeReport& report, const CancelToken* cancel)
{
    const auto total = static_cast<int64_t>(songs.size());
    const int workers = m_options.model.device == DeviceKind::Cpu
        ? std::max(1, m_options.workers > 0 ? m_options.workers : at::get_num_threads())
        : 1;
    const int64_t chunk = kSongsPerWorker * workers;
    if (m_progress) m_progress(Progress { ProgressStage::Tokenizing, 0, total });
    for (int64_t first = 0; first < total && !report.cancelled; first += chunk) {
        // Read the chunk's windows (or reuse their files), encode the new ones in parallel, then record them in
        // song order, so the index and the progress advance as they would one song at a time.
        const int64_t end = std::min(total, first + chunk);
        std::vector<Pending> pending;
        std::vector<SongOutcome> outcomes;
        int64_t prepared = first;
        for (; prepared < end; ++prepared) {
            if (cancel && cancel->isCancelled()) {
                report.cancelled = true;
                break;
            }
            const PairSong& song = songs[static_cast<size_t>(prepared)];
            if (song.audio.empty()) {
                ++report.withoutAudio;
                outcomes.push_back(SongOutcome::Reused); // (only Encoded songs are recorded after encoding)
                continue;
            }
            std::string failure;
            Pending next;
            next.song = static_cast<size_t>(prepared);
            Expected<SongOutcome> outcome = prepareSong(song, failure, next);
            if (!outcome) {
                (void)flush(); // keep what is done; the error is what the caller must see
                return outcome.error();
            }
            if (*outcome == SongOutcome::Reused) ++report.reused;
            if (*outcome == SongOutcome::Failed) fail(song.trackId, failure, report);
            if (*outcome == SongOutcome::Encoded) {
                // The same content twice in one chunk: encoded once, the second reuses it (as across chunks).
                next.duplicate = std::any_of(
                    pending.begin(), pending.end(), [&](const Pending& p) { return p.hash == next.hash; });
                pending.push_back(std::move(next));
            }
            outcomes.push_back(*outcome);
        }
        encodeAll(pending, workers);
        size_t next = 0;
        for (int64_t i = first; i < prepared; ++i) {
            // A cancel between songs keeps only the songs recorded so far, as a run one song at a time would.
            if (i > first && cancel && cancel->isCancelled()) {
                report.cancelled = true;
                break;
            }
            if (outcomes[static_cast<size_t>(i - first)] == SongOutcome::Encoded) {
                Pending& song = pending[next++];
                if (song.duplicate) { // its original, earlier in the chunk, is committed
                    recordEntry(songs[song.song], TokenEntry { song.hash, m_verified.at(song.hash), song.stamp });
                    ++report.reused;
                } else if (Expected<void> committed = commitSong(songs[song.song], song); !committed) {
                    (void)flush();
                    return committed.error();
                } else {
                    ++report.encoded;
                }
            }
            if (m_unsaved >= kFlushEvery) TMK_TRY(flush());
            if (m_progress) m_progress(Progress { ProgressStage::Tokenizing, i + 1, total });
        }
    }
    return flush();
}

void Tokenizer::fail(const std::string& trackId, const std::string& reason, TokenizeReport& report)
{
    ++report.failed;
    report.failures.emplace_back(trackId, reason);
    m_index.tracks.erase(trackId);
    m_index.failed[trackId] = reason;
    ++m_unsaved;
}

// The file of `hash` exists, is valid for this model and was made with this window.
bool Tokenizer::reusable(const std::string& hash, int64_t* frames)
{
    if (auto it = m_verified.find(hash); it != m_verified.end()) {
        *frames = it->second;
        return true;
    }
    std::error_code ec;
    const fs::path file = tokenFilePath(m_cacheDir, hash);
    if (!fs::exists(file, ec)) return false;
    Expected<TokenFile> stored = readTokenFile(file, m_expect); // a corrupt file is re-encoded
    if (!stored || stored->modelFingerprint != m_identity.fingerprint || !stored->hasWindow
        || !(stored->window == m_index.window))
        return false;
    *frames = stored->codes.frames;
    m_verified[hash] = *frames;
    return true;
}

Expected<SongOutcome> Tokenizer::prepareSong(const PairSong& song, std::string& failure, Pending& pending)
{
    // An unchanged file (same path, size, modification time and inode as when it was hashed) keeps its
    // recorded hash: a resume over a large library does not read every file again.
    const SourceStamp stamp = sourceStamp(song.audio);
    const auto known = m_index.tracks.find(song.trackId);
    const bool unchanged = stamp.known() && known != m_index.tracks.end() && known->second.source == stamp;
    Expected<std::string> hash = unchanged ? Expected<std::string>(known->second.hash) : fileContentHash(song.audio);
    if (!hash) {
        failure = hash.error().message;
        return SongOutcome::Failed;
    }
    int64_t frames = 0;
    if (reusable(*hash, &frames)) {
        recordEntry(song, TokenEntry { *hash, frames, stamp });
        return SongOutcome::Reused;
    }
    Expected<std::vector<float>> window = loadWindow(song.audio, m_sampleRate, m_index.window);
    if (!window) {
        failure = window.error().message;
        return SongOutcome::Failed;
    }
    Expected<const MusicgenModel*> loaded = model(); // loaded here, on this thread, before any worker needs it
    if (!loaded) return loaded.error();
    pending.hash = *hash;
    pending.stamp = stamp;
    pending.window = std::move(*window);
    return SongOutcome::Encoded;
}

void Tokenizer::encodeAll(std::vector<Pending>& pending, int workers)
{
    if (pending.empty()) return; // the model may not be loaded: nothing needed it
    const MusicgenModel& model = *m_model;
    auto encode = [&](Pending& song) {
        if (!song.duplicate) song.codes = encodeAudio(model, song.window); // [1, K, T]
    };
    if (workers <= 1 || pending.size() <= 1)
        for (Pending& song : pending) encode(song);
    else
        forEachOnWorkers(
            static_cast<int64_t>(pending.size()), workers, [&](int64_t i) { encode(pending[static_cast<size_t>(i)]); });
}

Expected<void> Tokenizer::commitSong(const PairSong& song, Pending& pending)
{
    Expected<AudioCodes>& codes = *pending.codes;
    if (!codes)
        return Error { codes.error().code, song.audio.string() + ": could not be encoded: " + codes.error().message };
    TMK_TRY(writeTokenFile(tokenFilePath(m_cacheDir, pending.hash), *codes, m_identity.fingerprint, m_index.window));
    m_verified[pending.hash] = codes->frames;
    recordEntry(song, TokenEntry { pending.hash, codes->frames, pending.stamp });
    pending.window = {};
    return {};
}

void Tokenizer::recordEntry(const PairSong& song, const TokenEntry& entry)
{
    auto it = m_index.tracks.find(song.trackId);
    if (it == m_index.tracks.end() || it->second.hash != entry.hash || it->second.frames != entry.frames
        || !(it->second.source == entry.source) || m_index.failed.count(song.trackId)) {
        m_index.tracks[song.trackId] = entry;
        m_index.failed.erase(song.trackId);
        ++m_unsaved;
    }
}

Expected<const MusicgenModel*> Tokenizer::model()
{
    if (!m_model && m_options.loadedModel) m_model = m_options.loadedModel;
    if (!m_model) {
        auto loaded = MusicgenModel::load(m_options.modelDir, m_options.model, m_progress);
        if (!loaded) return loaded.error();
        m_model = std::move(*loaded);
    }
    if (m_model->info().sampleRate != m_sampleRate)
        return Error { ErrorCode::Mismatch,
            "the loaded model " + m_model->info().name + " is not the one in " + m_options.modelDir.string()
                + " (its sample rate differs)" };
    return m_model.get();
}

Expected<void> Tokenizer::flush()
{
    if (m_unsaved == 0 && fs::exists(tokenIndexPath(m_cacheDir))) return {};
    TMK_TRY(writeTokenIndex(tokenIndexPath(m_cacheDir), m_index));
    m_unsaved = 0;
    return {};
}

// The cache's index for this model and window: the existing one when it matches, else a fresh one (a
// different window or model invalidates every entry; their files are overwritten as songs are re-encoded).
Expected<TokenIndex> indexFor(const fs::path& cacheDir, const ContentIdentity& model, const TokenWindow& window)
{
    TokenIndex fresh;
    fresh.modelName = model.name;
    fresh.modelFingerprint = model.fingerprint;
    fresh.window = window;
    std::error_code ec;
    if (!fs::exists(tokenIndexPath(cacheDir), ec)) return fresh;
    Expected<TokenIndex> index = readTokenIndex(tokenIndexPath(cacheDir));
    if (!index)
        return Error { index.error().code,
            index.error().message + " (delete it to rebuild the index; cached codes are kept)" };
    if (index->modelFingerprint != model.fingerprint || !(index->window == window)) return fresh;
    index->modelName = model.name;
    return index;
}

// Audio paths in songs.jsonl are absolute; a relative one is taken relative to the pairs folder.
std::vector<PairSong> resolvedSongs(std::vector<PairSong> songs, const fs::path& pairsDir)
{
    for (PairSong& song : songs)
        if (!song.audio.empty() && song.audio.is_relative()) song.audio = pairsDir / song.audio;
    return songs;
}

} // namespace

Expected<TokenizeReport> tokenizeSongs(
    const TokenizeOptions& options, const ProgressCallback& progress, const CancelToken* cancel)
{
    TMK_TRY(options.validate());
    Expected<PairSet> pairs = readPairSet(options.pairsDir);
    if (!pairs) return pairs.error();
    const std::vector<PairSong> songs = resolvedSongs(std::move(pairs->songs), options.pairsDir);
    Expected<ContentIdentity> identity = codecIdentity(options.modelDir); // the codes depend on the codec alone
    if (!identity) return identity.error();
    Expected<MusicgenConfig> config = MusicgenConfig::load(options.modelDir);
    if (!config) return config.error();
    const fs::path cacheDir = tokenCacheDir(options.pairsDir, *identity);
    std::error_code ec;
    fs::create_directories(cacheDir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, cacheDir.string(), "cannot be created (" + ec.message() + ")");
    Expected<TokenIndex> index
        = indexFor(cacheDir, *identity, TokenWindow { options.windowSeconds, options.startFraction });
    if (!index) return index.error();
    TokenizeReport report;
    report.songs = static_cast<int64_t>(songs.size());
    report.cacheDir = cacheDir;
    Tokenizer tokenizer(options, *identity, *config, std::move(*index), cacheDir, progress);
    TMK_TRY(tokenizer.run(songs, report, cancel));
    return report;
}

} // namespace tmk
