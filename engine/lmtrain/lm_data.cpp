#include "lmtrain/lm_data.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/bincount.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>

#include "codec/encodec.h"
#include "data/csv_reader.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/fileio.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"
#include "training/worker_pool.h"

extern char** environ;

namespace tmk::lmtrain {

namespace fs = std::filesystem;

namespace {

std::string trim(std::string_view text)
{
    size_t begin = 0, end = text.size();
    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    return std::string(text.substr(begin, end - begin));
}

Expected<std::map<std::string, std::string>> readPrompts(const fs::path& file)
{
    Expected<CsvReader> csv = CsvReader::open(file);
    if (!csv) return csv.error();
    const int id = csv->findColumn("track_id"), prompt = csv->findColumn("prompt");
    if (id < 0 || prompt < 0)
        return Error::inFile(ErrorCode::Format, file.string(), "needs the columns track_id and prompt");
    std::map<std::string, std::string> prompts;
    while (csv->next()) prompts[std::string(csv->field(id))] = trim(csv->field(prompt));
    return prompts;
}

// Runs `argv` (argv[0] looked up on PATH) with its output appended to `log`; the error says what failed.
Expected<void> runTool(const std::vector<std::string>& argv, const fs::path& log)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0)
        return Error { ErrorCode::NotFound,
            argv[0] + " could not be started (" + std::strerror(spawned)
                + "); it comes with Debian's sentencepiece package (packaging/install-deps.sh installs it)" };
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return Error { ErrorCode::Io, argv[0] + ": waitpid failed" };
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return Error::inFile(ErrorCode::Internal, log.string(), argv[0] + " failed; its output is in this file");
    return {};
}

} // namespace

std::vector<std::string> splitTags(const std::string& prompt)
{
    std::vector<std::string> tags;
    std::string current;
    std::istringstream in(prompt);
    while (std::getline(in, current, ','))
        if (std::string tag = trim(current); !tag.empty()) tags.push_back(tag);
    return tags;
}

std::string joinTags(const std::vector<std::string>& tags)
{
    std::string out;
    for (const std::string& tag : tags) out += (out.empty() ? "" : ", ") + tag;
    return out;
}

Expected<std::vector<WorldSong>> readWorld(const fs::path& worldDir)
{
    const fs::path tracksFile = worldDir / "tracks.csv";
    Expected<std::map<std::string, std::string>> prompts = readPrompts(worldDir / "prompts.csv");
    if (!prompts) return prompts.error();
    Expected<CsvReader> csv = CsvReader::open(tracksFile);
    if (!csv) return csv.error();
    const int id = csv->findColumn("track_id"), genre = csv->findColumn("track_genre");
    if (id < 0 || genre < 0)
        return Error::inFile(ErrorCode::Format, tracksFile.string(), "needs the columns track_id and track_genre");
    std::vector<WorldSong> songs;
    while (csv->next()) {
        WorldSong song { std::string(csv->field(id)), trim(csv->field(genre)), {}, {} };
        song.audio = worldDir / "audio" / (song.id + ".wav");
        auto prompt = prompts->find(song.id);
        if (song.id.empty() || prompt == prompts->end() || !fs::exists(song.audio)) continue;
        song.prompt = prompt->second;
        songs.push_back(std::move(song));
    }
    if (songs.empty())
        return Error::inFile(ErrorCode::NotFound, tracksFile.string(),
            "lists no track with both a prompt in prompts.csv and audio/<track_id>.wav");
    return songs;
}

Expected<fs::path> trainSentencepiece(const std::vector<WorldSong>& songs, const fs::path& dir, int64_t pieces)
{
    // Every prompt, its genre-only form and each tag alone, so that every tag is a line of its own.
    std::set<std::string> lines;
    std::ostringstream corpus;
    for (const WorldSong& song : songs) {
        corpus << song.prompt << "\n";
        lines.insert(song.genre);
        for (const std::string& tag : splitTags(song.prompt)) lines.insert(tag);
    }
    for (const std::string& line : lines) corpus << line << "\n";
    const std::string text = corpus.str();
    const fs::path corpusFile = dir / "corpus.txt", model = dir / "spiece.model";
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) return Error::inFile(ErrorCode::Io, dir.string(), "cannot be created: " + error.message());
    if (fs::exists(model)) {
        Expected<std::string> previous = readFileText(corpusFile);
        if (previous && *previous == text) return model;
    }
    TMK_TRY(writeFileAtomic(corpusFile, text));
    const fs::path log = dir / "spm_train.log";
    fs::remove(log, error);
    // T5's layout: <pad> 0, </s> 1, <unk> 2 and no <s>; NFKC with case folding, so "Classic Rock" and
    // "classic rock" are the same ids. One thread: the result is the same on every machine.
    TMK_TRY(runTool({ "spm_train", "--input=" + corpusFile.string(), "--model_prefix=" + (dir / "spiece").string(),
                        "--model_type=unigram", "--vocab_size=" + std::to_string(pieces), "--hard_vocab_limit=false",
                        "--character_coverage=1.0", "--pad_id=0", "--eos_id=1", "--unk_id=2", "--bos_id=-1",
                        "--pad_piece=<pad>", "--eos_piece=</s>", "--unk_piece=<unk>",
                        "--normalization_rule_name=nmt_nfkc_cf", "--num_threads=1", "--minloglevel=1" },
        log));
    fs::remove(dir / "spiece.vocab", error);
    if (!fs::exists(model)) return Error::inFile(ErrorCode::Internal, log.string(), "spm_train wrote no model");
    return model;
}

Expected<at::Tensor> tokenizeSongs(const std::vector<WorldSong>& songs, const Encodec& codec,
    const std::string& codecHash, const fs::path& cacheFile, int workers,
    const std::function<void(int64_t, int64_t)>& progress)
{
    std::string ids;
    for (const WorldSong& song : songs) ids += song.id + "\n";
    if (fs::exists(cacheFile)) {
        Expected<WeightStore> store = WeightStore::open(cacheFile);
        if (store && store->metadataValue("codec") == codecHash && store->metadataValue("ids") == ids) {
            Expected<SafetensorsCheckpoint> raw = SafetensorsCheckpoint::open(cacheFile);
            if (raw) {
                Expected<at::Tensor> codes = loadTensor(*raw, "codes");
                if (codes && codes->dim() == 3 && codes->size(0) == static_cast<int64_t>(songs.size())) return *codes;
            }
        }
    }
    const int sampleRate = static_cast<int>(codec.sampleRate());
    const int64_t total = static_cast<int64_t>(songs.size());
    const int64_t batch = 8;
    const int64_t batches = (total + batch - 1) / batch;
    std::vector<at::Tensor> perSong(songs.size());
    std::vector<int64_t> songFrames(songs.size(), 0);
    std::atomic<bool> failed { false };
    std::mutex mutex; // guards firstError, done and progress calls
    std::optional<Error> firstError;
    int64_t done = 0;
    // Each worker encodes whole batches with one intra-op thread (forEachOnWorkers).
    forEachOnWorkers(batches, workers, [&](int64_t b) {
        if (failed) return;
        const int64_t first = b * batch, count = std::min(batch, total - first);
        std::vector<std::vector<float>> audio;
        size_t longest = 0;
        for (int64_t i = first; i < first + count; ++i) {
            Expected<std::vector<float>> samples = readAudioMono(songs[static_cast<size_t>(i)].audio, sampleRate);
            if (!samples) {
                std::lock_guard lock(mutex);
                if (!firstError) firstError = samples.error();
                failed = true;
                return;
            }
            longest = std::max(longest, samples->size());
            audio.push_back(std::move(*samples));
        }
        at::Tensor input = at::zeros({ count, 1, static_cast<int64_t>(longest) }, at::kFloat);
        for (int64_t i = 0; i < count; ++i) {
            const auto& a = audio[static_cast<size_t>(i)];
            std::copy(a.begin(), a.end(), input[i][0].data_ptr<float>());
        }
        at::Tensor codes = codec.encode(input, codec.codebookCount()).to(at::kInt); // [count, K, T]
        for (int64_t i = 0; i < count; ++i) {
            const auto index = static_cast<size_t>(first + i);
            songFrames[index] = static_cast<int64_t>(
                (audio[static_cast<size_t>(i)].size() + codec.hopLength() - 1) / codec.hopLength());
            perSong[index] = codes[i].clone();
        }
        std::lock_guard lock(mutex);
        done += count;
        if (progress) progress(done, total);
    });
    if (firstError) return *firstError;
    const int64_t frames = *std::min_element(songFrames.begin(), songFrames.end());
    for (at::Tensor& c : perSong) c = c.narrow(1, 0, frames);
    at::Tensor all = at::stack(perSong, 0).contiguous(); // [N, K, T]
    TMK_TRY(saveTensors(cacheFile, { { "codes", all } }, { { "codec", codecHash }, { "ids", ids } }));
    return all;
}

namespace {

std::string lowerCase(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// Each contrast tag and what it may be swapped for (one drawn at random).
const std::map<std::string, std::vector<std::string>>& contrastOpposites()
{
    static const std::map<std::string, std::vector<std::string>> opposites = {
        { "slow", { "fast" } },
        { "fast", { "slow" } },
        { "mid-tempo", { "slow", "fast" } },
        { "acoustic", { "electronic" } },
        { "electronic", { "acoustic" } },
        { "happy", { "sad" } },
        { "sad", { "happy" } },
        { "calm", { "dark" } },
        { "dark", { "calm" } },
    };
    return opposites;
}

bool isContrastTag(const std::string& tag)
{
    return contrastOpposites().count(lowerCase(tag)) > 0;
}

// The positions of `tags`' contrast tags; the genre comes first and is never one.
std::vector<size_t> contrastTagPositions(const std::vector<std::string>& tags)
{
    std::vector<size_t> positions;
    for (size_t i = 1; i < tags.size(); ++i)
        if (isContrastTag(tags[i])) positions.push_back(i);
    return positions;
}

} // namespace

bool hasContrastTag(const std::string& prompt)
{
    return !contrastTagPositions(splitTags(prompt)).empty();
}

std::string dropOtherThanContrastTags(const std::string& prompt, double dropout, std::mt19937_64& random)
{
    const std::vector<std::string> tags = splitTags(prompt);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<std::string> kept;
    for (size_t i = 0; i < tags.size(); ++i)
        if (i == 0 || isContrastTag(tags[i]) || !(uniform(random) < dropout)) kept.push_back(tags[i]);
    return joinTags(kept);
}

std::string swapContrastTag(const std::string& prompt, std::mt19937_64& random)
{
    std::vector<std::string> tags = splitTags(prompt);
    const std::vector<size_t> candidates = contrastTagPositions(tags);
    if (candidates.empty()) return {};
    const size_t which = candidates[static_cast<size_t>(random() % candidates.size())];
    const std::vector<std::string>& opposites = contrastOpposites().at(lowerCase(tags[which]));
    tags[which] = opposites[static_cast<size_t>(random() % opposites.size())];
    return joinTags(tags);
}

std::string augmentPrompt(const WorldSong& song, const PromptAugment& augment, std::mt19937_64& random)
{
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    if (uniform(random) < augment.genreOnly) return song.genre;
    const std::vector<std::string> tags = splitTags(song.prompt);
    std::vector<std::string> kept;
    for (size_t i = 0; i < tags.size(); ++i)
        if (i == 0 || !(uniform(random) < augment.tagDropout)) kept.push_back(tags[i]);
    return joinTags(kept);
}

at::Tensor randomCodeCrops(const at::Tensor& codes, const std::vector<int64_t>& songs, int64_t batch, int64_t frames,
    std::mt19937_64& random, std::vector<int64_t>* chosen, double startShare)
{
    const int64_t k = codes.size(1), length = codes.size(2);
    frames = std::min(frames, length);
    at::Tensor out = at::zeros({ batch, k, frames }, at::kLong);
    if (chosen) chosen->clear();
    for (int64_t b = 0; b < batch; ++b) {
        const int64_t song = songs[static_cast<size_t>(random() % songs.size())];
        int64_t offset = static_cast<int64_t>(random() % static_cast<uint64_t>(length - frames + 1));
        // A crop from the song's first frame, as generation starts from nothing (one more draw only when asked,
        // so runs without it keep their exact crops).
        if (startShare >= 1.0 || (startShare > 0.0 && static_cast<double>(random() >> 11) * 0x1.0p-53 < startShare))
            offset = 0;
        out[b].copy_(codes[song].narrow(1, offset, frames));
        if (chosen) chosen->push_back(song);
    }
    return out;
}

double bigramBaseline(
    const at::Tensor& codes, const std::vector<int64_t>& train, const std::vector<int64_t>& heldOut, int64_t vocab)
{
    constexpr double kAlpha = 0.1;
    const auto longs = at::TensorOptions().dtype(at::kLong);
    auto rows = [&](const std::vector<int64_t>& songs) { // [n, K, T] int64
        at::Tensor index = at::from_blob(const_cast<int64_t*>(songs.data()), { int64_t(songs.size()) }, longs);
        return codes.index_select(0, index).to(at::kLong);
    };
    const at::Tensor fit = rows(train), test = rows(heldOut);
    const int64_t k = codes.size(1);
    double total = 0.0;
    for (int64_t c = 0; c < k; ++c) {
        const at::Tensor a = fit.select(1, c), b = test.select(1, c); // [n, T]
        const at::Tensor x = a.narrow(1, 0, a.size(1) - 1).flatten(), y = a.narrow(1, 1, a.size(1) - 1).flatten();
        const at::Tensor pairs = at::bincount(x * vocab + y, {}, vocab * vocab).to(at::kDouble);
        const at::Tensor from = at::bincount(x, {}, vocab).to(at::kDouble);
        const at::Tensor unigram
            = (at::bincount(a.flatten(), {}, vocab).to(at::kDouble) + 1.0) / static_cast<double>(a.numel() + vocab);
        const at::Tensor hx = b.narrow(1, 0, b.size(1) - 1).flatten(), hy = b.narrow(1, 1, b.size(1) - 1).flatten();
        const at::Tensor p = (pairs.index_select(0, hx * vocab + hy) + kAlpha * unigram.index_select(0, hy))
            / (from.index_select(0, hx) + kAlpha);
        total += -p.log().mean().item<double>();
    }
    return total / static_cast<double>(k);
}

} // namespace tmk::lmtrain
