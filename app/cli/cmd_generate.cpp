// `generate`: text prompts -> codes and audio.
#include <chrono>
#include <cmath>
#include <optional>
#include <csignal>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/player.h"
#include "tastemaker/steering.h"
#include "tastemaker/streaming.h"

namespace tmk::cli {

namespace {

CancelToken g_cancel;

Expected<GenerationRequest> requestFromArgs(const Args& args, const ModelInfo& info)
{
    GenerationRequest request = GenerationRequest::defaultsFor(info);
    request.prompts = args.getAll("prompt");
    if (args.has("duration") == args.has("frames"))
        return Error{ErrorCode::InvalidArgument, "generate: give exactly one of --duration SECONDS or --frames N"};
    if (args.has("duration")) {
        Expected<double> seconds = args.number("duration", 0);
        if (!seconds) return seconds.error();
        if (!(*seconds > 0)) return Error{ErrorCode::InvalidArgument, "generate: --duration must be positive"};
        request.frames = static_cast<int64_t>(std::llround(*seconds * static_cast<double>(info.frameRate)));
    } else {
        Expected<long long> frames = args.integer("frames", 0);
        if (!frames) return frames.error();
        request.frames = *frames;
    }
    const bool samplingGiven = args.has("top-k") || args.has("top-p") || args.has("temperature");
    if (args.has("greedy") && samplingGiven)
        return Error{ErrorCode::InvalidArgument, "generate: --greedy cannot be combined with --top-k, --top-p or --temperature"};
    if (args.has("greedy")) request.sampling.greedy = true;
    else if (samplingGiven) request.sampling.greedy = false;
    Expected<long long> topK = args.integer("top-k", request.sampling.topK);
    Expected<double> topP = args.number("top-p", request.sampling.topP);
    Expected<double> temperature = args.number("temperature", request.sampling.temperature);
    Expected<double> cfg = args.number("cfg", request.sampling.guidanceScale);
    Expected<long long> seed = args.integer("seed", 0);
    for (const Error* e : {topK ? nullptr : &topK.error(), topP ? nullptr : &topP.error(), temperature ? nullptr : &temperature.error(),
                           cfg ? nullptr : &cfg.error(), seed ? nullptr : &seed.error()})
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

// --adapters BANK_DIR and --slider id=value: merge the bank into the model before generating.
Expected<std::unique_ptr<Steering>> applySliders(const Args& args, const std::shared_ptr<const MusicgenModel>& model)
{
    const std::vector<std::string>& assignments = args.getAll("slider");
    if (!args.has("adapters")) {
        if (!assignments.empty()) return Error{ErrorCode::InvalidArgument, "generate: --slider needs --adapters BANK_DIR"};
        return std::unique_ptr<Steering>();
    }
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (!metrics) return metrics.error();
    SliderValues values;
    for (const std::string& text : assignments) {
        auto assignment = parseSliderAssignment(text);
        if (!assignment) return Error{ErrorCode::InvalidArgument, "generate: " + assignment.error().message};
        values[assignment->first] = assignment->second;
    }
    if (Expected<void> valid = validateSliders(values, *metrics); !valid)
        return Error{ErrorCode::InvalidArgument, "generate: " + valid.error().message};
    auto steering = Steering::load(model, *args.get("adapters"), *metrics);
    if (!steering) return steering.error();
    auto merged = (*steering)->apply(values);
    if (!merged) return merged.error();
    std::fprintf(stderr, "merged %zu slider(s) into %d weight(s) in %.0f ms\n", values.size(), merged->modulesWritten, merged->milliseconds);
    return steering;
}

std::string describe(const GenerationRequest& request, const SliderValues& sliders)
{
    ClipRecord record;
    for (size_t i = 0; i < request.prompts.size(); ++i) record.prompt += (i ? " | " : "") + request.prompts[i];
    record.sampling.seed = request.sampling.seed;
    record.sliders = sliders;
    return clipComment(record);
}

// --library DIR: one clip and sidecar per prompt.
Expected<void> saveToLibrary(const Args& args, const MusicgenModel& model, const GenerationRequest& request,
                             const GenerationResult& result, const SliderValues& sliders)
{
    Expected<ClipLibrary> library = ClipLibrary::open(*args.get("library"));
    if (!library) return library.error();
    auto entries = saveGeneration(*library, model.info(), request, result, sliders, args.getOr("adapters", ""));
    if (!entries) return entries.error();
    for (const ClipEntry& entry : *entries)
        std::cerr << "saved " << entry.audioPath.string() << " and " << entry.sidecarPath.string() << "\n";
    return {};
}

// --play: stream batch item 0 to the default output while generating. A missing or failing audio
// device is reported and generation carries on (the clip is still written).
struct LivePlayback {
    std::optional<Player> player;
    std::unique_ptr<StreamingDecoder> stream;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    double firstAudioSeconds = -1;

    void setUp(const std::shared_ptr<const MusicgenModel>& model, double expectedSeconds)
    {
        Expected<Player> opened = Player::open();
        if (!opened) {
            std::fprintf(stderr, "tastemaker-cli: cannot play: %s (generating anyway)\n", opened.error().message.c_str());
            return;
        }
        player.emplace(std::move(*opened));
        if (Expected<void> begun = player->beginStream(model->info().sampleRate, expectedSeconds); !begun) {
            std::fprintf(stderr, "tastemaker-cli: cannot play: %s (generating anyway)\n", begun.error().message.c_str());
            player.reset();
            return;
        }
        auto created = StreamingDecoder::create(model, 0, StreamingOptions{}, [this](std::span<const float> samples) {
            if (firstAudioSeconds < 0) firstAudioSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            player->appendStream(samples);
        });
        if (created) stream = std::move(*created);
        else std::fprintf(stderr, "tastemaker-cli: cannot stream: %s\n", created.error().message.c_str());
    }

    void finish()
    {
        if (!stream || !player) return;
        if (Expected<void> done = stream->finish(); !done) std::fprintf(stderr, "tastemaker-cli: streaming failed: %s\n", done.error().message.c_str());
        player->endStream();
        player->waitWhilePlaying(std::chrono::milliseconds(600000));
        if (auto error = player->deviceError()) std::fprintf(stderr, "tastemaker-cli: playback stopped: %s\n", error->message.c_str());
        std::fprintf(stderr, "time to first audio %.2f s, underruns %lld\n", firstAudioSeconds, static_cast<long long>(player->underruns()));
    }
};

int runGenerate(const Args& args)
{
    if (!args.has("out") && !args.has("codes-out") && !args.has("library") && !args.has("play"))
        return reportError(Error{ErrorCode::InvalidArgument,
                                 "generate: nothing to do; give --out FILE.wav, --codes-out FILE.npy, --library DIR and/or --play"});
    if (Expected<SampleFormat> f = parseSampleFormat(args.getOr("sample-format", "s16")); !f) return reportError(f.error());
    auto model = loadModel(args);
    if (!model) return reportError(model.error());
    Expected<GenerationRequest> request = requestFromArgs(args, (*model)->info());
    if (!request) return reportError(request.error());
    auto steering = applySliders(args, *model);
    if (!steering) return reportError(steering.error());

    std::signal(SIGINT, [](int) { g_cancel.requestCancel(); });
    GenerationCallbacks callbacks;
    callbacks.onProgress = stderrProgress();
    callbacks.cancel = &g_cancel;
    LivePlayback live;
    if (args.has("play")) {
        live.setUp(*model, static_cast<double>(request->frames) / static_cast<double>((*model)->info().frameRate));
        if (live.stream)
            callbacks.onFrame = [&live](int64_t frame, std::span<const int64_t> codes) { (void)live.stream->pushFrame(frame, codes); };
    }
    Expected<GenerationResult> result = generate(**model, *request, callbacks);
    if (result) live.finish();
    if (!result) {
        if (result.error().code == ErrorCode::Cancelled) {
            std::cerr << "tastemaker-cli: cancelled\n";
            return kExitCancelled;
        }
        return reportError(result.error());
    }
    if (auto codesOut = args.get("codes-out"))
        if (Expected<void> w = writeCodesNpy(*codesOut, result->codes); !w) return reportError(w.error());
    const SliderValues sliders = *steering ? (*steering)->current() : SliderValues{};
    if (auto out = args.get("out"))
        if (Expected<void> w = writeSignals(*out, result->audio, result->sampleRate, args.getOr("sample-format", "s16"),
                                           describe(*request, sliders));
            !w)
            return reportError(w.error());
    if (args.has("library"))
        if (Expected<void> s = saveToLibrary(args, **model, *request, *result, sliders); !s) return reportError(s.error());
    const double audioSeconds = static_cast<double>(request->frames) / static_cast<double>((*model)->info().frameRate);
    const double compute = result->textSeconds + result->decodeSeconds + result->codecSeconds;
    std::fprintf(stderr, "generated %.2f s of audio in %.2f s (text %.2f s, decoder %.2f s, codec %.2f s; real-time factor %.2f)\n",
                 audioSeconds, compute, result->textSeconds, result->decodeSeconds, result->codecSeconds,
                 compute > 0 ? audioSeconds / compute : 0.0);
    return kExitOk;
}

}  // namespace

Command generateCommand()
{
    Command command;
    command.name = "generate";
    command.summary = "Generate music from text prompts with a MusicGen checkpoint.";
    command.options = modelOptions();
    command.options.insert(command.options.end(), {
        {"prompt", OptionKind::RepeatedValue, "TEXT", "a text prompt; several make a batch", true},
        {"duration", OptionKind::Value, "SECONDS", "length of audio to generate"},
        {"frames", OptionKind::Value, "N", "length in audio frames (50 per second) after the delay is undone"},
        {"greedy", OptionKind::Flag, "", "take the most likely code at every step"},
        {"top-k", OptionKind::Value, "K", "sample from the K most likely codes (0: off; default from the checkpoint, else 250)"},
        {"top-p", OptionKind::Value, "P", "nucleus sampling threshold (0: off)"},
        {"temperature", OptionKind::Value, "T", "sampling temperature (default 1)"},
        {"cfg", OptionKind::Value, "G", "classifier-free guidance scale (default from the checkpoint, usually 3)"},
        {"seed", OptionKind::Value, "S", "random seed (default 0); same seed, build and device give the same codes"},
        {"adapters", OptionKind::Value, "BANK_DIR", "an adapter bank (bank.json) to steer with"},
        {"slider", OptionKind::RepeatedValue, "ID=VALUE", "a slider value in [-2, 2], e.g. energy=0.7 (needs --adapters)"},
        {"play", OptionKind::Flag, "", "play the first prompt's audio while it is generated"},
        {"codes-out", OptionKind::Value, "FILE.npy", "write the codes as int64 [B, K, T]"},
        {"out", OptionKind::Value, "FILE.wav", "write audio (x.wav, or x-0.wav, x-1.wav, ... for several prompts)"},
        {"sample-format", OptionKind::Value, "s16|s24|f32", "WAV sample format (default s16)"},
        {"library", OptionKind::Value, "DIR", "also save each clip (WAV float32) with a JSON sidecar into this clip library"},
    });
    command.run = runGenerate;
    return command;
}

}  // namespace tmk::cli
