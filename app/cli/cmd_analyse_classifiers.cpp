// The Analyser's two world-trained classifiers, fitted on rendered worlds (development seeds only):
// - `analyse --fit-acoustic WORLD_DIR... [--validate WORLD_DIR...] [--net-out FILE]`: the acoustic-share net
//   (engine/analysis/acoustic_net.h). Each song's part labels (which of chords, bass, lead, pad and drums are
//   acoustic) come from recomposing it from its seed in knobs.csv, checked against the acoustic_parts and
//   parts that the render wrote.
// - `analyse --fit-mode WORLD_DIR... [--validate WORLD_DIR...] [--mode-out FILE]`: the mode classifier
//   (engine/analysis/mode_model.h), against knobs.csv's mode.
// - `analyse --fit-tempo WORLD_DIR... [--validate WORLD_DIR...] [--tempo-out FILE]`: the tempo octave
//   classifier (engine/analysis/tempo_octave.h), against knobs.csv's bpm.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <thread>

#include "analysis/acoustic_net.h"
#include "analysis/calibration.h"
#include "analysis/mode_model.h"
#include "analysis/tempo_octave.h"
#include "cmd_analyse_calibrate.h"
#include "commands.h"
#include "tastemaker/devtools/acoustic_net_training.h"
#include "tastemaker/fileio.h"
#include "tastemaker/world/composer.h"
#include "tastemaker/world/world.h"
#include "training/worker_pool.h"

namespace tmk::cli {

namespace {

// The generator's value `name` of a song (knobs.csv), or an error naming what `option` needs.
Expected<double> knobOf(const analysis::WorldSong& song, const std::string& name, const char* option)
{
    auto it = song.truth.find("knob:" + name);
    if (it == song.truth.end())
        return Error::inFile(ErrorCode::Format, song.audio.string(),
            "has no " + name + " in knobs.csv; " + option + " needs a world rendered by `tastemaker-cli world render`");
    return it->second;
}

// The song's parts as the world's composer assigned them, or an error when they no longer match the render.
Expected<AcousticExample> labelledExample(const analysis::WorldSong& song, analysis::AcousticInput input)
{
    const std::string where = song.audio.string();
    if (song.songSeed.empty() || world::genreIndex(song.genre) < 0)
        return Error::inFile(ErrorCode::Format, where,
            "has no song_seed or a genre the world does not know in knobs.csv; --fit-acoustic needs a world "
            "rendered by `tastemaker-cli world render`");
    uint64_t seed = 0;
    try {
        seed = std::stoull(song.songSeed);
    } catch (const std::exception&) {
        return Error::inFile(ErrorCode::Format, where, "has a song_seed that is not a number: " + song.songSeed);
    }
    const world::Score score
        = world::compose(world::drawKnobs(world::genreIndex(song.genre), seed), input.seconds, world::kWorldSampleRate);
    AcousticExample example;
    example.parts.fill(-1);
    for (const world::ChannelSetup& channel : score.channels) {
        const int role = static_cast<int>(channel.role);
        if (channel.role == world::Role::Voice) continue;
        const int slot = channel.role == world::Role::Drums ? 4 : role; // chords, bass, lead, pad, drums
        example.parts[static_cast<size_t>(slot)] = channel.acoustic ? 1 : 0;
    }
    Expected<double> written = knobOf(song, "acousticness", "--fit-acoustic");
    if (!written) return written.error();
    const double share = score.parts > 0 ? static_cast<double>(score.acousticParts) / score.parts : 0.0;
    if (std::abs(*written - share) > 1e-9)
        return Error::inFile(ErrorCode::Mismatch, where,
            "recomposed from its seed, has another share of acoustic parts than knobs.csv says; re-render the "
            "world with this build");
    example.share = share;
    example.input = std::move(input.input);
    example.frames = input.frames;
    return example;
}

Expected<std::vector<analysis::WorldSong>> readWorlds(const std::vector<std::string>& dirs)
{
    std::vector<analysis::WorldSong> songs;
    for (const std::string& dir : dirs) {
        Expected<std::vector<analysis::WorldSong>> world = analysis::readWorldTracks(dir);
        if (!world) return world.error();
        if (world->empty()) return Error::inFile(ErrorCode::Format, dir + "/tracks.csv", "no songs");
        songs.insert(songs.end(), world->begin(), world->end());
    }
    return songs;
}

// Runs `read(i)` for every song on all cores (forEachOnWorkers); the first error stops the rest and is returned.
Expected<void> readInParallel(size_t count, const std::function<Expected<void>(size_t)>& read)
{
    struct Failed {
        Error error;
    };
    std::atomic<size_t> done { 0 };
    try {
        forEachOnWorkers(static_cast<int64_t>(count),
            static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), [&](int64_t i) {
                Expected<void> ok = read(static_cast<size_t>(i));
                if (!ok) throw Failed { ok.error() };
                const size_t finished = ++done;
                if (finished % 500 == 0 || finished == count)
                    std::fprintf(stderr, "read %zu/%zu songs\n", finished, count);
            });
    } catch (const Failed& failed) {
        return failed.error;
    }
    return {};
}

// Every song of the worlds, each read into a T by `read` on all cores.
template <typename T>
Expected<std::vector<T>> readSongs(
    const std::vector<std::string>& dirs, const std::function<Expected<T>(const analysis::WorldSong&)>& read)
{
    Expected<std::vector<analysis::WorldSong>> songs = readWorlds(dirs);
    if (!songs) return songs.error();
    std::vector<T> out(songs->size());
    TMK_TRY(readInParallel(songs->size(), [&](size_t i) -> Expected<void> {
        Expected<T> one = read((*songs)[i]);
        if (!one) return one.error();
        out[i] = std::move(*one);
        return {};
    }));
    return out;
}

// Every song of the worlds with its acoustic-share net input and part labels.
Expected<std::vector<AcousticExample>> worldExamples(const std::vector<std::string>& dirs)
{
    return readSongs<AcousticExample>(dirs, [](const analysis::WorldSong& song) -> Expected<AcousticExample> {
        Expected<analysis::AcousticInput> input = analysis::acousticInputOfFile(song.audio);
        if (!input) return input.error();
        return labelledExample(song, std::move(*input));
    });
}

struct ModeSong {
    analysis::ModeFeatures features {};
    int minor = 0; // the truth: knobs.csv's mode is 0
    int scoreMinor = 0; // the weighted key score's own answer
};

Expected<std::vector<ModeSong>> modeSongs(const std::vector<std::string>& dirs)
{
    return readSongs<ModeSong>(dirs, [](const analysis::WorldSong& song) -> Expected<ModeSong> {
        Expected<double> mode = knobOf(song, "mode", "--fit-mode");
        if (!mode) return mode.error();
        Expected<analysis::KeyEstimate> key = analysis::keyOfFile(song.audio);
        if (!key) return key.error();
        return ModeSong { analysis::modeFeatures(*key), *mode < 0.5 ? 1 : 0, key->mode == 0 ? 1 : 0 };
    });
}

// Writes a fitted model's .inc text to the file `outOption` names (atomically), or to standard output.
int writeInc(const Args& args, const char* outOption, const std::string& text)
{
    if (auto out = args.get(outOption)) {
        if (Expected<void> ok = writeFileAtomic(*out, std::string_view(text)); !ok) return reportError(ok.error());
    } else {
        std::cout << text;
    }
    return kExitOk;
}

// The .inc file's comment: the command that fitted it (its worlds, and `options`), on how many songs, and
// where the docs describe it.
std::string fittedBy(
    const Args& args, const char* fitOption, const std::string& options, size_t songs, const char* section)
{
    std::string command = "tastemaker-cli analyse";
    for (const std::string& dir : args.getAll(fitOption)) command += std::string(" --") + fitOption + " " + dir;
    for (const std::string& dir : args.getAll("validate")) command += " --validate " + dir;
    return "Fitted by `" + command + options + "` on " + std::to_string(songs)
        + " songs; see docs/analysis.md (section " + section + ").";
}

// --ridge for the logistic fits (default 0.001), not negative.
Expected<double> logisticRidge(const Args& args)
{
    Expected<double> lambda = args.number("ridge", 1e-3);
    if (!lambda) return lambda.error();
    if (!(*lambda >= 0.0)) return Error { ErrorCode::InvalidArgument, "--ridge must not be negative" };
    return *lambda;
}

std::string ridgeOption(double lambda)
{
    char text[48];
    std::snprintf(text, sizeof text, " --ridge %g", lambda);
    return text;
}

} // namespace

int runFitAcoustic(const Args& args)
{
    AcousticTrainingOptions options;
    Expected<long long> epochs = args.integer("epochs", options.epochs);
    if (!epochs) return reportError(epochs.error());
    Expected<long long> channels = args.integer("channels", options.channels);
    if (!channels) return reportError(channels.error());
    Expected<long long> seed = args.integer("seed", static_cast<long long>(options.seed));
    if (!seed) return reportError(seed.error());
    options.epochs = static_cast<int>(std::clamp<long long>(*epochs, 0, 100000));
    options.channels = static_cast<int>(std::clamp<long long>(*channels, 0, 100000));
    options.seed = static_cast<uint64_t>(*seed);
    if (Expected<void> valid = options.validate(); !valid) return reportError(valid.error());

    Expected<std::vector<AcousticExample>> train = worldExamples(args.getAll("fit-acoustic"));
    if (!train) return reportError(train.error());
    Expected<std::vector<AcousticExample>> validation = worldExamples(args.getAll("validate"));
    if (!validation) return reportError(validation.error());
    Expected<analysis::AcousticNet> net = trainAcousticNet(*train, *validation, options, [](const AcousticEpoch& e) {
        std::fprintf(stderr, "epoch %d/%d: loss %.4f", e.epoch, e.epochs, e.loss);
        if (e.accuracy >= 0.0) std::fprintf(stderr, ", validation accuracy %.4f", e.accuracy);
        std::fprintf(stderr, "\n");
    });
    if (!net) return reportError(net.error());

    const std::string fitted = " --epochs " + std::to_string(options.epochs) + " --channels "
        + std::to_string(options.channels) + " --seed " + std::to_string(options.seed);
    return writeInc(args, "net-out",
        analysis::acousticNetToInc(*net, fittedBy(args, "fit-acoustic", fitted, train->size(), "Acousticness")));
}

int runFitMode(const Args& args)
{
    Expected<double> lambda = logisticRidge(args);
    if (!lambda) return reportError(lambda.error());
    Expected<std::vector<ModeSong>> train = modeSongs(args.getAll("fit-mode"));
    if (!train) return reportError(train.error());
    Expected<std::vector<ModeSong>> validation = modeSongs(args.getAll("validate"));
    if (!validation) return reportError(validation.error());
    std::vector<analysis::ModeFeatures> features;
    std::vector<int> minor;
    for (const ModeSong& song : *train) {
        features.push_back(song.features);
        minor.push_back(song.minor);
    }
    const analysis::ModeModel model = analysis::fitModeModel(features, minor, *lambda);
    auto accuracy = [&](const std::vector<ModeSong>& songs) {
        int model_right = 0, score_right = 0;
        for (const ModeSong& song : songs) {
            model_right += (model.logit(song.features) >= 0.0 ? 1 : 0) == song.minor;
            score_right += song.scoreMinor == song.minor;
        }
        const double n = std::max<size_t>(1, songs.size());
        std::fprintf(stderr, "mode right on %.4f of %zu songs (the key score alone: %.4f)\n", model_right / n,
            songs.size(), score_right / n);
    };
    std::fprintf(stderr, "training songs: ");
    accuracy(*train);
    if (!validation->empty()) {
        std::fprintf(stderr, "validation songs: ");
        accuracy(*validation);
    }
    return writeInc(args, "mode-out",
        analysis::modeModelToInc(model, fittedBy(args, "fit-mode", ridgeOption(*lambda), train->size(), "Mode")));
}

namespace {

struct TempoSong {
    analysis::TempoOctaveFeatures features {};
    double bpm = 0.0, truth = 0.0; // the estimate before the octave check; knobs.csv's bpm
};

Expected<std::vector<TempoSong>> tempoSongs(const std::vector<std::string>& dirs)
{
    return readSongs<TempoSong>(dirs, [](const analysis::WorldSong& song) -> Expected<TempoSong> {
        Expected<double> bpm = knobOf(song, "tempo", "--fit-tempo");
        if (!bpm) return bpm.error();
        Expected<analysis::TempoReading> reading = analysis::tempoReadingOfFile(song.audio);
        if (!reading) return reading.error();
        return TempoSong { reading->features, reading->bpm, *bpm };
    });
}

// Songs whose estimate is right (label 0) or off by `factor` (label 1): the rest (other errors) are left out.
analysis::LogisticModel fitOctave(const std::vector<TempoSong>& songs, double factor, double lambda)
{
    std::vector<std::vector<double>> rows;
    std::vector<int> labels;
    for (const TempoSong& song : songs) {
        const bool right = analysis::tempoWithin2Percent(song.bpm, song.truth);
        const bool off = analysis::tempoWithin2Percent(song.bpm * factor, song.truth);
        if (!right && !off) continue;
        rows.emplace_back(song.features.begin(), song.features.end());
        labels.push_back(off ? 1 : 0);
    }
    return analysis::fitLogistic(rows, labels, lambda);
}

} // namespace

int runFitTempo(const Args& args)
{
    Expected<double> lambda = logisticRidge(args);
    if (!lambda) return reportError(lambda.error());
    Expected<std::vector<TempoSong>> train = tempoSongs(args.getAll("fit-tempo"));
    if (!train) return reportError(train.error());
    Expected<std::vector<TempoSong>> validation = tempoSongs(args.getAll("validate"));
    if (!validation) return reportError(validation.error());
    analysis::TempoOctaveModel model;
    model.halve = fitOctave(*train, 0.5, *lambda);
    model.twice = fitOctave(*train, 2.0, *lambda);
    model.low.assign(analysis::kTempoOctaveFeatures, 1e300);
    model.high.assign(analysis::kTempoOctaveFeatures, -1e300);
    for (const TempoSong& song : *train)
        for (int i = 0; i < analysis::kTempoOctaveFeatures; ++i) {
            model.low[i] = std::min(model.low[i], song.features[i]);
            model.high[i] = std::max(model.high[i], song.features[i]);
        }
    auto report = [&](const char* what, const std::vector<TempoSong>& songs) {
        int before = 0, after = 0;
        for (const TempoSong& song : songs) {
            before += analysis::tempoWithin2Percent(song.bpm, song.truth);
            after += analysis::tempoWithin2Percent(analysis::correctedBpm(model, song.features, song.bpm), song.truth);
        }
        const double n = std::max<size_t>(1, songs.size());
        std::fprintf(stderr, "%s: tempo within 2%% on %.4f of %zu songs (without the octave check: %.4f)\n", what,
            after / n, songs.size(), before / n);
    };
    report("training songs", *train);
    if (!validation->empty()) report("validation songs", *validation);
    return writeInc(args, "tempo-out",
        analysis::tempoOctaveModelToInc(
            model, fittedBy(args, "fit-tempo", ridgeOption(*lambda), train->size(), "Tempo octave")));
}

} // namespace tmk::cli
