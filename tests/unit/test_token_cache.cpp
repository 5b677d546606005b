// The token cache: windows cropped and encoded like encodeAudio on the same resampled crop, resumable
// runs, content-hash keys, failures named, cancel + resume, and validation of the cached files.
#include <chrono>
#include <cmath>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <random>
#include <sndfile.h>
#include <sys/stat.h>

#include "tastemaker/audio_file.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "tastemaker/token_cache.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace tmk;

namespace {

fs::path modelDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

std::shared_ptr<const MusicgenModel> sharedTinyModel()
{
    static std::shared_ptr<const MusicgenModel> model = [] {
        auto loaded = MusicgenModel::load(modelDir(), ModelOptions {});
        EXPECT_TRUE(loaded.ok()) << loaded.error().message;
        return loaded.ok() ? *loaded : nullptr;
    }();
    return model;
}

const MusicgenModel& tinyModel()
{
    return *sharedTinyModel();
}

ContentIdentity tinyIdentity()
{
    Expected<ContentIdentity> identity = codecIdentity(modelDir()); // what the token cache is keyed by
    EXPECT_TRUE(identity.ok());
    return identity.ok() ? *identity : ContentIdentity {};
}

// Interleaved [frames, channels]: a few sines plus noise, different for each seed.
std::vector<float> music(double seconds, int rate, int channels, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> freq(80.0f, 2000.0f), noise(-0.05f, 0.05f);
    const float f1 = freq(rng), f2 = freq(rng), f3 = freq(rng);
    const auto frames = static_cast<size_t>(seconds * rate);
    std::vector<float> samples(frames * static_cast<size_t>(channels));
    for (size_t i = 0; i < frames; ++i) {
        const float t = static_cast<float>(i) / static_cast<float>(rate);
        const float base
            = 0.3f * std::sin(6.2831853f * f1 * t) + 0.2f * std::sin(6.2831853f * f2 * t) * std::sin(1.3f * t);
        for (int c = 0; c < channels; ++c)
            samples[i * channels + c] = base + 0.1f * std::sin(6.2831853f * f3 * t + c) + noise(rng);
    }
    return samples;
}

fs::path writeMusic(
    const fs::path& path, double seconds, int rate, int channels, unsigned seed, AudioContainer container)
{
    const std::vector<float> samples = music(seconds, rate, channels, seed);
    Expected<void> written
        = writeAudioFile(path, samples, channels, rate, AudioWriteOptions { container, SampleFormat::S16, "" });
    EXPECT_TRUE(written.ok()) << written.error().message;
    return path;
}

struct Song {
    std::string trackId;
    fs::path audio; // empty: no audio
};

void writeSongs(const fs::path& dir, const std::vector<Song>& songs)
{
    std::string text, pairs;
    for (const Song& song : songs) {
        nlohmann::json line = { { "track_id", song.trackId }, { "prompt", "rock" } };
        line["audio"] = song.audio.empty() ? nlohmann::json(nullptr) : nlohmann::json(song.audio.string());
        text += line.dump() + "\n";
    }
    if (songs.size() >= 2)
        pairs = nlohmann::json { { "metric", "energy" }, { "prompt", "rock" }, { "chosen", songs[0].trackId },
            { "rejected", songs[1].trackId }, { "chosen_value", 0.9 }, { "rejected_value", 0.1 }, { "split", "train" } }
                    .dump()
            + "\n";
    ASSERT_TRUE(writeFileAtomic(dir / "songs.jsonl", text).ok());
    ASSERT_TRUE(writeFileAtomic(dir / "pairs.jsonl", pairs).ok());
}

// Computed independently of the cache: the whole file resampled, then the window cropped and encoded. The
// resampled length is floor(frames * 32000 / rate); a sample libsamplerate leaves out at the end is silence.
AudioCodes expectedCodes(const fs::path& audio, double windowSeconds, double startFraction)
{
    const int rate = tinyModel().info().sampleRate;
    Expected<AudioBuffer> decoded = readAudioFile(audio);
    EXPECT_TRUE(decoded.ok());
    if (!decoded.ok()) return {};
    Expected<std::vector<float>> mono = resampleMono(downmixToMono(*decoded), decoded->sampleRate, rate);
    EXPECT_TRUE(mono.ok());
    if (!mono.ok()) return {};
    const int64_t total = decoded->frames() * rate / decoded->sampleRate;
    EXPECT_LE(total - static_cast<int64_t>(mono->size()), 1);
    mono->resize(static_cast<size_t>(total), 0.0f);
    const auto want = static_cast<int64_t>(std::llround(windowSeconds * rate));
    int64_t start = 0, length = total;
    if (total > want) {
        start = std::min(static_cast<int64_t>(std::floor(startFraction * static_cast<double>(total))), total - want);
        length = want;
    }
    const std::vector<float> crop(mono->begin() + start, mono->begin() + start + length);
    Expected<AudioCodes> codes = encodeAudio(tinyModel(), crop);
    EXPECT_TRUE(codes.ok());
    return codes.ok() ? *codes : AudioCodes {};
}

TokenizeOptions optionsFor(const fs::path& pairsDir, double windowSeconds = 3.0)
{
    TokenizeOptions options;
    options.modelDir = modelDir();
    options.pairsDir = pairsDir;
    options.windowSeconds = windowSeconds;
    options.startFraction = 0.3;
    return options;
}

TokenizeReport tokenize(
    const TokenizeOptions& options, const CancelToken* cancel = nullptr, const ProgressCallback& progress = {})
{
    Expected<TokenizeReport> report = tokenizeSongs(options, progress, cancel);
    EXPECT_TRUE(report.ok()) << report.error().message;
    return report.ok() ? *report : TokenizeReport {};
}

std::map<std::string, AudioCodes> loadCache(const fs::path& pairsDir)
{
    auto cache = loadTokenCache(pairsDir, tinyIdentity());
    EXPECT_TRUE(cache.ok()) << cache.error().message;
    return cache.ok() ? *cache : std::map<std::string, AudioCodes> {};
}

nlohmann::json readIndex(const fs::path& pairsDir)
{
    Expected<std::string> text = readFileText(tokenCacheDir(pairsDir, tinyIdentity()) / "index.json");
    EXPECT_TRUE(text.ok());
    return text.ok() ? nlohmann::json::parse(*text) : nlohmann::json();
}

void expectSameCodes(const AudioCodes& actual, const AudioCodes& expected, const std::string& what)
{
    EXPECT_EQ(actual.batch, 1) << what;
    EXPECT_EQ(actual.codebooks, expected.codebooks) << what;
    EXPECT_EQ(actual.frames, expected.frames) << what;
    EXPECT_EQ(actual.values, expected.values) << what;
}

// Writes an MP3 through libsndfile (which reads MP3 through mpg123); false when this libsndfile cannot.
bool writeMp3(const fs::path& path, double seconds, int rate, unsigned seed)
{
    SF_INFO info {};
    info.samplerate = rate;
    info.channels = 2;
    info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    if (!sf_format_check(&info)) return false;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file) return false;
    const std::vector<float> samples = music(seconds, rate, 2, seed);
    sf_writef_float(file, samples.data(), static_cast<sf_count_t>(samples.size() / 2));
    sf_close(file);
    return true;
}

} // namespace

TEST(TokenCache, WindowsAreEncodedLikeEncodeAudioOnTheSameCrop)
{
    const fs::path dir = test::freshOutDir("token_cache_windows");
    const std::vector<Song> songs = {
        { "wav", writeMusic(dir / "a.wav", 6.0, 44100, 2, 1, AudioContainer::Wav) }, // 44.1 kHz stereo: crop at 30%
        { "flac",
            writeMusic(
                dir / "b.flac", 5.0, 48000, 1, 2, AudioContainer::Flac) }, // start + window past the end: the last 3 s
        { "ogg", writeMusic(dir / "c.ogg", 7.0, 22050, 2, 3, AudioContainer::Ogg) },
        { "short",
            writeMusic(dir / "d.wav", 2.0, 32000, 1, 4, AudioContainer::Wav) }, // shorter than the window: all of it
        { "silent", {} },
    };
    writeSongs(dir, songs);
    std::vector<Progress> progress;
    const TokenizeReport report = tokenize(optionsFor(dir), nullptr, [&](const Progress& p) {
        if (p.stage == ProgressStage::Tokenizing) progress.push_back(p);
    });
    EXPECT_EQ(report.songs, 5);
    EXPECT_EQ(report.encoded, 4);
    EXPECT_EQ(report.reused, 0);
    EXPECT_EQ(report.failed, 0);
    EXPECT_EQ(report.withoutAudio, 1);
    ASSERT_EQ(progress.size(), 6u);
    EXPECT_EQ(progress.back().done, 5);
    EXPECT_EQ(progress.back().total, 5);

    const auto cache = loadCache(dir);
    ASSERT_EQ(cache.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(cache.count(songs[i].trackId)) << songs[i].trackId;
        expectSameCodes(cache.at(songs[i].trackId), expectedCodes(songs[i].audio, 3.0, 0.3), songs[i].trackId);
    }
    EXPECT_EQ(cache.at("wav").frames, 150); // 3 s at 50 frames per second
    EXPECT_EQ(cache.at("short").frames, 100); // the whole 2 s
    const nlohmann::json index = readIndex(dir);
    EXPECT_EQ(index["format"], 1);
    EXPECT_EQ(index["window"]["seconds"], 3.0);
    EXPECT_EQ(index["window"]["start_fraction"], 0.3);
    EXPECT_EQ(index["model"]["fingerprint"], tinyIdentity().fingerprint);
    EXPECT_EQ(index["tracks"]["short"]["frames"], 100);
    EXPECT_EQ(index["tracks"]["wav"]["hash"], *fileContentHash(songs[0].audio));
    EXPECT_TRUE(fs::exists(report.cacheDir / (index["tracks"]["wav"]["hash"].get<std::string>() + ".safetensors")));
}

TEST(TokenCache, Mp3IsReadThroughLibsndfile)
{
    const fs::path dir = test::freshOutDir("token_cache_mp3");
    if (!writeMp3(dir / "song.mp3", 4.0, 44100, 5))
        GTEST_SKIP() << "this libsndfile cannot write MP3 to make the test file";
    writeSongs(dir, { { "mp3", dir / "song.mp3" }, { "none", {} } });
    const TokenizeReport report = tokenize(optionsFor(dir));
    ASSERT_EQ(report.failed, 0) << report.failures.front().second;
    EXPECT_EQ(report.encoded, 1);
    expectSameCodes(loadCache(dir).at("mp3"), expectedCodes(dir / "song.mp3", 3.0, 0.3), "mp3");
}

TEST(TokenCache, SecondRunReusesEverythingAndAChangedFileIsReencoded)
{
    const fs::path dir = test::freshOutDir("token_cache_resume");
    writeSongs(dir,
        { { "a", writeMusic(dir / "a.wav", 4.0, 44100, 2, 1, AudioContainer::Wav) },
            { "b", writeMusic(dir / "b.wav", 4.0, 44100, 2, 2, AudioContainer::Wav) },
            { "c", writeMusic(dir / "c.flac", 4.0, 44100, 1, 3, AudioContainer::Flac) } });
    EXPECT_EQ(tokenize(optionsFor(dir)).encoded, 3);
    const auto first = loadCache(dir);

    const TokenizeReport again = tokenize(optionsFor(dir));
    EXPECT_EQ(again.encoded, 0);
    EXPECT_EQ(again.reused, 3);
    EXPECT_EQ(loadCache(dir).at("b").values, first.at("b").values);

    writeMusic(dir / "b.wav", 4.0, 44100, 2, 99, AudioContainer::Wav); // same name and length, new content
    const TokenizeReport changed = tokenize(optionsFor(dir));
    EXPECT_EQ(changed.encoded, 1);
    EXPECT_EQ(changed.reused, 2);
    const auto cache = loadCache(dir);
    EXPECT_NE(cache.at("b").values, first.at("b").values);
    expectSameCodes(cache.at("b"), expectedCodes(dir / "b.wav", 3.0, 0.3), "b");
    EXPECT_EQ(readIndex(dir)["tracks"]["b"]["hash"], *fileContentHash(dir / "b.wav"));
}

// A resume trusts the recorded hash of a file whose path, size, modification time and inode are unchanged
// (it does not read the file again); touching the file makes it hash again. The stamp is in index.json.
TEST(TokenCache, UnchangedFilesAreNotHashedAgainAndATouchedFileIs)
{
    const fs::path dir = test::freshOutDir("token_cache_stamp");
    const fs::path audio = writeMusic(dir / "a.wav", 4.0, 44100, 1, 5, AudioContainer::Wav);
    writeSongs(dir, { { "a", audio } });
    EXPECT_EQ(tokenize(optionsFor(dir)).encoded, 1);
    const nlohmann::json source = readIndex(dir)["tracks"]["a"]["source"];
    EXPECT_EQ(source["path"], audio.string());
    EXPECT_EQ(source["size"], static_cast<int64_t>(fs::file_size(audio)));
    const std::string firstHash = readIndex(dir)["tracks"]["a"]["hash"];

    // Overwrite the last bytes in place (same inode and size) and put the modification time back: the stamp
    // is unchanged, so the run reuses the recorded hash without reading the file (the make/rsync rule).
    struct stat before { };
    ASSERT_EQ(::stat(audio.c_str(), &before), 0);
    {
        std::fstream file(audio, std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(-8, std::ios::end);
        file.write("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    }
    const timespec times[2] = { before.st_atim, before.st_mtim };
    ASSERT_EQ(::utimensat(AT_FDCWD, audio.c_str(), times, 0), 0);
    const TokenizeReport trusted = tokenize(optionsFor(dir));
    EXPECT_EQ(trusted.reused, 1);
    EXPECT_EQ(trusted.encoded, 0);
    EXPECT_EQ(readIndex(dir)["tracks"]["a"]["hash"], firstHash);
    EXPECT_NE(*fileContentHash(audio), firstHash);

    // A touch (new modification time) makes the next run hash the file and see its new content.
    fs::last_write_time(audio, fs::last_write_time(audio) + std::chrono::seconds(5));
    const TokenizeReport rehashed = tokenize(optionsFor(dir));
    EXPECT_EQ(rehashed.encoded, 1);
    EXPECT_EQ(readIndex(dir)["tracks"]["a"]["hash"], *fileContentHash(audio));
}

TEST(TokenCache, TheSameContentUnderTwoTrackIdsIsEncodedOnce)
{
    const fs::path dir = test::freshOutDir("token_cache_duplicate");
    writeMusic(dir / "x.wav", 4.0, 44100, 2, 7, AudioContainer::Wav);
    fs::copy_file(dir / "x.wav", dir / "x-copy.wav");
    writeSongs(dir, { { "first", dir / "x.wav" }, { "second", dir / "x-copy.wav" } });
    const TokenizeReport report = tokenize(optionsFor(dir));
    EXPECT_EQ(report.encoded, 1);
    EXPECT_EQ(report.reused, 1);
    const auto cache = loadCache(dir);
    ASSERT_EQ(cache.size(), 2u);
    EXPECT_EQ(cache.at("first").values, cache.at("second").values);
    const nlohmann::json index = readIndex(dir);
    EXPECT_EQ(index["tracks"]["first"]["hash"], index["tracks"]["second"]["hash"]);
}

// Songs are encoded several at once (TokenizeOptions::workers); the codes, the counts and the progress are those
// of one song at a time.
TEST(TokenCache, ParallelWorkersGiveTheCodesOfOneWorker)
{
    std::map<std::string, AudioCodes> caches[2];
    for (int run = 0; run < 2; ++run) {
        const fs::path dir = test::freshOutDir("token_cache_workers_" + std::to_string(run));
        std::vector<Song> songs;
        for (unsigned i = 0; i < 7; ++i)
            songs.push_back({ "s" + std::to_string(i),
                writeMusic(dir / ("s" + std::to_string(i) + ".wav"), 3.5, 32000, 1, 20 + i, AudioContainer::Wav) });
        writeSongs(dir, songs);
        TokenizeOptions options = optionsFor(dir);
        options.workers = run == 0 ? 1 : 3;
        std::vector<int64_t> done;
        const TokenizeReport report = tokenize(options, nullptr, [&](const Progress& p) {
            if (p.stage == ProgressStage::Tokenizing) done.push_back(p.done);
        });
        EXPECT_EQ(report.encoded, 7);
        EXPECT_EQ(done, (std::vector<int64_t> { 0, 1, 2, 3, 4, 5, 6, 7 }));
        caches[run] = loadCache(dir);
    }
    ASSERT_EQ(caches[0].size(), 7u);
    for (const auto& [id, codes] : caches[0]) expectSameCodes(caches[1].at(id), codes, id);
}

TEST(TokenCache, UnreadableFilesAreReportedWithTheirNameAndSkipped)
{
    const fs::path dir = test::freshOutDir("token_cache_failures");
    constexpr char kCorrupt[] = "RIFF\x10\0\0\0WAVEjunk that is not audio"; // embedded NULs: size from the array
    ASSERT_TRUE(writeFileAtomic(dir / "corrupt.wav", std::string(kCorrupt, sizeof kCorrupt - 1)).ok());
    ASSERT_TRUE(writeFileAtomic(dir / "empty.flac", std::string()).ok());
    writeSongs(dir,
        { { "good", writeMusic(dir / "good.ogg", 4.0, 44100, 2, 1, AudioContainer::Ogg) },
            { "corrupt", dir / "corrupt.wav" }, { "empty", dir / "empty.flac" }, { "missing", dir / "missing.wav" } });
    const TokenizeReport report = tokenize(optionsFor(dir));
    EXPECT_EQ(report.encoded, 1);
    EXPECT_EQ(report.failed, 3);
    ASSERT_EQ(report.failures.size(), 3u);
    std::map<std::string, std::string> failures(report.failures.begin(), report.failures.end());
    for (const char* name : { "corrupt", "empty", "missing" }) {
        ASSERT_TRUE(failures.count(name)) << name;
        EXPECT_NE(failures[name].find((dir / name).string()), std::string::npos) << failures[name];
    }
    EXPECT_NE(failures["empty"].find("empty"), std::string::npos);
    const nlohmann::json index = readIndex(dir);
    EXPECT_EQ(index["failed"].size(), 3u);
    EXPECT_EQ(index["failed"]["corrupt"], failures["corrupt"]);
    EXPECT_EQ(loadCache(dir).size(), 1u);

    writeMusic(dir / "missing.wav", 3.0, 32000, 1, 2, AudioContainer::Wav); // fixed: the next run encodes it
    const TokenizeReport again = tokenize(optionsFor(dir));
    EXPECT_EQ(again.encoded, 1);
    EXPECT_EQ(again.reused, 1);
    EXPECT_EQ(again.failed, 2);
    EXPECT_FALSE(readIndex(dir)["failed"].contains("missing"));
}

TEST(TokenCache, ACancelledRunLeavesAValidCacheThatTheNextRunCompletes)
{
    const fs::path dir = test::freshOutDir("token_cache_cancel");
    std::vector<Song> songs;
    for (unsigned i = 0; i < 5; ++i)
        songs.push_back({ "t" + std::to_string(i),
            writeMusic(dir / ("t" + std::to_string(i) + ".wav"), 3.5, 44100, 2, i, AudioContainer::Wav) });
    writeSongs(dir, songs);
    CancelToken cancel;
    const TokenizeReport cancelled = tokenize(optionsFor(dir), &cancel, [&](const Progress& p) {
        if (p.stage == ProgressStage::Tokenizing && p.done == 2) cancel.requestCancel();
    });
    EXPECT_TRUE(cancelled.cancelled);
    EXPECT_EQ(cancelled.encoded, 2);
    EXPECT_EQ(loadCache(dir).size(), 2u);

    const TokenizeReport resumed = tokenize(optionsFor(dir));
    EXPECT_FALSE(resumed.cancelled);
    EXPECT_EQ(resumed.reused, 2);
    EXPECT_EQ(resumed.encoded, 3);
    const auto cache = loadCache(dir);
    ASSERT_EQ(cache.size(), 5u);
    expectSameCodes(cache.at("t4"), expectedCodes(songs[4].audio, 3.0, 0.3), "t4");
}

TEST(TokenCache, AKilledRunsCodesAreReusedWithoutItsIndex)
{
    const fs::path dir = test::freshOutDir("token_cache_killed");
    writeSongs(dir,
        { { "a", writeMusic(dir / "a.wav", 3.5, 44100, 2, 1, AudioContainer::Wav) },
            { "b", writeMusic(dir / "b.wav", 3.5, 44100, 2, 2, AudioContainer::Wav) } });
    const TokenizeReport first = tokenize(optionsFor(dir));
    ASSERT_EQ(first.encoded, 2);
    fs::remove(first.cacheDir / "index.json"); // killed after writing the codes, before the index
    const TokenizeReport resumed = tokenize(optionsFor(dir));
    EXPECT_EQ(resumed.encoded, 0);
    EXPECT_EQ(resumed.reused, 2);
    EXPECT_EQ(loadCache(dir).size(), 2u);
}

TEST(TokenCache, ADifferentWindowReencodesAndACorruptCacheFileIsReencoded)
{
    const fs::path dir = test::freshOutDir("token_cache_window");
    writeSongs(dir,
        { { "a", writeMusic(dir / "a.wav", 5.0, 44100, 2, 1, AudioContainer::Wav) },
            { "b", writeMusic(dir / "b.wav", 5.0, 44100, 2, 2, AudioContainer::Wav) } });
    ASSERT_EQ(tokenize(optionsFor(dir, 3.0)).encoded, 2);
    const TokenizeReport shorter = tokenize(optionsFor(dir, 2.0));
    EXPECT_EQ(shorter.encoded, 2);
    EXPECT_EQ(shorter.reused, 0);
    EXPECT_EQ(readIndex(dir)["window"]["seconds"], 2.0);
    const auto cache = loadCache(dir);
    EXPECT_EQ(cache.at("a").frames, 100);
    expectSameCodes(cache.at("a"), expectedCodes(dir / "a.wav", 2.0, 0.3), "a");

    const fs::path file
        = shorter.cacheDir / (readIndex(dir)["tracks"]["b"]["hash"].get<std::string>() + ".safetensors");
    fs::resize_file(file, fs::file_size(file) - 16); // truncated
    const TokenizeReport repaired = tokenize(optionsFor(dir, 2.0));
    EXPECT_EQ(repaired.encoded, 1);
    EXPECT_EQ(repaired.reused, 1);
    expectSameCodes(loadCache(dir).at("b"), expectedCodes(dir / "b.wav", 2.0, 0.3), "b");
}

// The cache is keyed by the codec: a copy of the model with its language model in bf16 (convert-model keeps the
// EnCodec as it is) shares the key, while the model fingerprints differ; another codec config does not.
TEST(TokenCache, ModelsSharingACodecShareTheKey)
{
    const fs::path root = test::freshOutDir("token_cache_codec_key");
    const fs::path bf16 = root / "bf16", other = root / "other";
    for (const fs::path& dir : { bf16, other }) {
        fs::create_directories(dir);
        for (const char* file : { "config.json", "generation_config.json", "spiece.model" })
            fs::copy_file(modelDir() / file, dir / file);
    }
    ASSERT_TRUE(convertCheckpoint(modelDir(), bf16 / "model.safetensors", DType::BF16, { "audio_encoder." }));
    fs::copy_file(modelDir() / "model.safetensors", other / "model.safetensors");
    Expected<std::string> config = readFileText(modelDir() / "config.json");
    ASSERT_TRUE(config);
    nlohmann::json json = nlohmann::json::parse(*config);
    json["audio_encoder"]["normalize"] = !json["audio_encoder"].value("normalize", false);
    ASSERT_TRUE(writeFileAtomic(other / "config.json", json.dump(2)));

    Expected<ContentIdentity> a = codecIdentity(modelDir()), b = codecIdentity(bf16), c = codecIdentity(other);
    ASSERT_TRUE(a && b && c) << (a ? b ? c.error().message : b.error().message : a.error().message);
    EXPECT_EQ(a->fingerprint, b->fingerprint);
    EXPECT_EQ(tokenCacheDir(root, *a), tokenCacheDir(root, *b));
    EXPECT_NE(a->fingerprint, c->fingerprint);
    EXPECT_EQ(b->name, "bf16");
    Expected<ContentIdentity> modelA = modelIdentity(modelDir()), modelB = modelIdentity(bf16);
    ASSERT_TRUE(modelA && modelB);
    EXPECT_NE(modelA->fingerprint, modelB->fingerprint);

    Expected<ContentIdentity> none = codecIdentity(root);
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("config.json"), std::string::npos) << none.error().message;
}

TEST(TokenCache, StoredCodesLoadBackAsBatchOne)
{
    const fs::path dir = test::freshOutDir("token_cache_store");
    const ContentIdentity model = tinyIdentity();
    AudioCodes codes { 1, 4, 7, {} };
    for (int64_t i = 0; i < 28; ++i) codes.values.push_back((i * 5) % 64);
    const std::string hash(64, 'a');
    ASSERT_TRUE(storeTokens(dir, model, "song", hash, codes).ok());
    ASSERT_TRUE(storeTokens(dir, model, "alias", hash, codes).ok());
    const auto cache = loadCache(dir);
    ASSERT_EQ(cache.size(), 2u);
    expectSameCodes(cache.at("song"), codes, "song");
    expectSameCodes(cache.at("alias"), codes, "alias");
    EXPECT_EQ(tokenCacheDir(dir, model), dir / "tokens" / model.fingerprint.substr(7, 16));

    EXPECT_FALSE(storeTokens(dir, model, "bad", "not-a-hash", codes).ok());
    AudioCodes wrongShape = codes;
    wrongShape.frames = 6;
    EXPECT_FALSE(storeTokens(dir, model, "bad", hash, wrongShape).ok());
}

TEST(TokenCache, LoadErrorsNameTheFileAtFault)
{
    const fs::path dir = test::freshOutDir("token_cache_errors");
    const ContentIdentity model = tinyIdentity();
    auto missing = loadTokenCache(dir, model);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().message.find("tastemaker-cli tokenize"), std::string::npos);

    AudioCodes codes { 1, 4, 5, std::vector<int64_t>(20, 3) };
    const std::string hash(64, 'b');
    ASSERT_TRUE(storeTokens(dir, model, "song", hash, codes).ok());
    const fs::path index = tokenCacheDir(dir, model) / "index.json";
    const fs::path file = tokenCacheDir(dir, model) / (hash + ".safetensors");

    codes.values[13] = 64; // outside the tiny model's 64-entry codebooks
    EXPECT_EQ(storeTokens(dir, model, "song", hash, codes).error().code, ErrorCode::Mismatch);
    auto writeCodes = [&](int64_t codebooks, const std::vector<int64_t>& values) {
        const std::vector<TensorView> tensors
            = { { "codes", DType::I64, { codebooks, 5 }, std::as_bytes(std::span(values)) } };
        ASSERT_TRUE(writeSafetensors(file, tensors).ok());
    };
    writeCodes(4, codes.values);
    auto outOfRange = loadTokenCache(dir, model);
    ASSERT_FALSE(outOfRange.ok());
    EXPECT_NE(outOfRange.error().message.find(file.string()), std::string::npos) << outOfRange.error().message;
    EXPECT_NE(outOfRange.error().message.find("64"), std::string::npos);

    AudioCodes threeBooks { 1, 3, 5, std::vector<int64_t>(15, 1) };
    EXPECT_EQ(storeTokens(dir, model, "song", hash, threeBooks).error().code, ErrorCode::Mismatch);
    writeCodes(3, threeBooks.values);
    auto wrongK = loadTokenCache(dir, model);
    ASSERT_FALSE(wrongK.ok());
    EXPECT_NE(wrongK.error().message.find(file.string()), std::string::npos) << wrongK.error().message;

    ASSERT_TRUE(writeFileAtomic(file, std::string("garbage")).ok());
    auto corrupt = loadTokenCache(dir, model);
    ASSERT_FALSE(corrupt.ok());
    EXPECT_NE(corrupt.error().message.find(file.string()), std::string::npos) << corrupt.error().message;

    for (const std::string& text : { std::string("{not json"), std::string(R"({"format":1,"model":{"name":"m"}})"),
             std::string(R"({"format":2})") }) {
        ASSERT_TRUE(writeFileAtomic(index, text).ok());
        auto malformed = loadTokenCache(dir, model);
        ASSERT_FALSE(malformed.ok()) << text;
        EXPECT_NE(malformed.error().message.find(index.string()), std::string::npos) << malformed.error().message;
    }
    writeSongs(dir, { { "song", {} } });
    TokenizeOptions options = optionsFor(dir);
    auto tokenizeError = tokenizeSongs(options);
    ASSERT_FALSE(tokenizeError.ok());
    EXPECT_NE(tokenizeError.error().message.find(index.string()), std::string::npos);
}

TEST(TokenCache, OptionsAreValidated)
{
    TokenizeOptions options = optionsFor("/tmp/pairs");
    EXPECT_TRUE(options.validate().ok());
    options.windowSeconds = 0.0;
    EXPECT_FALSE(options.validate().ok());
    options = optionsFor("/tmp/pairs");
    options.startFraction = 1.5;
    EXPECT_FALSE(options.validate().ok());
    auto noSongs = tokenizeSongs(optionsFor(test::freshOutDir("token_cache_nosongs")));
    ASSERT_FALSE(noSongs.ok());
    EXPECT_NE(noSongs.error().message.find("pairs.jsonl"), std::string::npos) << noSongs.error().message;
}

TEST(TokenCache, AnAlreadyLoadedModelIsUsedWhenItComesFromTheModelFolder)
{
    const fs::path dir = test::freshOutDir("token_cache_loaded_model");
    writeSongs(dir, { { "a", writeMusic(dir / "a.wav", 3.5, 44100, 2, 1, AudioContainer::Wav) } });
    TokenizeOptions options = optionsFor(dir);
    options.loadedModel = sharedTinyModel();
    const TokenizeReport report = tokenize(options);
    EXPECT_EQ(report.encoded, 1);
    expectSameCodes(loadCache(dir).at("a"), expectedCodes(dir / "a.wav", 3.0, 0.3), "a");

    options.modelDir = dir; // not where the loaded model came from
    auto mismatch = tokenizeSongs(options);
    ASSERT_FALSE(mismatch.ok());
    EXPECT_EQ(mismatch.error().code, ErrorCode::InvalidArgument);
}

TEST(TokenCache, ContentHashIsTheSha256OfTheWholeFile)
{
    const fs::path dir = test::freshOutDir("token_cache_hash");
    ASSERT_TRUE(writeFileAtomic(dir / "abc.bin", std::string("abc")).ok());
    EXPECT_EQ(*fileContentHash(dir / "abc.bin"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ASSERT_TRUE(writeFileAtomic(dir / "empty.bin", std::string()).ok());
    EXPECT_EQ(*fileContentHash(dir / "empty.bin"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    auto missing = fileContentHash(dir / "missing.bin");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find((dir / "missing.bin").string()), std::string::npos);
}
