// `regenerate`: re-runs a clip saved with a sidecar (generate --library) and compares it with the saved audio.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/clip_library.h"

namespace tmk::cli {

namespace {

CancelToken g_regenerateCancel;

// Prints whether `audio` equals the saved clip sample for sample.
void compareWithSaved(const ClipEntry& entry, const std::vector<float>& audio)
{
    Expected<AudioBuffer> saved = readAudioFile(entry.audioPath);
    if (!saved) {
        std::cerr << "note: the saved clip could not be read for comparison: " << saved.error().message << "\n";
        return;
    }
    if (saved->channels != 1 || saved->samples.size() != audio.size()) {
        std::cerr << "regenerated audio differs from " << entry.audioPath.string() << ": " << audio.size()
                  << " samples, saved " << saved->samples.size() << "\n";
        return;
    }
    double maxDifference = 0.0;
    size_t differing = 0;
    for (size_t i = 0; i < audio.size(); ++i) {
        const double difference = std::fabs(static_cast<double>(audio[i]) - static_cast<double>(saved->samples[i]));
        if (audio[i] != saved->samples[i]) ++differing;
        maxDifference = std::max(maxDifference, difference);
    }
    if (differing == 0)
        std::cerr << "regenerated audio is bit-identical to " << entry.audioPath.string() << "\n";
    else
        std::fprintf(stderr, "regenerated audio differs from %s in %zu of %zu samples (max difference %.3g)\n",
            entry.audioPath.c_str(), differing, audio.size(), maxDifference);
}

int runRegenerate(const Args& args)
{
    const std::string sampleFormat = args.getOr("sample-format", "s16");
    if (Expected<SampleFormat> f = parseSampleFormat(sampleFormat); !f) return reportError(f.error());
    if (auto out = args.get("out"))
        if (Expected<AudioContainer> c = containerForPath(*out); !c) return reportError(c.error());
    Expected<ClipEntry> entry = readSidecar(args.positional().at(0));
    if (!entry) return reportError(entry.error());

    std::signal(SIGINT, [](int) { g_regenerateCancel.requestCancel(); });
    GenerationCallbacks callbacks;
    callbacks.onProgress = stderrProgress();
    callbacks.cancel = &g_regenerateCancel;
    Expected<RegeneratedClip> clip = regenerateClip(entry->record, callbacks);
    if (!clip) {
        if (clip.error().code == ErrorCode::Cancelled) {
            std::cerr << "tastemaker-cli: cancelled\n";
            return kExitCancelled;
        }
        return reportError(clip.error());
    }
    for (const std::string& warning : clip->warnings) std::cerr << "warning: " << warning << "\n";
    compareWithSaved(*entry, clip->audio);
    if (auto out = args.get("out"))
        if (Expected<void> w
            = writeSignals(*out, { clip->audio }, clip->sampleRate, sampleFormat, clipComment(entry->record));
            !w)
            return reportError(w.error());
    return kExitOk;
}

} // namespace

Command regenerateCommand()
{
    Command command;
    command.name = "regenerate";
    command.summary
        = "Re-run a clip saved with generate --library from its sidecar (bit-identical on the same build and device).";
    command.positional = { "SIDECAR.json" };
    command.minPositional = 1;
    command.options = {
        { "out", OptionKind::Value, "FILE", "write the regenerated audio (.wav, .flac or .ogg)" },
        { "sample-format", OptionKind::Value, "s16|s24|f32", "WAV sample format (default s16; the library keeps f32)" },
    };
    command.run = runRegenerate;
    return command;
}

} // namespace tmk::cli
