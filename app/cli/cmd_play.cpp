// `play`: plays an audio file (any format libsndfile reads, down-mixed to mono) on an output device
// and exits when it has been heard; prints the underrun count.
#include <chrono>
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/player.h"

namespace tmk::cli {

namespace {

int listDevices()
{
    Expected<std::vector<OutputDevice>> devices = listOutputDevices();
    if (!devices) return reportError(devices.error());
    for (const OutputDevice& device : *devices)
        std::cout << (device.isDefault ? "* " : "  ") << device.name << " [" << device.hostApi << ", "
                  << device.defaultSampleRate << " Hz]\n";
    if (devices->empty()) std::cout << "no audio output devices\n";
    return kExitOk;
}

int runPlay(const Args& args)
{
    if (args.has("list-devices")) return listDevices();
    if (args.positional().empty())
        return reportError(Error { ErrorCode::InvalidArgument, "play: give an audio FILE (or --list-devices)" });
    const std::string path = args.positional().front();
    Expected<double> start = args.number("start", 0.0);
    if (!start) return reportError(start.error());

    Expected<AudioBuffer> audio = readAudioFile(path);
    if (!audio) return reportError(audio.error());
    const std::vector<float> mono = downmixToMono(*audio);

    PlayerOptions options;
    options.deviceName = args.getOr("device", "");
    Expected<Player> player = Player::open(options);
    if (!player) return reportError(player.error());
    if (Expected<void> loaded = player->load(mono, audio->sampleRate); !loaded) return reportError(loaded.error());

    const double seconds = static_cast<double>(mono.size()) / audio->sampleRate;
    std::cerr << "playing " << path << " (" << std::fixed << std::setprecision(2) << seconds << " s, "
              << audio->sampleRate << " Hz, " << audio->channels << " ch) on '" << player->deviceName() << "' at "
              << player->deviceSampleRate() << " Hz\n";
    if (*start > 0.0) player->seek(*start);
    player->play();

    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>((seconds + 10.0) * 1000.0));
    const PlaybackState state = player->waitWhilePlaying(timeout);
    std::cout << "underruns " << player->underruns() << "\n";
    if (state == PlaybackState::Failed && player->deviceError()) return reportError(*player->deviceError());
    if (state != PlaybackState::Finished)
        return reportError(Error {
            ErrorCode::Device, "playback did not finish (state " + std::string(playbackStateName(state)) + ")" });
    return kExitOk;
}

} // namespace

Command playCommand()
{
    Command command;
    command.name = "play";
    command.summary = "Play an audio file (any format libsndfile reads) and exit; prints the underrun count.";
    command.positional = { "FILE" };
    command.minPositional = 0;
    command.options.push_back({ "device", OptionKind::Value, "NAME",
        "output device whose name contains NAME (default: the system default)" });
    command.options.push_back({ "start", OptionKind::Value, "SECONDS", "start this far into the file" });
    command.options.push_back({ "list-devices", OptionKind::Flag, "", "list the output devices and exit" });
    command.run = runPlay;
    return command;
}

} // namespace tmk::cli
