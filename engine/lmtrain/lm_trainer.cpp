// trainLm: the stages (sentencepiece, tokenizing, training) and the exported checkpoint folder.
//
// What is trained is the engine's own T5Encoder and MusicgenDecoder, loaded from a checkpoint file with
// their normal loaders and switched to autograd (requires_grad on their tensors), so the trained model is
// exactly what the app runs. The unconditional branch of classifier-free guidance is trained as the
// generator computes it: projectEncoder with the mask zeroed (states 0) and an all-zero cross-attention mask.
#include "lmtrain/lm_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <sstream>

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/zeros.h>

#include "codec/codec_data.h"
#include "codec/codec_plot.h"
#include "codec/encodec.h"
#include "codec/encodec_train.h"
#include "codec/loss_history.h"
#include "core/json.h"
#include "core/model_config.h"
#include "core/stopwatch.h"
#include "lm/decoder.h"
#include "lmtrain/lm_data.h"
#include "lmtrain/lm_model.h"
#include "tastemaker/fileio.h"
#include "tastemaker/lm_training.h"
#include "tastemaker/token_cache.h"
#include "tastemaker/training.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"
#include "text/t5_encoder.h"
#include "text/tokenizer.h"
#include "training/optimizer.h"
#include "training/sequence_logprob.h"

namespace tmk {

namespace fs = std::filesystem;
using lmtrain::WorldSong;

using lmtrain::Batch;
using lmtrain::kContrastStreams;
using lmtrain::kLmCurveColumns;
using lmtrain::kLmTagColumns;
using lmtrain::kOpeningSeconds;
using lmtrain::LmTrainer;

namespace {

Expected<void> checkOptions(const LmTrainOptions& o)
{
    if (o.worldDir.empty() || o.codecDir.empty() || o.outDir.empty())
        return Error { ErrorCode::InvalidArgument,
            "train-lm needs a world folder, a codec folder and an output folder" };
    if (o.steps < 1 || o.batch < 1 || o.seconds <= 0.0 || o.checkpointEvery < 1 || o.logEvery < 1)
        return Error { ErrorCode::InvalidArgument,
            "steps, batch, seconds, checkpoint and log intervals must be positive" };
    if (!(o.tagContrast >= 0.0) || o.tagContrastBatch < 1 || !(o.tagContrastSeconds > 0.0)
        || !(o.tagContrastOtherDropout >= 0.0 && o.tagContrastOtherDropout <= 1.0))
        return Error { ErrorCode::InvalidArgument,
            "the tag-contrast weight must not be negative, its batch and seconds must be positive and its "
            "dropout lie in [0, 1]" };
    if (!(o.textLrScale > 0.0))
        return Error { ErrorCode::InvalidArgument, "the text learning-rate scale must be positive" };
    for (double p : { o.cfgDropout, o.genreOnly, o.tagDropout, o.heldOutFraction, o.startShare, o.inputDropout })
        if (!(p >= 0.0 && p < 1.0))
            return Error { ErrorCode::InvalidArgument, "dropout probabilities and the held-out share lie in [0, 1)" };
    TMK_TRY(checkCodebookWeights(o.codebookWeights));
    if (o.shape.hidden % o.shape.heads != 0 || o.shape.layers < 1 || o.shape.textLayers < 1)
        return Error { ErrorCode::InvalidArgument, "the decoder's hidden size must divide by its heads" };
    return {};
}

// Train and held-out song indices, split by song exactly as train-codec splits (same seed: same songs).
void splitSongs(const std::vector<WorldSong>& songs, const LmTrainOptions& o, std::vector<int64_t>* train,
    std::vector<int64_t>* heldOut)
{
    std::vector<encodec::Song> byId;
    std::map<std::string, int64_t> index;
    for (size_t i = 0; i < songs.size(); ++i) {
        byId.push_back({ songs[i].id, songs[i].audio, {} });
        index[songs[i].id] = static_cast<int64_t>(i);
    }
    encodec::SongSplit split = encodec::splitBySong(std::move(byId), o.seed, o.heldOutFraction);
    for (const auto& s : split.train) train->push_back(index[s.id]);
    for (const auto& s : split.heldOut) heldOut->push_back(index[s.id]);
}

Expected<void> exportModel(LmTrainer& trainer, const fs::path& dir, const nlohmann::json& config, int64_t maxLength,
    const fs::path& codecDir, const fs::path& spiece, int64_t pieces, int64_t sampleRate, bool bf16)
{
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) return Error::inFile(ErrorCode::Io, dir.string(), "cannot be created: " + error.message());
    std::map<std::string, at::Tensor> tensors = trainer.weights();
    if (bf16)
        for (auto& [name, tensor] : tensors)
            if (tensor.is_floating_point()) tensor = tensor.to(at::kBFloat16);
    Expected<SafetensorsCheckpoint> codec = SafetensorsCheckpoint::open(codecDir / "model.safetensors");
    if (!codec) return codec.error();
    // Only the codec's own tensors: the codec folder may be a whole MusicGen (train-lm --codec models/demo),
    // whose text encoder and decoder must not replace the ones just trained.
    for (const std::string& name : codec->names()) {
        if (name.rfind("audio_encoder.", 0) != 0) continue;
        Expected<at::Tensor> tensor = loadTensor(*codec, name);
        if (!tensor) return tensor.error();
        tensors[name] = *tensor;
    }
    TMK_TRY(saveTensors(dir / "model.safetensors", tensors, { { "format", "pt" } }));
    TMK_TRY(writeJsonFileAtomic(dir / "config.json", config));
    const int64_t pad = config["decoder"]["pad_token_id"].get<int64_t>();
    TMK_TRY(writeJsonFileAtomic(dir / "generation_config.json", lmtrain::generationConfigJson(pad, maxLength)));
    return lmtrain::writeTokenizerFiles(dir, spiece, pieces, sampleRate);
}

} // namespace

Expected<LmTrainResult> trainLm(
    const LmTrainOptions& options, const std::function<void(const LmTrainProgress&)>& progress)
{
    TMK_TRY(checkOptions(options));
    if (options.threads > 0) at::set_num_threads(options.threads);
    auto report = [&](LmTrainProgress p) {
        if (progress) progress(p);
    };
    std::error_code error;
    fs::create_directories(options.outDir, error);
    if (error) return Error::inFile(ErrorCode::Io, options.outDir.string(), "cannot be created: " + error.message());
    Expected<std::vector<WorldSong>> songs = lmtrain::readWorld(options.worldDir);
    if (!songs) return songs.error();
    if (options.maxSongs > 0 && static_cast<int64_t>(songs->size()) > options.maxSongs)
        songs->resize(static_cast<size_t>(options.maxSongs));

    if (options.initFrom.empty()) report({ "spm", 0, 1, 0.0, 0.0, 0.0 });
    Expected<fs::path> spiece = options.initFrom.empty()
        ? lmtrain::trainSentencepiece(*songs, options.outDir / "spm", options.shape.spmPieces)
        : Expected<fs::path>(options.initFrom / "spiece.model");
    if (!spiece) return spiece.error();
    Expected<T5Tokenizer> tokenizer = T5Tokenizer::load(*spiece);
    if (!tokenizer) return tokenizer.error();
    const int64_t pieces = tokenizer->pieceCount();
    report({ "spm", 1, 1, 0.0, 0.0, 0.0 });

    try {
        const auto f32 = at::TensorOptions().dtype(at::kFloat);
        Expected<Encodec> codec = encodec::loadEncodecFolder(options.codecDir, f32);
        if (!codec) return codec.error();
        const auto tokenizeStart = SteadyClock::now();
        Expected<std::string> codecHash = fileContentHash(options.codecDir / "model.safetensors");
        if (!codecHash) return codecHash.error();
        Expected<at::Tensor> codes
            = lmtrain::tokenizeSongs(*songs, *codec, *codecHash, options.outDir / "tokens.safetensors",
                options.threads > 0 ? options.threads : at::get_num_threads(), [&](int64_t done, int64_t total) {
                    const double elapsed = secondsSince(tokenizeStart);
                    const double rate = static_cast<double>(done) / std::max(elapsed, 1e-9);
                    report({ "tokenize", done, total, 0.0, rate, static_cast<double>(total - done) / rate });
                });
        if (!codes) return codes.error();
        *codes = codes->to(at::kLong);

        Expected<nlohmann::json> codecConfig = readJsonFile(options.codecDir / "config.json");
        if (!codecConfig) return codecConfig.error();
        if (!codecConfig->contains("audio_encoder"))
            return Error::inFile(ErrorCode::Format, (options.codecDir / "config.json").string(),
                "has no \"audio_encoder\" section (is it train-codec's codec/ folder?)");
        const nlohmann::json configJson
            = lmtrain::musicgenConfigJson((*codecConfig)["audio_encoder"], options.shape, pieces);
        Expected<MusicgenConfig> config = MusicgenConfig::parse(configJson.dump(), "the new model's config.json");
        if (!config) return config.error();
        TMK_TRY(config->validate("the new model's config.json"));
        if (codes->size(1) != config->decoder.numCodebooks)
            return Error { ErrorCode::Mismatch,
                "the codec gives " + std::to_string(codes->size(1)) + " codebooks but its config implies "
                    + std::to_string(config->decoder.numCodebooks) };
        if (!options.codebookWeights.empty()
            && static_cast<int64_t>(options.codebookWeights.size()) != config->decoder.numCodebooks)
            return Error { ErrorCode::InvalidArgument,
                std::to_string(options.codebookWeights.size()) + " codebook weights were given, but the codec has "
                    + std::to_string(config->decoder.numCodebooks) + " codebooks" };

        const fs::path checkpoint = options.outDir / "checkpoint.safetensors";
        const std::string configText = configJson.dump();
        if (options.resume && fs::exists(checkpoint)) {
            Expected<WeightStore> previous = WeightStore::open(checkpoint);
            if (!previous) return previous.error();
            if (previous->metadataValue("config") != configText)
                return Error::inFile(ErrorCode::Mismatch, checkpoint.string(),
                    "was trained with another model shape, codec or tokenizer; start without --resume");
            if (previous->metadataValue("seed") != std::to_string(options.seed))
                return Error::inFile(ErrorCode::Mismatch, checkpoint.string(),
                    "was trained with seed " + previous->metadataValue("seed"));
        } else {
            Expected<std::map<std::string, at::Tensor>> initial = options.initFrom.empty()
                ? lmtrain::initialWeights(configJson, options.seed)
                : lmtrain::weightsFromModel(configJson, options.initFrom);
            if (!initial) return initial.error();
            TMK_TRY(saveTensors(checkpoint, *initial,
                { { "step", "0" }, { "adam_step", "0" }, { "seed", std::to_string(options.seed) },
                    { "config", configText } }));
        }
        Expected<WeightStore> store = WeightStore::open(checkpoint, WeightResidence::Copied); // rewritten as it trains
        if (!store) return store.error();
        Expected<T5Encoder> text = T5Encoder::load(*store, *config, f32);
        if (!text) return text.error();
        Expected<MusicgenDecoder> decoder = MusicgenDecoder::load(*store, *config, f32);
        if (!decoder) return decoder.error();
        if (options.mixedBf16) decoder->setProductDtype(at::kBFloat16);
        LmTrainer trainer(options, *config, *tokenizer, std::move(*text), std::move(*decoder));
        TMK_TRY(trainer.loadOptimiser(*store, checkpoint));

        std::vector<int64_t> train, heldOut;
        splitSongs(*songs, options, &train, &heldOut);
        const double bigram
            = heldOut.empty() ? NAN : lmtrain::bigramBaseline(*codes, train, heldOut, config->decoder.vocabSize);
        report({ "baseline", 0, 1, bigram, 0.0, 0.0 });
        auto framesIn = [&](double seconds) {
            return static_cast<int64_t>(
                std::lround(seconds * static_cast<double>(codec->sampleRate()) / codec->hopLength()));
        };
        const int64_t frames = std::max<int64_t>(1, framesIn(options.seconds));
        const int64_t openingFrames = std::min<int64_t>(frames, framesIn(kOpeningSeconds));
        const int64_t contrastFrames = std::max<int64_t>(1, framesIn(options.tagContrastSeconds));
        auto withContrastTag = [&](const std::vector<int64_t>& which) {
            std::vector<int64_t> out;
            for (int64_t song : which)
                if (lmtrain::hasContrastTag((*songs)[static_cast<size_t>(song)].prompt)) out.push_back(song);
            return out;
        };
        const std::vector<int64_t> trainContrast = withContrastTag(train), heldOutContrast = withContrastTag(heldOut);
        if (options.tagContrast > 0.0 && trainContrast.empty())
            return Error::inFile(ErrorCode::InvalidArgument, (options.worldDir / "prompts.csv").string(),
                "has no training prompt with a tempo, production or mood tag to contrast (--tag-contrast)");
        const size_t tagColumn = trainer.columns().size() - kLmTagColumns.size();
        auto evalRow = [&](std::vector<float>& row) {
            using Text = LmTrainer::Text;
            auto crops = [&](const std::vector<int64_t>& which, Text text, uint64_t stream) {
                return static_cast<float>(trainer.evaluate(*codes, *songs, which, frames, text, stream).mean);
            };
            // The text matters most where generation starts from nothing: the songs' first second.
            auto openings = [&](Text text) {
                return static_cast<float>(
                    trainer.evaluate(*codes, *songs, heldOut, openingFrames, text, ~0ULL - 2, true).mean);
            };
            row[3] = crops(train, Text::Own, ~0ULL - 1);
            const LmTrainer::Evaluation own = trainer.evaluate(*codes, *songs, heldOut, frames, Text::Own, ~0ULL);
            row[4] = static_cast<float>(own.mean);
            for (size_t k = 0; k < own.codebooks.size(); ++k)
                row[kLmCurveColumns.size() + k] = static_cast<float>(own.codebooks[k]);
            row[5] = crops(heldOut, Text::None, ~0ULL);
            row[6] = openings(Text::Own);
            row[7] = openings(Text::None);
            row[8] = crops(heldOut, Text::Other, ~0ULL);
            row[9] = openings(Text::Other);
            const LmTrainer::TagEvaluation tags
                = trainer.evaluateTags(*codes, *songs, heldOutContrast, contrastFrames, ~0ULL - 3);
            row[tagColumn + 1] = static_cast<float>(tags.right);
            row[tagColumn + 2] = static_cast<float>(tags.margin);
        };
        const int64_t first = trainer.step;
        const auto start = SteadyClock::now();
        double stepsPerSecond = 0.0;
        const int64_t last = options.stopAt > 0 ? std::min(options.stopAt, options.steps) : options.steps;
        while (trainer.step < last) {
            const double lr = trainer.learningRate();
            const Batch batch = trainer.trainBatch(*codes, *songs, train, frames);
            Batch contrast;
            if (options.tagContrast > 0.0)
                contrast = trainer.contrastBatch(*codes, *songs, trainContrast, contrastFrames,
                    kContrastStreams + static_cast<uint64_t>(trainer.step));
            const LmTrainer::StepLosses losses
                = trainer.trainStep(batch, options.tagContrast > 0.0 ? &contrast : nullptr);
            const double loss = losses.crossEntropy;
            std::vector<float> row(trainer.columns().size(), NAN);
            row[0] = static_cast<float>(trainer.step);
            row[1] = static_cast<float>(loss);
            row[2] = static_cast<float>(lr);
            row[tagColumn] = static_cast<float>(losses.tagContrast);
            // Evaluate on the checkpoint grid and at the schedule's end; a --stop-at stop only saves, so a
            // stopped and resumed run writes the same history as one that never stopped.
            const bool evaluateNow = trainer.step % options.checkpointEvery == 0 || trainer.step == options.steps;
            const bool checkpointNow = evaluateNow || trainer.step == last;
            if (evaluateNow) evalRow(row);
            trainer.history.push_back(row);
            const double elapsed = secondsSince(start);
            stepsPerSecond = static_cast<double>(trainer.step - first) / std::max(elapsed, 1e-9);
            if (trainer.step % options.logEvery == 0 || trainer.step == options.steps)
                report({ "train", trainer.step, options.steps, loss, stepsPerSecond,
                    static_cast<double>(options.steps - trainer.step) / std::max(stepsPerSecond, 1e-9),
                    losses.tagContrast });
            if (checkpointNow) {
                TMK_TRY(trainer.saveCheckpoint(checkpoint, configText));
                TMK_TRY(trainer.writeCurves(options.outDir));
            }
        }
        LmTrainResult result;
        result.bigramBaseline = bigram;
        result.steps = trainer.step;
        result.stepsPerSecond = stepsPerSecond;
        if (trainer.step < options.steps) return result; // stopped early: no model folder yet
        // The last row holds every evaluation unless the run ended off the checkpoint grid or its checkpoint
        // predates a column: evaluate now, into that row when it is this step's.
        const bool evaluated = !trainer.history.empty()
            && std::all_of(trainer.history.back().begin() + 3, trainer.history.back().begin() + tagColumn,
                [](float v) { return std::isfinite(v); })
            && (heldOutContrast.empty() || std::isfinite(trainer.history.back()[tagColumn + 1]));
        if (!evaluated) {
            if (trainer.history.empty() || trainer.history.back()[0] != trainer.step) {
                trainer.history.emplace_back(trainer.columns().size(), NAN);
                trainer.history.back()[0] = static_cast<float>(trainer.step);
            }
            evalRow(trainer.history.back());
            TMK_TRY(trainer.writeCurves(options.outDir));
        }
        const std::vector<float>& lastRow = trainer.history.back();
        const int64_t maxLength = frames + config->decoder.numCodebooks;
        TMK_TRY(exportModel(trainer, options.outDir / "model", configJson, maxLength, options.codecDir, *spiece, pieces,
            codec->sampleRate(), options.exportBf16));
        result.trainSongs = static_cast<int64_t>(train.size());
        result.heldOutSongs = static_cast<int64_t>(heldOut.size());
        result.trainLoss = lastRow[3];
        result.heldOutLoss = lastRow[4];
        result.heldOutUnconditional = lastRow[5];
        result.heldOutOpening = lastRow[6];
        result.heldOutOpeningUnconditional = lastRow[7];
        result.heldOutOtherPrompt = lastRow[8];
        result.heldOutOpeningOtherPrompt = lastRow[9];
        result.heldOutCodebooks.assign(lastRow.begin() + static_cast<std::ptrdiff_t>(kLmCurveColumns.size()),
            lastRow.begin() + static_cast<std::ptrdiff_t>(tagColumn));
        result.heldOutTagRight = lastRow[tagColumn + 1];
        result.heldOutTagMargin = lastRow[tagColumn + 2];
        result.modelDir = options.outDir / "model";
        return result;
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, std::string("LM training failed: ") + e.what_without_backtrace() };
    }
}

} // namespace tmk
