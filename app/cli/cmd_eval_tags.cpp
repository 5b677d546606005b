// `eval-tags`: does a model follow the tags of its prompts? Pairs of prompts that differ in one tag (slow/fast,
// acoustic/electronic, happy/sad) are generated with the same seed and analysed; a pair separates when the
// analyser reads a higher tempo from the "fast" clip, a higher acousticness from the "acoustic" clip, and
// major from "happy" with minor from "sad". The prompts start from held-out world songs' prompts with their
// tempo, production and mood tags removed, so the rest of each prompt is in distribution.
#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "cli_common.h"
#include "commands.h"
#include "data/csv_reader.h"
#include "tastemaker/analysis.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/codec_training.h"
#include "tastemaker/fileio.h"

namespace tmk::cli {

namespace fs = std::filesystem;

namespace {

struct Contrast {
    const char* name;
    const char* low; // the tag that should give the lower score
    const char* high;
    double (*score)(const AudioMetrics&);
    bool strictMode; // mode: high must be major and low minor
};

const Contrast kContrasts[] = {
    { "tempo", "slow", "fast", [](const AudioMetrics& m) { return m.tempoBpm; }, false },
    { "acousticness", "electronic", "acoustic", [](const AudioMetrics& m) { return m.acousticness; }, false },
    { "mode", "sad", "happy", [](const AudioMetrics& m) { return static_cast<double>(m.mode); }, true },
};

const std::set<std::string> kVaryingTags
    = { "acoustic", "electronic", "live", "slow", "mid-tempo", "fast", "happy", "calm", "sad", "dark" };

std::string lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// The held-out songs' prompts without their varying tags (deduplicated, in held-out order).
Expected<std::vector<std::string>> basePrompts(const fs::path& world, uint64_t seed)
{
    Expected<CsvReader> csv = CsvReader::open(world / "prompts.csv");
    if (!csv) return csv.error();
    const int idColumn = csv->findColumn("track_id"), promptColumn = csv->findColumn("prompt");
    if (idColumn < 0 || promptColumn < 0)
        return Error::inFile(ErrorCode::Format, (world / "prompts.csv").string(), "needs track_id and prompt columns");
    std::vector<std::string> ids;
    std::map<std::string, std::string> prompts;
    while (csv->next()) {
        ids.emplace_back(csv->field(idColumn));
        prompts[ids.back()] = std::string(csv->field(promptColumn));
    }
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const std::string& id : heldOutSongIds(ids, seed)) {
        std::stringstream in(prompts[id]);
        std::string tag, base;
        while (std::getline(in, tag, ',')) {
            tag.erase(0, tag.find_first_not_of(' '));
            tag.erase(tag.find_last_not_of(' ') + 1);
            if (tag.empty() || kVaryingTags.count(lower(tag))) continue;
            base += (base.empty() ? "" : ", ") + tag;
        }
        if (!base.empty() && seen.insert(base).second) out.push_back(base);
    }
    return out;
}

int runEvalTags(const Args& args)
{
    Expected<long long> pairs = args.integer("pairs", 20);
    Expected<long long> seed = args.integer("seed", 0);
    Expected<long long> worldSeed = args.integer("world-seed", 1);
    Expected<double> seconds = args.number("seconds", 8.0);
    Expected<double> cfg = args.number("cfg", -1.0);
    Expected<long long> topK = args.integer("top-k", 0);
    Expected<double> temperature = args.number("temperature", 1.0);
    for (const Error* e :
        { pairs ? nullptr : &pairs.error(), seed ? nullptr : &seed.error(), worldSeed ? nullptr : &worldSeed.error(),
            seconds ? nullptr : &seconds.error(), cfg ? nullptr : &cfg.error(), topK ? nullptr : &topK.error(),
            temperature ? nullptr : &temperature.error() })
        if (e) return reportError(*e);
    if (*pairs < 1 || !(*seconds > 0))
        return reportError(Error { ErrorCode::InvalidArgument, "eval-tags: --pairs and --seconds must be positive" });
    if (args.has("cfg") && !(*cfg >= 1.0))
        return reportError(Error { ErrorCode::InvalidArgument, "eval-tags: --cfg must be at least 1" });
    if (*topK < 0)
        return reportError(Error { ErrorCode::InvalidArgument, "eval-tags: --top-k must not be negative (0: off)" });
    if (!(*temperature > 0))
        return reportError(Error { ErrorCode::InvalidArgument, "eval-tags: --temperature must be positive" });
    const std::vector<std::string> only = splitList(args.getOr("contrasts", ""));
    for (const std::string& name : only)
        if (std::none_of(
                std::begin(kContrasts), std::end(kContrasts), [&](const Contrast& c) { return name == c.name; }))
            return reportError(Error { ErrorCode::InvalidArgument,
                "eval-tags: unknown contrast '" + name + "' (valid: tempo, acousticness, mode)" });
    Expected<std::vector<std::string>> bases = basePrompts(*args.get("world"), static_cast<uint64_t>(*worldSeed));
    if (!bases) return reportError(bases.error());
    if (bases->empty())
        return reportError(Error { ErrorCode::NotFound, "eval-tags: the world has no held-out prompts" });
    Expected<std::shared_ptr<const MusicgenModel>> model = loadModel(args);
    if (!model) return reportError(model.error());
    const ModelInfo& info = (*model)->info();
    const auto out = args.get("out");
    if (out) fs::create_directories(*out);

    std::ostringstream csv;
    csv << "contrast,pair,prompt_low,prompt_high,score_low,score_high,separated\n";
    int prompts = 0;
    for (const Contrast& contrast : kContrasts) {
        if (!only.empty() && std::find(only.begin(), only.end(), contrast.name) == only.end()) continue;
        int separated = 0;
        for (long long p = 0; p < *pairs; ++p) {
            const std::string& base = (*bases)[static_cast<size_t>(p) % bases->size()];
            GenerationRequest request = GenerationRequest::defaultsFor(info);
            request.prompts = { base + ", " + contrast.low, base + ", " + contrast.high };
            request.frames = static_cast<int64_t>(*seconds * static_cast<double>(info.frameRate));
            request.sampling.seed = static_cast<uint64_t>(*seed) + static_cast<uint64_t>(p);
            if (args.has("cfg")) request.sampling.guidanceScale = *cfg;
            if (args.has("top-k")) request.sampling.topK = *topK;
            if (args.has("temperature")) request.sampling.temperature = *temperature;
            Expected<GenerationResult> result = generate(**model, request);
            if (!result) return reportError(result.error());
            prompts += 2;
            const AudioMetrics low = analyseSignal(result->audio[0], result->sampleRate);
            const AudioMetrics high = analyseSignal(result->audio[1], result->sampleRate);
            const double a = contrast.score(low), b = contrast.score(high);
            const bool ok = contrast.strictMode ? (b == 1.0 && a == 0.0) : b > a;
            separated += ok;
            csv << contrast.name << "," << p << ",\"" << request.prompts[0] << "\",\"" << request.prompts[1] << "\","
                << a << "," << b << "," << (ok ? 1 : 0) << "\n";
            if (out)
                for (int i = 0; i < 2; ++i) {
                    const fs::path wav = fs::path(*out)
                        / (std::string(contrast.name) + "-" + std::to_string(p) + "-"
                            + (i ? contrast.high : contrast.low) + ".wav");
                    Expected<void> written
                        = writeAudioFile(wav, result->audio[static_cast<size_t>(i)], 1, result->sampleRate, {});
                    if (!written) return reportError(written.error());
                }
        }
        std::printf("%s: \"%s\" vs \"%s\" separate in %d of %lld pairs (%.2f)\n", contrast.name, contrast.low,
            contrast.high, separated, *pairs, static_cast<double>(separated) / static_cast<double>(*pairs));
        std::fflush(stdout);
    }
    std::printf("prompts generated: %d\n", prompts);
    if (out) {
        Expected<void> written = writeFileAtomic(fs::path(*out) / "eval-tags.csv", csv.str());
        if (!written) return reportError(written.error());
    }
    return kExitOk;
}

} // namespace

Command evalTagsCommand()
{
    Command command;
    command.name = "eval-tags";
    command.summary = "Measure tag following: slow/fast, acoustic/electronic and happy/sad prompt pairs, analysed.";
    command.options = modelOptions();
    for (OptionSpec option : std::vector<OptionSpec> {
             { "world", OptionKind::Value, "DIR", "the world the model was trained on (its held-out prompts)", true },
             { "world-seed", OptionKind::Value, "S", "the training seed that chose the held-out songs (default 1)" },
             { "pairs", OptionKind::Value, "N", "prompt pairs per contrast (default 20)" },
             { "seconds", OptionKind::Value, "S", "clip length (default 8)" },
             { "seed", OptionKind::Value, "S", "sampling seed of the first pair (default 0)" },
             { "cfg", OptionKind::Value, "G", "classifier-free guidance scale (default from the checkpoint)" },
             { "top-k", OptionKind::Value, "K", "sample from the K likeliest codes (default from the checkpoint)" },
             { "temperature", OptionKind::Value, "T", "sampling temperature (default from the checkpoint)" },
             { "contrasts", OptionKind::Value, "LIST", "only these of tempo,acousticness,mode (default all)" },
             { "out", OptionKind::Value, "DIR", "write eval-tags.csv and every clip here" } })
        command.options.push_back(option);
    command.run = runEvalTags;
    return command;
}

} // namespace tmk::cli
