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
#include <mutex>
#include <optional>
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

namespace tmk::cli {

namespace {

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
    const double written = song.truth.count("knob:acousticness") ? song.truth.at("knob:acousticness") : -1.0;
    const double share = score.parts > 0 ? static_cast<double>(score.acousticParts) / score.parts : 0.0;
    if (std::abs(written - share) > 1e-9)
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

// Runs `read(i)` for every song on all cores; the first error stops the rest and is returned.
Expected<void> readInParallel(size_t count, const std::function<Expected<void>(size_t)>& read)
{
    std::atomic<size_t> next { 0 }, done { 0 };
    std::mutex mutex;
    std::optional<Error> failure;
    auto work = [&] {
        for (size_t i = next++; i < count; i = next++) {
            Expected<void> ok = read(i);
            std::lock_guard<std::mutex> lock(mutex);
            if (!ok) {
                if (!failure) failure = ok.error();
                next = count;
                return;
            }
            if (++done % 500 == 0 || done == count) std::fprintf(stderr, "read %zu/%zu songs\n", done.load(), count);
        }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t) threads.emplace_back(work);
    for (std::thread& thread : threads) thread.join();
    if (failure) return *failure;
    return {};
}

// Every song of the worlds with its acoustic-share net input and part labels.
Expected<std::vector<AcousticExample>> worldExamples(const std::vector<std::string>& dirs)
{
    Expected<std::vector<analysis::WorldSong>> songs = readWorlds(dirs);
    if (!songs) return songs.error();
    std::vector<AcousticExample> examples(songs->size());
    TMK_TRY(readInParallel(songs->size(), [&](size_t i) -> Expected<void> {
        Expected<analysis::AcousticInput> input = analysis::acousticInputOfFile((*songs)[i].audio);
        if (!input) return input.error();
        Expected<AcousticExample> example = labelledExample((*songs)[i], std::move(*input));
        if (!example) return example.error();
        examples[i] = std::move(*example);
        return {};
    }));
    return examples;
}

// The generator's value `name` of a song (knobs.csv), or an error naming what `option` needs.
Expected<double> knobOf(const analysis::WorldSong& song, const std::string& name, const char* option)
{
    auto it = song.truth.find("knob:" + name);
    if (it == song.truth.end())
        return Error::inFile(ErrorCode::Format, song.audio.string(),
            "has no " + name + " in knobs.csv; " + option + " needs a world rendered by `tastemaker-cli world render`");
    return it->second;
}

struct ModeSongs {
    std::vector<analysis::ModeFeatures> features;
    std::vector<int> minor; // the truth: knobs.csv's mode is 0
    std::vector<int> scoreMinor; // the weighted key score's own answer
};

Expected<ModeSongs> modeSongs(const std::vector<std::string>& dirs)
{
    Expected<std::vector<analysis::WorldSong>> songs = readWorlds(dirs);
    if (!songs) return songs.error();
    ModeSongs out;
    out.features.resize(songs->size());
    out.minor.resize(songs->size());
    out.scoreMinor.resize(songs->size());
    TMK_TRY(readInParallel(songs->size(), [&](size_t i) -> Expected<void> {
        Expected<double> mode = knobOf((*songs)[i], "mode", "--fit-mode");
        if (!mode) return mode.error();
        Expected<analysis::KeyEstimate> key = analysis::keyOfFile((*songs)[i].audio);
        if (!key) return key.error();
        out.features[i] = analysis::modeFeatures(*key);
        out.minor[i] = *mode < 0.5 ? 1 : 0;
        out.scoreMinor[i] = key->mode == 0 ? 1 : 0;
        return {};
    }));
    return out;
}

std::string fitCommand(const Args& args, const char* fitOption, std::string extra)
{
    std::string command = "tastemaker-cli analyse";
    for (const std::string& dir : args.getAll(fitOption)) command += std::string(" --") + fitOption + " " + dir;
    for (const std::string& dir : args.getAll("validate")) command += " --validate " + dir;
    return command + extra;
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

    const std::string command = fitCommand(args, "fit-acoustic",
        " --epochs " + std::to_string(options.epochs) + " --channels " + std::to_string(options.channels) + " --seed "
            + std::to_string(options.seed));
    const std::string text = analysis::acousticNetToInc(*net,
        "Fitted by `" + command + "` on " + std::to_string(train->size())
            + " songs; see docs/analysis.md (section Acousticness).");
    if (auto out = args.get("net-out")) {
        if (Expected<void> ok = writeFileAtomic(*out, std::string_view(text)); !ok) return reportError(ok.error());
    } else {
        std::cout << text;
    }
    return kExitOk;
}

int runFitMode(const Args& args)
{
    Expected<double> lambda = args.number("ridge", 1e-3);
    if (!lambda) return reportError(lambda.error());
    if (!(*lambda >= 0.0)) return reportError(Error { ErrorCode::InvalidArgument, "--ridge must not be negative" });
    Expected<ModeSongs> train = modeSongs(args.getAll("fit-mode"));
    if (!train) return reportError(train.error());
    Expected<ModeSongs> validation = modeSongs(args.getAll("validate"));
    if (!validation) return reportError(validation.error());
    const analysis::ModeModel model = analysis::fitModeModel(train->features, train->minor, *lambda);
    auto accuracy = [&](const ModeSongs& songs) {
        int model_right = 0, score_right = 0;
        for (size_t i = 0; i < songs.minor.size(); ++i) {
            model_right += (model.logit(songs.features[i]) >= 0.0 ? 1 : 0) == songs.minor[i];
            score_right += songs.scoreMinor[i] == songs.minor[i];
        }
        const double n = std::max<size_t>(1, songs.minor.size());
        std::fprintf(stderr, "mode right on %.4f of %zu songs (the key score alone: %.4f)\n", model_right / n,
            songs.minor.size(), score_right / n);
    };
    std::fprintf(stderr, "training songs: ");
    accuracy(*train);
    if (!validation->minor.empty()) {
        std::fprintf(stderr, "validation songs: ");
        accuracy(*validation);
    }
    char ridge[32];
    std::snprintf(ridge, sizeof ridge, "%g", *lambda);
    const std::string text = analysis::modeModelToInc(model,
        "Fitted by `" + fitCommand(args, "fit-mode", std::string(" --ridge ") + ridge) + "` on "
            + std::to_string(train->minor.size()) + " songs; see docs/analysis.md (section Mode).");
    if (auto out = args.get("mode-out")) {
        if (Expected<void> ok = writeFileAtomic(*out, std::string_view(text)); !ok) return reportError(ok.error());
    } else {
        std::cout << text;
    }
    return kExitOk;
}

namespace {

bool within2Percent(double estimate, double truth)
{
    return truth > 0.0 && std::abs(estimate / truth - 1.0) <= 0.02;
}

struct TempoSongs {
    std::vector<analysis::TempoOctaveFeatures> features;
    std::vector<double> bpm, truth;
};

Expected<TempoSongs> tempoSongs(const std::vector<std::string>& dirs)
{
    Expected<std::vector<analysis::WorldSong>> songs = readWorlds(dirs);
    if (!songs) return songs.error();
    TempoSongs out;
    out.features.resize(songs->size());
    out.bpm.resize(songs->size());
    out.truth.resize(songs->size());
    TMK_TRY(readInParallel(songs->size(), [&](size_t i) -> Expected<void> {
        Expected<double> bpm = knobOf((*songs)[i], "tempo", "--fit-tempo");
        if (!bpm) return bpm.error();
        Expected<analysis::TempoReading> reading = analysis::tempoReadingOfFile((*songs)[i].audio);
        if (!reading) return reading.error();
        out.features[i] = reading->features;
        out.bpm[i] = reading->bpm;
        out.truth[i] = *bpm;
        return {};
    }));
    return out;
}

// Songs whose estimate is right (label 0) or off by `factor` (label 1): the rest (other errors) are left out.
analysis::LogisticModel fitOctave(const TempoSongs& songs, double factor, double lambda)
{
    std::vector<std::vector<double>> rows;
    std::vector<int> labels;
    for (size_t i = 0; i < songs.bpm.size(); ++i) {
        const bool right = within2Percent(songs.bpm[i], songs.truth[i]);
        const bool off = within2Percent(songs.bpm[i] * factor, songs.truth[i]);
        if (!right && !off) continue;
        rows.emplace_back(songs.features[i].begin(), songs.features[i].end());
        labels.push_back(off ? 1 : 0);
    }
    return analysis::fitLogistic(rows, labels, lambda);
}

} // namespace

int runFitTempo(const Args& args)
{
    Expected<double> lambda = args.number("ridge", 1e-3);
    if (!lambda) return reportError(lambda.error());
    if (!(*lambda >= 0.0)) return reportError(Error { ErrorCode::InvalidArgument, "--ridge must not be negative" });
    Expected<TempoSongs> train = tempoSongs(args.getAll("fit-tempo"));
    if (!train) return reportError(train.error());
    Expected<TempoSongs> validation = tempoSongs(args.getAll("validate"));
    if (!validation) return reportError(validation.error());
    analysis::TempoOctaveModel model;
    model.halve = fitOctave(*train, 0.5, *lambda);
    model.twice = fitOctave(*train, 2.0, *lambda);
    model.low.assign(analysis::kTempoOctaveFeatures, 1e300);
    model.high.assign(analysis::kTempoOctaveFeatures, -1e300);
    for (const analysis::TempoOctaveFeatures& song : train->features)
        for (int i = 0; i < analysis::kTempoOctaveFeatures; ++i) {
            model.low[i] = std::min(model.low[i], song[i]);
            model.high[i] = std::max(model.high[i], song[i]);
        }
    auto report = [&](const char* what, const TempoSongs& songs) {
        int before = 0, after = 0;
        for (size_t i = 0; i < songs.bpm.size(); ++i) {
            before += within2Percent(songs.bpm[i], songs.truth[i]);
            after += within2Percent(analysis::correctedBpm(model, songs.features[i], songs.bpm[i]), songs.truth[i]);
        }
        const double n = std::max<size_t>(1, songs.bpm.size());
        std::fprintf(stderr, "%s: tempo within 2%% on %.4f of %zu songs (without the octave check: %.4f)\n", what,
            after / n, songs.bpm.size(), before / n);
    };
    report("training songs", *train);
    if (!validation->bpm.empty()) report("validation songs", *validation);
    char ridge[32];
    std::snprintf(ridge, sizeof ridge, "%g", *lambda);
    const std::string text = analysis::tempoOctaveModelToInc(model,
        "Fitted by `" + fitCommand(args, "fit-tempo", std::string(" --ridge ") + ridge) + "` on "
            + std::to_string(train->bpm.size()) + " songs; see docs/analysis.md (section Tempo octave).");
    if (auto out = args.get("tempo-out")) {
        if (Expected<void> ok = writeFileAtomic(*out, std::string_view(text)); !ok) return reportError(ok.error());
    } else {
        std::cout << text;
    }
    return kExitOk;
}

} // namespace tmk::cli
