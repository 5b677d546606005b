// The Analyser's public API: reading (libsndfile), loudness (libebur128), resampling (libsamplerate), the
// estimators, library walks and the metrics CSV.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ebur128.h>
#include <samplerate.h>
#include <set>
#include <sndfile.h>

#include "acoustic_net.h"
#include "descriptors.h"
#include "estimators.h"
#include "mode_model.h"
#include "tastemaker/analysis.h"
#include "tastemaker/csv_field.h"
#include "tastemaker/fileio.h"
#include "tastemaker/log.h"
#include "tempo_octave.h"

namespace tmk {

namespace {

constexpr double kSilenceLufs = -70.0;

// Integrated loudness of interleaved audio; -70 LUFS (the gate) for silence or clips under 400 ms.
double integratedLoudness(std::span<const float> interleaved, int channels, int sampleRate)
{
    ebur128_state* state
        = ebur128_init(static_cast<unsigned>(channels), static_cast<unsigned long>(sampleRate), EBUR128_MODE_I);
    if (state == nullptr) return kSilenceLufs;
    double lufs = kSilenceLufs;
    if (ebur128_add_frames_float(state, interleaved.data(), interleaved.size() / channels) == EBUR128_SUCCESS)
        ebur128_loudness_global(state, &lufs);
    ebur128_destroy(&state);
    return std::isfinite(lufs) ? std::max(lufs, kSilenceLufs) : kSilenceLufs;
}

std::vector<float> resample(std::span<const float> mono, int fromRate, int toRate)
{
    if (fromRate == toRate || mono.empty()) return { mono.begin(), mono.end() };
    const double ratio = static_cast<double>(toRate) / fromRate;
    std::vector<float> out(static_cast<size_t>(std::ceil(mono.size() * ratio)) + 16);
    SRC_DATA data {};
    data.data_in = mono.data();
    data.input_frames = static_cast<long>(mono.size());
    data.data_out = out.data();
    data.output_frames = static_cast<long>(out.size());
    data.src_ratio = ratio;
    if (src_simple(&data, SRC_SINC_FASTEST, 1) != 0) return {};
    out.resize(static_cast<size_t>(data.output_frames_gen));
    return out;
}

// The acoustic-share net's share (0..1) on the world's acousticness scale, 0.02 + 0.96 share
// (docs/world.md); the same scale as Spotify's, where 1 is "high confidence the track is acoustic".
double acousticnessOf(const analysis::FrameDescriptors& frames)
{
    int count = 0;
    const std::vector<float> input = analysis::acousticNetInput(frames, count);
    if (count <= 0) return 0.5;
    const double share
        = 1.0 / (1.0 + std::exp(-analysis::acousticNetLogit(analysis::committedAcousticNet(), input, count)));
    return 0.02 + 0.96 * share;
}

AudioMetrics analyseAtAnalysisRate(std::span<const float> mono, double loudnessLufs)
{
    using namespace analysis;
    const FrameDescriptors frames = computeFrameDescriptors(mono, kAnalysisSampleRate);
    TempoEstimate tempo = estimateTempo(frames.onset, frames.lowOnset, frames.frameRateHz);
    tempo.bpm = correctedBpm(committedTempoOctaveModel(), tempoOctaveFeatures(frames, tempo), tempo.bpm);
    tempo.bpm = fitBeatGrid(frames.onset, frames.lowOnset, frames.frameRateHz, tempo.bpm);
    KeyEstimate key = estimateKey(mono, kAnalysisSampleRate);
    applyModeModel(committedModeModel(), key);
    AudioMetrics m;
    m.features = computeFeatures(frames, tempo, key, loudnessLufs);
    m.tempoBpm = tempo.bpm;
    m.loudnessLufs = loudnessLufs;
    m.mode = key.mode;
    m.keyPitchClass = key.tonic;
    m.energy = estimateMetric("energy", m.features);
    m.danceability = estimateMetric("danceability", m.features);
    m.acousticness = acousticnessOf(frames);
    m.valence = estimateMetric("valence", m.features);
    m.instrumentalness = estimateMetric("instrumentalness", m.features);
    m.speechiness = estimateMetric("speechiness", m.features);
    m.liveness = estimateMetric("liveness", m.features);
    return m;
}

bool isAudioExtension(const std::filesystem::path& path)
{
    static const std::set<std::string> extensions = { ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif",
        ".aifc", ".au", ".snd", ".caf", ".w64", ".rf64" };
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return extensions.count(ext) > 0;
}

} // namespace

Expected<void> AnalysisOptions::validate() const
{
    if (!(maxSeconds >= 0.0) || !std::isfinite(maxSeconds))
        return Error { ErrorCode::InvalidArgument,
            "--max-seconds must be 0 (whole file) or a positive number of seconds" };
    return {};
}

AudioMetrics analyseSignal(std::span<const float> mono, int sampleRate, const AnalysisOptions& options)
{
    if (options.maxSeconds > 0.0)
        mono = mono.first(std::min(mono.size(), static_cast<size_t>(options.maxSeconds * sampleRate)));
    const double lufs = integratedLoudness(mono, 1, sampleRate);
    const std::vector<float> resampled = resample(mono, sampleRate, kAnalysisSampleRate);
    return analyseAtAnalysisRate(resampled, lufs);
}

namespace {

// A file mixed to mono at kAnalysisSampleRate, with the loudness of its own channels at its own rate.
struct AnalysisAudio {
    std::vector<float> mono;
    double loudnessLufs = kSilenceLufs;
};

Expected<AnalysisAudio> readAnalysisAudio(const std::filesystem::path& path, const AnalysisOptions& options)
{
    SF_INFO info {};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    if (file == nullptr) return Error::inFile(ErrorCode::Format, path.string(), sf_strerror(nullptr));
    if (info.channels <= 0 || info.samplerate <= 0 || info.frames <= 0) {
        sf_close(file);
        return Error::inFile(ErrorCode::Format, path.string(), "no audio frames");
    }
    sf_count_t frames = info.frames;
    if (options.maxSeconds > 0.0)
        frames = std::min<sf_count_t>(frames, static_cast<sf_count_t>(options.maxSeconds * info.samplerate));
    std::vector<float> interleaved(static_cast<size_t>(frames) * info.channels);
    const sf_count_t read = sf_readf_float(file, interleaved.data(), frames);
    sf_close(file);
    if (read <= 0) return Error::inFile(ErrorCode::Format, path.string(), "could not decode any audio frame");
    interleaved.resize(static_cast<size_t>(read) * info.channels);
    AnalysisAudio audio;
    audio.loudnessLufs = integratedLoudness(interleaved, info.channels, info.samplerate);
    std::vector<float> mono(static_cast<size_t>(read));
    for (sf_count_t i = 0; i < read; ++i) {
        double sum = 0.0;
        for (int c = 0; c < info.channels; ++c) sum += interleaved[static_cast<size_t>(i) * info.channels + c];
        mono[i] = static_cast<float>(sum / info.channels);
    }
    audio.mono = resample(mono, info.samplerate, kAnalysisSampleRate);
    if (audio.mono.empty()) return Error::inFile(ErrorCode::Format, path.string(), "resampling failed");
    return audio;
}

} // namespace

Expected<AudioMetrics> analyseFile(const std::filesystem::path& path, const AnalysisOptions& options)
{
    Expected<AnalysisAudio> audio = readAnalysisAudio(path, options);
    if (!audio) return audio.error();
    AudioMetrics metrics = analyseAtAnalysisRate(audio->mono, audio->loudnessLufs);
    metrics.path = path;
    return metrics;
}

namespace analysis {

Expected<AcousticInput> acousticInputOfFile(const std::filesystem::path& path)
{
    Expected<AnalysisAudio> audio = readAnalysisAudio(path, {});
    if (!audio) return audio.error();
    AcousticInput input;
    input.seconds = static_cast<double>(audio->mono.size()) / kAnalysisSampleRate;
    input.input = acousticNetInput(computeFrameDescriptors(audio->mono, kAnalysisSampleRate), input.frames);
    return input;
}

Expected<KeyEstimate> keyOfFile(const std::filesystem::path& path)
{
    Expected<AnalysisAudio> audio = readAnalysisAudio(path, {});
    if (!audio) return audio.error();
    return estimateKey(audio->mono, kAnalysisSampleRate);
}

Expected<TempoReading> tempoReadingOfFile(const std::filesystem::path& path)
{
    Expected<AnalysisAudio> audio = readAnalysisAudio(path, {});
    if (!audio) return audio.error();
    const FrameDescriptors frames = computeFrameDescriptors(audio->mono, kAnalysisSampleRate);
    const TempoEstimate tempo = estimateTempo(frames.onset, frames.lowOnset, frames.frameRateHz);
    return TempoReading { tempoOctaveFeatures(frames, tempo), tempo.bpm };
}

} // namespace analysis

Expected<std::vector<std::filesystem::path>> collectAudioFiles(const std::vector<std::filesystem::path>& inputs)
{
    std::set<std::filesystem::path> files;
    for (const std::filesystem::path& input : inputs) {
        std::error_code ec;
        if (std::filesystem::is_directory(input, ec)) {
            auto it = std::filesystem::recursive_directory_iterator(
                input, std::filesystem::directory_options::skip_permission_denied, ec);
            if (ec) return Error::inFile(ErrorCode::Io, input.string(), "cannot list the folder: " + ec.message());
            for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
                if (ec) break;
                if (it->is_regular_file(ec) && isAudioExtension(it->path())) files.insert(it->path());
            }
        } else if (std::filesystem::exists(input, ec)) {
            files.insert(input);
        } else {
            return Error::inFile(ErrorCode::NotFound, input.string(), "no such file or folder");
        }
    }
    return std::vector<std::filesystem::path>(files.begin(), files.end());
}

Expected<LibraryAnalysis> analyseLibrary(const std::vector<std::filesystem::path>& inputs,
    const AnalysisOptions& options, const ProgressCallback& progress, const CancelToken* cancel)
{
    TMK_TRY(options.validate());
    Expected<std::vector<std::filesystem::path>> files = collectAudioFiles(inputs);
    if (!files) return files.error();
    LibraryAnalysis result;
    const int64_t total = static_cast<int64_t>(files->size());
    if (progress) progress(Progress { ProgressStage::AnalysingFiles, 0, total });
    for (int64_t i = 0; i < total; ++i) {
        if (cancel != nullptr && cancel->isCancelled()) {
            result.cancelled = true;
            break;
        }
        const std::filesystem::path& file = (*files)[static_cast<size_t>(i)];
        Expected<AudioMetrics> metrics = analyseFile(file, options);
        if (metrics) {
            result.songs.push_back(std::move(*metrics));
        } else {
            logMessage(LogLevel::Warning, "skipped " + metrics.error().message);
            result.skipped.emplace_back(file, metrics.error().message);
        }
        if (progress) progress(Progress { ProgressStage::AnalysingFiles, i + 1, total });
    }
    return result;
}

std::string metricsCsvHeader()
{
    return "path,tempo,loudness,mode,energy,danceability,acousticness,valence,instrumentalness,speechiness,liveness";
}

std::string metricsCsvRow(const AudioMetrics& m)
{
    char buffer[256];
    std::snprintf(buffer, sizeof buffer, ",%.3f,%.2f,%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f", m.tempoBpm, m.loudnessLufs,
        m.mode, m.energy, m.danceability, m.acousticness, m.valence, m.instrumentalness, m.speechiness, m.liveness);
    return csvField(m.path.string()) + buffer;
}

std::string metricsCsv(const std::vector<AudioMetrics>& songs)
{
    std::string text = metricsCsvHeader() + "\n";
    for (const AudioMetrics& song : songs) text += metricsCsvRow(song) + "\n";
    return text;
}

Expected<void> writeMetricsCsv(const std::filesystem::path& path, const std::vector<AudioMetrics>& songs)
{
    return writeFileAtomic(path, std::string_view(metricsCsv(songs)));
}

std::string featuresCsv(const std::vector<AudioMetrics>& songs)
{
    std::string text = "path";
    for (const char* name : analysisFeatureNames()) text += std::string(",") + name;
    text += "\n";
    char buffer[32];
    for (const AudioMetrics& song : songs) {
        text += csvField(song.path.string());
        for (double v : song.features) {
            std::snprintf(buffer, sizeof buffer, ",%.6g", v);
            text += buffer;
        }
        text += "\n";
    }
    return text;
}

} // namespace tmk
