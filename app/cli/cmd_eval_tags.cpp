// `eval-tags`: does a model follow the tags of its prompts? Pairs of prompts that differ in one tag (slow/fast,
// acoustic/electronic, happy/sad) are generated with the same seed and analysed; a pair separates when the
// analyser reads a higher tempo from the "fast" clip, a higher acousticness from the "acoustic" clip, and
// major from "happy" with minor from "sad". The prompts start from held-out world songs' prompts with their
// tempo, production and mood tags removed, so the rest of each prompt is in distribution, and from genres in which
// the world's training songs carry both tags of the contrast (--min-share): the world has slow and fast jazz, but
// no slow techno and no fast ambient, so a pair there would ask for music the model never heard.
//
// Every clip is also checked for a steady tempo: its two halves are analysed apart and must read within 4% of each
// other. A tempo contrast can only be heard in clips that keep one tempo; the same check on held-out world songs,
// cut to the clips' length, says how often the analyser itself agrees with itself on real music.
//
// With --likelihood nothing is generated: the language model is asked whether it knows the tags at all. For each
// held-out world song whose prompt holds one tag of a contrast, the song's opening (--seconds) is encoded with the
// model's codec and scored under its own prompt and under the prompt with that tag swapped for the other; the
// song counts when its own prompt is the likelier.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <span>
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

std::vector<std::string> splitTags(const std::string& prompt)
{
    std::vector<std::string> tags;
    std::stringstream in(prompt);
    std::string tag;
    while (std::getline(in, tag, ',')) {
        tag.erase(0, tag.find_first_not_of(' '));
        tag.erase(tag.find_last_not_of(' ') + 1);
        if (!tag.empty()) tags.push_back(tag);
    }
    return tags;
}

std::string joinTags(const std::vector<std::string>& tags)
{
    std::string out;
    for (const std::string& tag : tags) out += (out.empty() ? "" : ", ") + tag;
    return out;
}

// Whether a clip keeps one tempo: its halves, analysed apart, read within 4% of each other.
bool steadyTempo(std::span<const float> audio, int sampleRate)
{
    const size_t half = audio.size() / 2;
    const double a = analyseSignal(audio.first(half), sampleRate).tempoBpm;
    const double b = analyseSignal(audio.subspan(half, half), sampleRate).tempoBpm;
    return a > 0 && b > 0 && std::abs(a - b) < 0.04 * std::max(a, b);
}

struct WorldPrompts {
    std::vector<std::pair<std::string, std::string>> heldOut; // (track id, prompt), in held-out order
    std::vector<std::string> training; // the other songs' prompts
};

// The world's prompts, split as the trainers split them.
Expected<WorldPrompts> worldPrompts(const fs::path& world, uint64_t seed)
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
    WorldPrompts out;
    const std::vector<std::string> heldOut = heldOutSongIds(ids, seed);
    const std::set<std::string> heldOutSet(heldOut.begin(), heldOut.end());
    for (const std::string& id : heldOut) out.heldOut.emplace_back(id, prompts[id]);
    for (const std::string& id : ids)
        if (!heldOutSet.count(id)) out.training.push_back(prompts[id]);
    return out;
}

std::string genreOf(const std::string& prompt)
{
    const std::vector<std::string> tags = splitTags(prompt);
    return tags.empty() ? std::string() : lower(tags.front());
}

// The genres in which both tags of a contrast are common in the training prompts: each on at least minShare of
// the genre's songs. A pair "Techno, ..., slow" / "..., fast" asks for music the world never made (its techno is
// never slow), so what the model was taught cannot be judged there.
std::set<std::string> genresWithBothTags(
    const std::vector<std::string>& training, const Contrast& contrast, double minShare)
{
    struct Count {
        int songs = 0, low = 0, high = 0;
    };
    std::map<std::string, Count> counts;
    for (const std::string& prompt : training) {
        const std::vector<std::string> tags = splitTags(prompt);
        if (tags.empty()) continue;
        Count& c = counts[lower(tags.front())];
        ++c.songs;
        for (const std::string& tag : tags) {
            c.low += lower(tag) == contrast.low;
            c.high += lower(tag) == contrast.high;
        }
    }
    std::set<std::string> out;
    for (const auto& [genre, c] : counts)
        if (c.low >= minShare * c.songs && c.high >= minShare * c.songs && c.low > 0 && c.high > 0) out.insert(genre);
    return out;
}

// The held-out songs' prompts without their varying tags (deduplicated, in held-out order), from the given genres.
std::vector<std::string> basePrompts(
    const std::vector<std::pair<std::string, std::string>>& heldOut, const std::set<std::string>& genres)
{
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const auto& [id, prompt] : heldOut) {
        const std::vector<std::string> tags = splitTags(prompt);
        if (tags.empty() || !genres.count(lower(tags.front()))) continue;
        std::vector<std::string> kept;
        for (const std::string& tag : tags)
            if (!kVaryingTags.count(lower(tag))) kept.push_back(tag);
        const std::string base = joinTags(kept);
        if (!base.empty() && seen.insert(base).second) out.push_back(base);
    }
    return out;
}

struct LikelihoodTally {
    int songs = 0, right = 0;
    double sumPerToken = 0.0; // own minus swapped, nats per code
    int lowSongs = 0, lowRight = 0; // songs holding the low tag
};

// eval-tags --likelihood: see the file's comment.
int runTagLikelihood(const Args& args, const MusicgenModel& model, uint64_t worldSeed, double seconds,
    const std::vector<std::string>& only)
{
    const fs::path world = *args.get("world");
    Expected<WorldPrompts> prompts = worldPrompts(world, worldSeed);
    if (!prompts) return reportError(prompts.error());
    const auto* songs = &prompts->heldOut;
    const ModelInfo& info = model.info();
    const auto samples = static_cast<size_t>(seconds * static_cast<double>(info.sampleRate));
    std::ostringstream csv;
    csv << "contrast,track_id,prompt,swapped_prompt,codes,loglik_own,loglik_swapped,right\n";
    std::map<std::string, LikelihoodTally> tallies;
    for (const auto& [id, prompt] : *songs) {
        std::vector<std::string> tags = splitTags(prompt);
        for (const Contrast& contrast : kContrasts) {
            if (!only.empty() && std::find(only.begin(), only.end(), contrast.name) == only.end()) continue;
            const auto has = [&](const char* tag) {
                return std::count_if(tags.begin(), tags.end(), [&](const std::string& t) { return lower(t) == tag; });
            };
            const auto lows = has(contrast.low), highs = has(contrast.high);
            if (lows + highs != 1) continue;
            const bool low = lows == 1;
            std::vector<std::string> tagsSwapped = tags;
            for (std::string& t : tagsSwapped)
                if (lower(t) == (low ? contrast.low : contrast.high)) t = low ? contrast.high : contrast.low;
            const std::string swapped = joinTags(tagsSwapped);
            Expected<std::vector<float>> audio = readAudioMono(world / "audio" / (id + ".wav"), info.sampleRate);
            if (!audio) return reportError(audio.error());
            audio->resize(std::min(audio->size(), samples));
            Expected<AudioCodes> codes = encodeAudio(model, *audio);
            if (!codes) return reportError(codes.error());
            Expected<std::vector<double>> scores = codesLogLikelihood(model, { prompt, swapped }, *codes);
            if (!scores) return reportError(scores.error());
            const double count = static_cast<double>(codes->codebooks * codes->frames);
            const bool right = (*scores)[0] > (*scores)[1];
            LikelihoodTally& tally = tallies[contrast.name];
            ++tally.songs;
            tally.right += right;
            tally.sumPerToken += ((*scores)[0] - (*scores)[1]) / count;
            tally.lowSongs += low;
            tally.lowRight += low && right;
            csv << contrast.name << "," << id << ",\"" << prompt << "\",\"" << swapped << "\","
                << codes->codebooks * codes->frames << "," << (*scores)[0] << "," << (*scores)[1] << ","
                << (right ? 1 : 0) << "\n";
        }
    }
    for (const Contrast& contrast : kContrasts) {
        const auto found = tallies.find(contrast.name);
        if (found == tallies.end()) continue;
        const LikelihoodTally& t = found->second;
        std::printf("%s: the song's own \"%s\"/\"%s\" is the likelier in %d of %d held-out songs (%.2f; \"%s\" songs "
                    "%d of %d, \"%s\" songs %d of %d), own minus swapped %+.4f nats a code\n",
            contrast.name, contrast.low, contrast.high, t.right, t.songs,
            static_cast<double>(t.right) / static_cast<double>(t.songs), contrast.low, t.lowRight, t.lowSongs,
            contrast.high, t.right - t.lowRight, t.songs - t.lowSongs, t.sumPerToken / static_cast<double>(t.songs));
    }
    if (const auto out = args.get("out")) {
        fs::create_directories(*out);
        Expected<void> written = writeFileAtomic(fs::path(*out) / "eval-tags-likelihood.csv", csv.str());
        if (!written) return reportError(written.error());
    }
    return kExitOk;
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
    Expected<double> minShare = args.number("min-share", 0.1);
    for (const Error* e :
        { pairs ? nullptr : &pairs.error(), seed ? nullptr : &seed.error(), worldSeed ? nullptr : &worldSeed.error(),
            seconds ? nullptr : &seconds.error(), cfg ? nullptr : &cfg.error(), topK ? nullptr : &topK.error(),
            temperature ? nullptr : &temperature.error(), minShare ? nullptr : &minShare.error() })
        if (e) return reportError(*e);
    if (*pairs < 1 || !(*seconds > 0))
        return reportError(Error { ErrorCode::InvalidArgument, "eval-tags: --pairs and --seconds must be positive" });
    if (args.has("cfg") && !(*cfg >= 1.0))
        return reportError(Error { ErrorCode::InvalidArgument, "eval-tags: --cfg must be at least 1" });
    if (*topK < 0)
        return reportError(Error { ErrorCode::InvalidArgument, "eval-tags: --top-k must not be negative (0: off)" });
    if (!(*minShare >= 0 && *minShare < 0.5))
        return reportError(
            Error { ErrorCode::InvalidArgument, "eval-tags: --min-share must be at least 0 and below 0.5" });
    if (!(*temperature > 0))
        return reportError(Error { ErrorCode::InvalidArgument, "eval-tags: --temperature must be positive" });
    const std::vector<std::string> only = splitList(args.getOr("contrasts", ""));
    for (const std::string& name : only)
        if (std::none_of(
                std::begin(kContrasts), std::end(kContrasts), [&](const Contrast& c) { return name == c.name; }))
            return reportError(Error { ErrorCode::InvalidArgument,
                "eval-tags: unknown contrast '" + name + "' (valid: tempo, acousticness, mode)" });
    if (args.has("likelihood")) {
        Expected<std::shared_ptr<const MusicgenModel>> model = loadModel(args);
        if (!model) return reportError(model.error());
        return runTagLikelihood(args, **model, static_cast<uint64_t>(*worldSeed), *seconds, only);
    }
    Expected<WorldPrompts> world = worldPrompts(*args.get("world"), static_cast<uint64_t>(*worldSeed));
    if (!world) return reportError(world.error());
    std::map<std::string, std::vector<std::string>> bases; // by contrast
    for (const Contrast& contrast : kContrasts) {
        if (!only.empty() && std::find(only.begin(), only.end(), contrast.name) == only.end()) continue;
        std::set<std::string> genres;
        if (*minShare > 0) {
            genres = genresWithBothTags(world->training, contrast, *minShare);
        } else {
            for (const auto& song : world->heldOut) genres.insert(genreOf(song.second));
        }
        bases[contrast.name] = basePrompts(world->heldOut, genres);
        if (bases[contrast.name].empty())
            return reportError(Error { ErrorCode::NotFound,
                std::string("eval-tags: no held-out prompt is from a genre whose training songs carry both \"")
                    + contrast.low + "\" and \"" + contrast.high + "\" (lower --min-share)" });
        std::string list;
        for (const std::string& genre : genres) list += (list.empty() ? "" : ", ") + genre;
        std::printf(
            "%s: prompts from %s (%zu held-out bases)\n", contrast.name, list.c_str(), bases[contrast.name].size());
    }
    Expected<std::shared_ptr<const MusicgenModel>> model = loadModel(args);
    if (!model) return reportError(model.error());
    const ModelInfo& info = (*model)->info();
    const auto out = args.get("out");
    if (out) fs::create_directories(*out);

    std::ostringstream csv;
    csv << "contrast,pair,prompt_low,prompt_high,score_low,score_high,separated,steady_low,steady_high\n";
    int prompts = 0, steady = 0;
    for (const Contrast& contrast : kContrasts) {
        if (!only.empty() && std::find(only.begin(), only.end(), contrast.name) == only.end()) continue;
        int separated = 0;
        for (long long p = 0; p < *pairs; ++p) {
            const std::vector<std::string>& pool = bases[contrast.name];
            const std::string& base = pool[static_cast<size_t>(p) % pool.size()];
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
            const bool steadyLow = steadyTempo(result->audio[0], result->sampleRate);
            const bool steadyHigh = steadyTempo(result->audio[1], result->sampleRate);
            steady += steadyLow + steadyHigh;
            csv << contrast.name << "," << p << ",\"" << request.prompts[0] << "\",\"" << request.prompts[1] << "\","
                << a << "," << b << "," << (ok ? 1 : 0) << "," << (steadyLow ? 1 : 0) << "," << (steadyHigh ? 1 : 0)
                << "\n";
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
    // The same check on as many held-out world songs, cut to the clips' length (when the world has its audio).
    const fs::path audioDir = fs::path(*args.get("world")) / "audio";
    const auto samples = static_cast<size_t>(*seconds * info.sampleRate);
    const bool hasAudio = fs::is_directory(audioDir);
    int songs = 0, songsSteady = 0;
    for (const auto& song : world->heldOut) {
        if (songs == prompts || !hasAudio) break;
        Expected<std::vector<float>> audio = readAudioMono(audioDir / (song.first + ".wav"), info.sampleRate);
        if (!audio) return reportError(audio.error());
        if (audio->size() < samples) continue;
        audio->resize(samples);
        ++songs;
        songsSteady += steadyTempo(*audio, info.sampleRate);
    }
    std::printf("steady tempo (the halves read within 4%%): %d of %d clips (%.2f)", steady, prompts,
        static_cast<double>(steady) / std::max(prompts, 1));
    if (songs > 0)
        std::printf("; held-out world songs cut to %.1f s: %d of %d (%.2f)\n", *seconds, songsSteady, songs,
            static_cast<double>(songsSteady) / songs);
    else
        std::printf("; no world audio to compare with\n");
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
             { "min-share", OptionKind::Value, "F",
                 "draw each contrast's prompts from genres whose training songs carry each of its two tags on at "
                 "least this share (default 0.1; 0: every genre)" },
             { "contrasts", OptionKind::Value, "LIST", "only these of tempo,acousticness,mode (default all)" },
             { "likelihood", OptionKind::Flag, "",
                 "generate nothing: score each held-out song's opening (--seconds) under its prompt and under the "
                 "prompt with its tag swapped (does the model know the tag?)" },
             { "out", OptionKind::Value, "DIR", "write eval-tags.csv and every clip here" } })
        command.options.push_back(option);
    command.run = runEvalTags;
    return command;
}

} // namespace tmk::cli
