// `encode` and `decode`: EnCodec between audio files and code arrays.
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/audio_file.h"

namespace tmk::cli {

namespace {

int runEncode(const Args& args)
{
    auto model = loadModel(args);
    if (!model) return reportError(model.error());
    Expected<std::vector<float>> audio = readAudioMono(*args.get("in"), (*model)->info().sampleRate);
    if (!audio) return reportError(audio.error());
    Expected<AudioCodes> codes = encodeAudio(**model, *audio);
    if (!codes) return reportError(codes.error());
    if (Expected<void> w = writeCodesNpy(*args.get("codes-out"), *codes); !w) return reportError(w.error());
    std::cerr << "encoded " << audio->size() << " samples into " << codes->frames << " frames of " << codes->codebooks
              << " codebooks\n";
    return kExitOk;
}

int runDecode(const Args& args)
{
    if (Expected<SampleFormat> f = parseSampleFormat(args.getOr("sample-format", "s16")); !f)
        return reportError(f.error());
    if (Expected<AudioContainer> c = containerForPath(*args.get("out")); !c) return reportError(c.error());
    Expected<AudioCodes> codes = readCodesNpy(*args.get("codes"));
    if (!codes) return reportError(codes.error());
    auto model = loadModel(args);
    if (!model) return reportError(model.error());
    auto signals = decodeCodes(**model, *codes);
    if (!signals)
        return reportError(Error { signals.error().code, *args.get("codes") + ": " + signals.error().message });
    if (Expected<void> w = writeSignals(*args.get("out"), *signals, (*model)->info().sampleRate,
            args.getOr("sample-format", "s16"), "Tastemaker decode");
        !w)
        return reportError(w.error());
    return kExitOk;
}

} // namespace

Command encodeCommand()
{
    Command command;
    command.name = "encode";
    command.summary = "Encode an audio file (any format libsndfile reads) into EnCodec codes [1, K, T].";
    command.options = modelOptions();
    command.options.push_back({ "in", OptionKind::Value, "AUDIO_FILE",
        "audio to encode (down-mixed and resampled to the model's rate)", true });
    command.options.push_back(
        { "codes-out", OptionKind::Value, "FILE.npy", "where to write int64 codes [1, K, T]", true });
    command.run = runEncode;
    return command;
}

Command decodeCommand()
{
    Command command;
    command.name = "decode";
    command.summary = "Decode EnCodec codes [B, K, T] (.npy, int64) into audio.";
    command.options = modelOptions();
    command.options.push_back({ "codes", OptionKind::Value, "FILE.npy", "int64 codes [B, K, T]", true });
    command.options.push_back(
        { "out", OptionKind::Value, "FILE.wav", "audio to write (x-0.wav, x-1.wav, ... for B > 1)", true });
    command.options.push_back({ "sample-format", OptionKind::Value, "s16|s24|f32", "WAV sample format (default s16)" });
    command.run = runDecode;
    return command;
}

} // namespace tmk::cli
