// `analyse --fit-acoustic WORLD_DIR... [--validate WORLD_DIR...] [--net-out FILE]`: trains the Analyser's
// acoustic-share net (engine/analysis/acoustic_net.h) on rendered worlds. Each song's part labels (which of
// chords, bass, lead, pad and drums are acoustic) come from recomposing it from its seed in knobs.csv, which
// is checked against the acoustic_parts and parts that the render wrote.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "analysis/acoustic_net.h"
#include "analysis/calibration.h"
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

// Every song of the worlds, read on all cores.
Expected<std::vector<AcousticExample>> worldExamples(const std::vector<std::string>& dirs)
{
    std::vector<analysis::WorldSong> songs;
    for (const std::string& dir : dirs) {
        Expected<std::vector<analysis::WorldSong>> world = analysis::readWorldTracks(dir);
        if (!world) return world.error();
        if (world->empty()) return Error::inFile(ErrorCode::Format, dir + "/tracks.csv", "no songs");
        songs.insert(songs.end(), world->begin(), world->end());
    }
    std::vector<AcousticExample> examples(songs.size());
    std::atomic<size_t> next { 0 }, done { 0 };
    std::mutex mutex;
    std::optional<Error> failure;
    auto work = [&] {
        for (size_t i = next++; i < songs.size(); i = next++) {
            Expected<AcousticExample> example = [&]() -> Expected<AcousticExample> {
                Expected<analysis::AcousticInput> input = analysis::acousticInputOfFile(songs[i].audio);
                if (!input) return input.error();
                return labelledExample(songs[i], std::move(*input));
            }();
            std::lock_guard<std::mutex> lock(mutex);
            if (!example) {
                if (!failure) failure = example.error();
                next = songs.size();
                return;
            }
            examples[i] = std::move(*example);
            if (++done % 500 == 0 || done == songs.size())
                std::fprintf(stderr, "read %zu/%zu songs\n", done.load(), songs.size());
        }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t) threads.emplace_back(work);
    for (std::thread& thread : threads) thread.join();
    if (failure) return *failure;
    return examples;
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

    std::string command = "tastemaker-cli analyse";
    for (const std::string& dir : args.getAll("fit-acoustic")) command += " --fit-acoustic " + dir;
    for (const std::string& dir : args.getAll("validate")) command += " --validate " + dir;
    command += " --epochs " + std::to_string(options.epochs) + " --channels " + std::to_string(options.channels)
        + " --seed " + std::to_string(options.seed);
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

} // namespace tmk::cli
