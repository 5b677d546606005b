// `generate`: text prompts -> codes and audio.
#include <cmath>
#include <csignal>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/generation_job.h"
#include "tastemaker/player.h"
#include "tastemaker/steering.h"

namespace tmk::cli {

namespace {

CancelToken g_generateCancel;

Expected<GenerationRequest> requestFromArgs(const Args& args, const ModelInfo& info)
{
    GenerationRequest request = GenerationRequest::defaultsFor(info);
    request.prompts = args.getAll("prompt");
    if (args.has("duration") == args.has("frames"))
        return Error { ErrorCode::InvalidArgument, "generate: give exactly one of --duration SECONDS or --frames N" };
    if (args.has("duration")) {
        Expected<double> seconds = args.number("duration", 0);
        if (!seconds) return seconds.error();
        if (!(*seconds > 0)) return Error { ErrorCode::InvalidArgument, "generate: --duration must be positive" };
        request.frames = static_cast<int64_t>(std::llround(*seconds * static_cast<double>(info.frameRate)));
    } else {
        Expected<long long> frames = args.integer("frames", 0);
        if (!frames) return frames.error();
        request.frames = *frames;
    }
    const bool samplingGiven = args.has("top-k") || args.has("top-p") || args.has("temperature");
    if (args.has("greedy") && samplingGiven)
        return Error { ErrorCode::InvalidArgument,
            "generate: --greedy cannot be combined with --top-k, --top-p or --temperature" };
    if (args.has("greedy"))
        request.sampling.greedy = true;
    else if (samplingGiven)
        request.sampling.greedy = false;
    Expected<long long> topK = args.integer("top-k", request.sampling.topK);
    Expected<double> topP = args.number("top-p", request.sampling.topP);
    Expected<double> temperature = args.number("temperature", request.sampling.temperature);
    Expected<double> cfg = args.number("cfg", request.sampling.guidanceScale);
    Expected<long long> seed = args.integer("seed", 0);
    for (const Error* e :
        { topK ? nullptr : &topK.error(), topP ? nullptr : &topP.error(), temperature ? nullptr : &temperature.error(),
            cfg ? nullptr : &cfg.error(), seed ? nullptr : &seed.error() })
        if (e) return *e;
    request.sampling.topK = *topK;
    request.sampling.topP = *topP;
    request.sampling.temperature = *temperature;
    request.sampling.guidanceScale = *cfg;
    request.sampling.seed = static_cast<uint64_t>(*seed);
    request.decodeAudio = args.has("out") || args.has("library");
    TMK_TRY(request.validate(info));
    return request;
}

// --slider id=value, checked against the metrics (they need --adapters).
Expected<SliderValues> slidersFromArgs(const Args& args, const std::vector<MetricInfo>& metrics)
{
    SliderValues values;
    for (const std::string& text : args.getAll("slider")) {
        auto assignment = parseSliderAssignment(text);
        if (!assignment) return Error { ErrorCode::InvalidArgument, "generate: " + assignment.error().message };
        values[assignment->first] = assignment->second;
    }
    if (Expected<void> valid = validateSliders(values, metrics); !valid)
        return Error { ErrorCode::InvalidArgument, "generate: " + valid.error().message };
    return values;
}

// --adapters BANK_DIR: the bank the job merges the sliders into (none without --adapters).
Expected<std::unique_ptr<Steering>> openSteering(
    const Args& args, const std::shared_ptr<const MusicgenModel>& model, SliderValues& sliders)
{
    if (!args.has("adapters")) {
        if (!args.getAll("slider").empty())
            return Error { ErrorCode::InvalidArgument, "generate: --slider needs --adapters BANK_DIR" };
        return std::unique_ptr<Steering>();
    }
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (!metrics) return metrics.error();
    Expected<SliderValues> values = slidersFromArgs(args, *metrics);
    if (!values) return values.error();
    sliders = std::move(*values);
    return Steering::load(model, *args.get("adapters"), *metrics);
}

std::string describe(const GenerationRequest& request, const SliderValues& sliders)
{
    ClipRecord record;
    for (size_t i = 0; i < request.prompts.size(); ++i) record.prompt += (i ? " | " : "") + request.prompts[i];
    record.sampling.seed = request.sampling.seed;
    record.sliders = sliders;
    return clipComment(record);
}

// --play: the default output device plays the first prompt's audio while it is generated. A missing
// device is reported and generation carries on (the clip is still written).
std::shared_ptr<Player> openSink(const Args& args)
{
    if (!args.has("play")) return {};
    Expected<Player> opened = Player::open();
    if (!opened) {
        std::fprintf(stderr, "tastemaker-cli: cannot play: %s (generating anyway)\n", opened.error().message.c_str());
        return {};
    }
    return std::make_shared<Player>(std::move(*opened));
}

void reportJob(const GenerationJobResult& job, size_t sliderCount, bool played)
{
    const GenerationJobStats& stats = job.stats;
    if (stats.merge)
        std::fprintf(stderr, "merged %zu slider(s) into %d weight(s) in %.0f ms\n", sliderCount,
            stats.merge->modulesWritten, stats.merge->milliseconds);
    if (stats.streamError)
        std::fprintf(stderr, "tastemaker-cli: streaming failed: %s\n", stats.streamError->message.c_str());
    if (stats.playbackError) {
        const char* what = stats.streamedToSink ? "playback stopped" : "cannot play";
        std::fprintf(stderr, "tastemaker-cli: %s: %s\n", what, stats.playbackError->message.c_str());
    }
    if (played && stats.streamedToSink && stats.firstAudioSeconds >= 0)
        std::fprintf(stderr, "time to first audio %.2f s, underruns %lld\n", stats.firstAudioSeconds,
            static_cast<long long>(stats.underruns));
    for (const ClipEntry& entry : job.clips)
        std::cerr << "saved " << entry.audioPath.string() << " and " << entry.sidecarPath.string() << "\n";
    std::fprintf(stderr,
        "generated %.2f s of audio in %.2f s (text %.2f s, decoder %.2f s, codec %.2f s; real-time factor %.2f)\n",
        stats.audioSeconds, stats.computeSeconds, stats.textSeconds, stats.decodeSeconds, stats.codecSeconds,
        stats.realtimeFactor);
}

int runGenerate(const Args& args)
{
    if (!args.has("out") && !args.has("codes-out") && !args.has("library") && !args.has("play"))
        return reportError(Error { ErrorCode::InvalidArgument,
            "generate: nothing to do; give --out FILE.wav, --codes-out FILE.npy, --library DIR and/or --play" });
    if (Expected<SampleFormat> f = parseSampleFormat(args.getOr("sample-format", "s16")); !f)
        return reportError(f.error());
    auto model = loadModel(args);
    if (!model) return reportError(model.error());
    GenerationJobParams params;
    Expected<GenerationRequest> request = requestFromArgs(args, (*model)->info());
    if (!request) return reportError(request.error());
    params.request = std::move(*request);
    auto steering = openSteering(args, *model, params.sliders);
    if (!steering) return reportError(steering.error());
    params.sink = openSink(args);
    params.wait = PlaybackWait::UntilPlayed;
    params.libraryDir = args.getOr("library", "");

    std::signal(SIGINT, [](int) { g_generateCancel.requestCancel(); });
    GenerationJobCallbacks callbacks;
    callbacks.onProgress
        = [progress = stderrProgress()](const GenerationJobProgress& report) { progress(report.progress); };
    callbacks.cancel = &g_generateCancel;
    Expected<GenerationJobResult> job = runGenerationJob(*model, steering->get(), params, callbacks);
    if (!job) {
        if (job.error().code == ErrorCode::Cancelled) {
            std::cerr << "tastemaker-cli: cancelled\n";
            return kExitCancelled;
        }
        return reportError(job.error());
    }
    const GenerationResult& result = job->generation;
    if (auto codesOut = args.get("codes-out"))
        if (Expected<void> w = writeCodesNpy(*codesOut, result.codes); !w) return reportError(w.error());
    if (auto out = args.get("out"))
        if (Expected<void> w = writeSignals(*out, result.audio, result.sampleRate, args.getOr("sample-format", "s16"),
                describe(params.request, job->sliders));
            !w)
            return reportError(w.error());
    reportJob(*job, params.sliders.size(), params.sink != nullptr);
    return kExitOk;
}

} // namespace

Command generateCommand()
{
    Command command;
    command.name = "generate";
    command.summary = "Generate music from text prompts with a MusicGen checkpoint.";
    command.options = modelOptions();
    command.options.insert(command.options.end(),
        {
            { "prompt", OptionKind::RepeatedValue, "TEXT", "a text prompt; several make a batch", true },
            { "duration", OptionKind::Value, "SECONDS", "length of audio to generate" },
            { "frames", OptionKind::Value, "N", "length in audio frames (50 per second) after the delay is undone" },
            { "greedy", OptionKind::Flag, "", "take the most likely code at every step" },
            { "top-k", OptionKind::Value, "K",
                "sample from the K most likely codes (0: off; default from the checkpoint, else 250)" },
            { "top-p", OptionKind::Value, "P", "nucleus sampling threshold (0: off)" },
            { "temperature", OptionKind::Value, "T", "sampling temperature (default 1)" },
            { "cfg", OptionKind::Value, "G",
                "classifier-free guidance scale (default from the checkpoint, usually 3)" },
            { "seed", OptionKind::Value, "S",
                "random seed (default 0); same seed, build and device give the same codes" },
            { "adapters", OptionKind::Value, "BANK_DIR", "an adapter bank (bank.json) to steer with" },
            { "slider", OptionKind::RepeatedValue, "ID=VALUE",
                "a slider value in [-2, 2], e.g. energy=0.7 (needs --adapters)" },
            { "play", OptionKind::Flag, "", "play the first prompt's audio while it is generated" },
            { "codes-out", OptionKind::Value, "FILE.npy", "write the codes as int64 [B, K, T]" },
            { "out", OptionKind::Value, "FILE.wav",
                "write audio (x.wav, or x-0.wav, x-1.wav, ... for several prompts)" },
            { "sample-format", OptionKind::Value, "s16|s24|f32", "WAV sample format (default s16)" },
            { "library", OptionKind::Value, "DIR",
                "also save each clip (WAV float32) with a JSON sidecar into this clip library" },
        });
    command.run = runGenerate;
    return command;
}

} // namespace tmk::cli
