// renderWorld (world.h): songs are composed and rendered by worker threads (one FluidSynth each) in any order;
// every song depends only on its own seed, and the CSVs are written in song order at the end.
#include "tastemaker/world/world.h"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sndfile.h>
#include <thread>

#include "effects.h"
#include "genres.h"
#include "metadata.h"
#include "rng.h"
#include "speech.h"
#include "synth.h"

namespace tmk::world {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kStreamCrowd = 4, kStreamSpeech = 5;

// espeak-ng voice variants (English phonemes, different timbres).
const char* const kSpeechVariants[] = { "Alex", "Andy", "AnxiousAndy", "Denis", "Diogo", "Henrique", "Hugo", "Lee",
    "Storm", "michel", "miguel", "shelby" };

struct Job {
    explicit Job(const WorldOptions& o)
        : options(o)
    {
    }
    const WorldOptions& options;
    std::vector<SongKnobs> knobs;
    std::vector<CatalogueEntry> catalogue;
    std::vector<SongOutcome> outcomes;
    std::atomic<size_t> next { 0 };
    std::atomic<bool> stop { false };
    std::mutex mutex; // guards error, done and the progress callback
    std::optional<Error> error;
    int64_t done = 0;
};

Expected<void> writeFileAtomically(const fs::path& path, const std::string& text)
{
    const fs::path temporary = path.string() + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) return Error::inFile(ErrorCode::Io, temporary.string(), "could not be written");
    }
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error) return Error::inFile(ErrorCode::Io, path.string(), "could not be replaced: " + error.message());
    return {};
}

Expected<void> writeWav(const fs::path& path, const std::vector<float>& audio, int sampleRate)
{
    std::vector<short> pcm(audio.size());
    for (size_t i = 0; i < audio.size(); ++i)
        pcm[i] = static_cast<short>(std::clamp(std::lround(audio[i] * 32767.0), -32767L, 32767L));
    const fs::path temporary = path.string() + ".tmp";
    SF_INFO info {};
    info.samplerate = sampleRate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* file = sf_open(temporary.c_str(), SFM_WRITE, &info);
    if (!file)
        return Error::inFile(
            ErrorCode::Io, temporary.string(), std::string("could not be opened: ") + sf_strerror(nullptr));
    const sf_count_t written = sf_write_short(file, pcm.data(), static_cast<sf_count_t>(pcm.size()));
    sf_close(file);
    if (written != static_cast<sf_count_t>(pcm.size()))
        return Error::inFile(ErrorCode::Io, temporary.string(), "short write");
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error) return Error::inFile(ErrorCode::Io, path.string(), "could not be replaced: " + error.message());
    return {};
}

// Lays espeak-ng speech over the spoken bars, one continuous line cut into bar-long pieces.
Expected<void> addSpeech(std::vector<float>& audio, const Score& score, const SongKnobs& k)
{
    if (score.spoken.empty()) return {};
    int64_t total = 0;
    for (const SpokenSpan& span : score.spoken) total += span.lengthSamples;
    Rng rng(deriveSeed(k.seed, kStreamSpeech));
    SpeechVoice voice;
    voice.wordsPerMinute = rng.between(150, 230);
    voice.pitch = rng.between(25, 70);
    voice.voice = std::string("en+") + kSpeechVariants[rng.index(std::size(kSpeechVariants))];
    const int words = 4 + static_cast<int>(std::ceil(static_cast<double>(total) / kWorldSampleRate * 3.5));
    Expected<std::vector<float>> speech = speak(lyricLine(rng.next(), words), voice, kWorldSampleRate);
    if (!speech) return speech.error();
    if (speech->empty()) return {};
    const double gain = 1.3 * std::max(rms(audio), 0.02) / std::max(rms(*speech), 1e-6);
    const int64_t fade = kWorldSampleRate / 100;
    size_t cursor = 0;
    for (const SpokenSpan& span : score.spoken)
        for (int64_t i = 0; i < span.lengthSamples; ++i, cursor = (cursor + 1) % speech->size()) {
            const int64_t edge = std::min(i, span.lengthSamples - 1 - i);
            const double envelope = edge < fade ? static_cast<double>(edge) / fade : 1.0;
            audio[static_cast<size_t>(span.startSample + i)] += static_cast<float>(gain * envelope * (*speech)[cursor]);
        }
    return {};
}

Expected<SongOutcome> renderSong(SynthRenderer& synth, const SongKnobs& k, double seconds, const fs::path& wavPath)
{
    const Score score = compose(k, seconds, kWorldSampleRate);
    std::vector<float> audio = synth.render(score);
    TMK_TRY(addSpeech(audio, score, k));
    if (k.crowdLevel > 0.0) {
        const std::vector<float> crowd = synthesiseCrowd(
            score.lengthSamples, k.crowdLevel, k.bpm, deriveSeed(k.seed, kStreamCrowd), kWorldSampleRate);
        const double gain = 0.6 * k.crowdLevel * std::max(rms(audio), 0.02) / std::max(rms(crowd), 1e-6);
        for (size_t i = 0; i < audio.size(); ++i) audio[i] += static_cast<float>(gain * crowd[i]);
    }
    applyRoomReverb(audio, k.reverb, kWorldSampleRate);
    SongOutcome outcome;
    outcome.targetLufs = targetLoudness(k);
    normaliseAndLimit(audio, outcome.targetLufs, kWorldSampleRate);
    for (float& x : audio) x = static_cast<float>(std::lround(x * 32767.0)) / 32767.0f; // what the WAV holds
    outcome.loudnessLufs = integratedLoudness(audio, kWorldSampleRate);
    outcome.prompt = promptFor(k, score);
    outcome.bars = score.bars;
    outcome.voiceBars = score.voiceBars;
    outcome.spokenBars = score.spokenBars;
    outcome.acousticParts = score.acousticParts;
    outcome.parts = score.parts;
    TMK_TRY(writeWav(wavPath, audio, kWorldSampleRate));
    return outcome;
}

void fail(Job& job, Error error)
{
    std::lock_guard<std::mutex> lock(job.mutex);
    if (!job.error) job.error = std::move(error);
    job.stop = true;
}

void work(Job& job, const std::string& soundfont, const ProgressCallback& progress, const CancelToken* cancel)
{
    Expected<std::unique_ptr<SynthRenderer>> synth = SynthRenderer::create(soundfont, kWorldSampleRate);
    if (!synth) return fail(job, synth.error());
    const fs::path audioDir = fs::path(job.options.outDir) / "audio";
    for (;;) {
        if (cancel && cancel->isCancelled())
            return fail(job, Error { ErrorCode::Cancelled, "world render was cancelled" });
        const size_t i = job.next++;
        if (job.stop || i >= job.knobs.size()) return;
        const fs::path wavPath = audioDir / (job.catalogue[i].trackId + ".wav");
        Expected<SongOutcome> outcome = Error { ErrorCode::Internal, "" };
        try {
            outcome = renderSong(**synth, job.knobs[i], job.options.secondsPerSong, wavPath);
        } catch (const std::exception& e) { // e.g. std::bad_alloc: an error naming the song, not a terminate()
            outcome
                = Error::inFile(ErrorCode::Internal, wavPath.string(), std::string("rendering failed: ") + e.what());
        }
        if (!outcome) return fail(job, outcome.error());
        job.outcomes[i] = std::move(*outcome);
        std::lock_guard<std::mutex> lock(job.mutex);
        ++job.done;
        if (progress) progress({ ProgressStage::RenderingSongs, job.done, static_cast<int64_t>(job.knobs.size()) });
    }
}

} // namespace

std::string defaultSoundfont()
{
    return TM_DEFAULT_SOUNDFONT;
}

Expected<void> WorldOptions::validate() const
{
    auto bad = [](const std::string& what) { return Error { ErrorCode::InvalidArgument, "world render: " + what }; };
    if (songs < 1) return bad("--songs must be at least 1");
    if (!(secondsPerSong >= 1.0 && secondsPerSong <= 600.0)) return bad("--seconds must be between 1 and 600");
    if (jobs < 1 || jobs > 64) return bad("--jobs must be between 1 and 64");
    if (outDir.empty()) return bad("--out is required");
    if (!(youtubeFraction >= 0.0 && youtubeFraction <= 1.0)) return bad("--youtube-fraction must be between 0 and 1");
    for (const std::string& genre : genres)
        if (genreIndex(genre) < 0) return bad("unknown genre '" + genre + "'");
    std::error_code error;
    const std::string font = soundfont.empty() ? defaultSoundfont() : soundfont;
    if (!fs::is_regular_file(font, error))
        return Error::inFile(
            ErrorCode::NotFound, font, "no such soundfont (Debian: fluid-soundfont-gm, timgm6mb-soundfont)");
    return {};
}

Expected<WorldSummary> renderWorld(
    const WorldOptions& options, const ProgressCallback& progress, const CancelToken* cancel)
{
    TMK_TRY(options.validate());
    std::vector<int> genreList;
    for (const std::string& name : options.genres) genreList.push_back(genreIndex(name));
    if (genreList.empty())
        for (size_t g = 0; g < genreNames().size(); ++g) genreList.push_back(static_cast<int>(g));
    Job job(options);
    std::vector<int> songGenres;
    for (int i = 0; i < options.songs; ++i) {
        const int genre = genreList[static_cast<size_t>(i) % genreList.size()];
        songGenres.push_back(genre);
        job.knobs.push_back(drawKnobs(genre, deriveSeed(options.seed, static_cast<uint64_t>(i) + 1)));
    }
    job.catalogue = buildCatalogue(songGenres, options.seed, options.youtubeFraction);
    job.outcomes.resize(job.knobs.size());
    std::error_code error;
    fs::create_directories(fs::path(options.outDir) / "audio", error);
    if (error) return Error::inFile(ErrorCode::Io, options.outDir, "could not be created: " + error.message());
    const std::string soundfont = options.soundfont.empty() ? defaultSoundfont() : options.soundfont;
    std::vector<std::thread> workers;
    const int threads = std::min(options.jobs, options.songs);
    for (int t = 0; t < threads; ++t) workers.emplace_back(work, std::ref(job), soundfont, std::cref(progress), cancel);
    for (std::thread& worker : workers) worker.join();
    if (job.error) return *job.error;
    const std::vector<TrackValues> values = deriveValues(job.knobs, job.outcomes, job.catalogue, options.seed);
    const fs::path out(options.outDir);
    TMK_TRY(writeFileAtomically(
        out / "tracks.csv", tracksCsv(job.knobs, job.outcomes, job.catalogue, values, options.secondsPerSong)));
    TMK_TRY(writeFileAtomically(out / "youtube.csv", youtubeCsv(job.catalogue, values)));
    TMK_TRY(writeFileAtomically(out / "prompts.csv", promptsCsv(job.outcomes, job.catalogue)));
    TMK_TRY(writeFileAtomically(out / "knobs.csv", knobsCsv(job.knobs, job.outcomes, job.catalogue)));
    WorldSummary summary;
    summary.songs = options.songs;
    for (const CatalogueEntry& entry : job.catalogue) {
        summary.youtubeRows += entry.youtube ? 1 : 0;
        const uintmax_t bytes = fs::file_size(out / "audio" / (entry.trackId + ".wav"), error);
        if (!error) summary.audioBytes += static_cast<uint64_t>(bytes);
    }
    summary.audioSeconds = options.songs * options.secondsPerSong;
    return summary;
}

} // namespace tmk::world
