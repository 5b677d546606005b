// trainCodec: the training loop, checkpoints (atomic, exact resume) and the exported codec folder.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/zeros.h>

#include "codec/codec_data.h"
#include "codec/codec_losses.h"
#include "codec/codec_plot.h"
#include "codec/encodec_train.h"
#include "codec/loss_history.h"
#include "codec/stft_discriminator.h"
#include "core/stopwatch.h"
#include "tastemaker/codec_training.h"
#include "tastemaker/fileio.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"
#include "training/optimizer.h"

namespace tmk {

namespace fs = std::filesystem;
using encodec::TrainableEncodec;

namespace {

// Columns of loss.csv and of the checkpoint's "history" tensor.
const std::vector<std::string> kColumns
    = { "step", "loss", "waveform_l1", "log_mel", "log_stft", "chroma", "commitment", "held_out", "restarted_codes",
          "spectral_convergence", "adversarial", "feature_matching", "discriminator" };
constexpr size_t kColumnsBeforeAdversarial = 10;

// The discriminator's STFT sizes at 16 kHz (EnCodec's 2048, 1024, 512 at 24 kHz and up, halved) and width.
const std::vector<int64_t> kDiscriminatorFfts = { 1024, 512, 256 };
constexpr int64_t kDiscriminatorChannels = 32;

// A discriminator trains alongside when either of its loss terms has a weight.
bool adversarial(const CodecTrainOptions& o)
{
    return o.adversarialWeight > 0.0 || o.featureMatchingWeight > 0.0;
}

EncodecConfig makeConfig(const CodecShape& shape)
{
    EncodecConfig c;
    c.samplingRate = shape.sampleRate;
    c.numFilters = shape.numFilters;
    c.hiddenSize = shape.hiddenSize;
    c.codebookDim = shape.hiddenSize;
    c.codebookSize = shape.codebookSize;
    c.numLstmLayers = shape.lstmLayers;
    c.upsamplingRatios = shape.ratios;
    // HF: num_quantizers = floor(1000 * bw / (frame_rate * 10)); this bandwidth gives exactly `codebooks`.
    c.targetBandwidths = { static_cast<double>(shape.codebooks * c.frameRate() * 10) / 1000.0 };
    return c;
}

// An optimiser's state in a checkpoint: its moments under `prefix` + name + ".exp_avg" / ".exp_avg_sq", its step
// count in the metadata `stepKey`.
void storeAdam(const AdamW& adam, const std::vector<encodec::NamedTensor>& params, const std::string& prefix,
    const std::string& stepKey, std::map<std::string, at::Tensor>& tensors,
    std::map<std::string, std::string>& metadata)
{
    for (auto& [name, value] : adam.state(encodec::tensorNames(params))) tensors[prefix + name] = value;
    metadata[stepKey] = std::to_string(adam.stepCount());
}

Expected<void> restoreAdam(WeightStore& store, const fs::path& path, AdamW& adam,
    const std::vector<encodec::NamedTensor>& params, const std::string& prefix, const std::string& stepKey)
{
    std::map<std::string, at::Tensor> moments;
    for (const auto& p : params)
        for (const char* suffix : { ".exp_avg", ".exp_avg_sq" }) {
            Expected<at::Tensor> moment
                = store.get(prefix + p.name + suffix, p.value.sizes().vec(), at::TensorOptions().dtype(at::kFloat));
            if (!moment) return moment.error();
            moments[p.name + suffix] = *moment;
        }
    return adam.loadState(
        moments, encodec::tensorNames(params), std::stoll(store.metadataValue(stepKey)), path.string());
}

struct Trainer {
    const CodecTrainOptions& options;
    EncodecConfig config;
    TrainableEncodec codec;
    std::vector<at::Tensor> ema; // EMA of the parameters, same order
    AdamW adam;
    encodec::CodecLoss loss;
    encodec::CodecLossWeights weights;
    std::unique_ptr<encodec::StftDiscriminator> discriminator; // adversarial runs only
    std::unique_ptr<AdamW> discriminatorAdam;
    std::vector<std::vector<float>> history;
    int64_t step = 0;
    int64_t cropSamples = 0;

    Trainer(const CodecTrainOptions& o, const EncodecConfig& c)
        : options(o)
        , config(c)
        , codec(c, o.seed)
        , adam(codec.parameterTensors(), 0.0)
        , loss(c.samplingRate)
        , weights(o.loss)
    {
        for (const at::Tensor& p : codec.parameterTensors()) ema.push_back(p.detach().clone());
        if (adversarial(o)) {
            discriminator
                = std::make_unique<encodec::StftDiscriminator>(kDiscriminatorFfts, kDiscriminatorChannels, o.seed);
            discriminatorAdam = std::make_unique<AdamW>(discriminator->parameterTensors(), 0.0, 0.5, 0.9);
        }
        // A whole number of frames, so that the reconstruction is exactly as long as the crop.
        const int64_t hop = c.hopLength();
        cropSamples = hop * std::max<int64_t>(1, std::lround(o.seconds * static_cast<double>(c.samplingRate) / hop));
    }

    // One optimiser step; returns the history row (held_out NaN).
    std::vector<float> trainStep(const std::vector<encodec::Song>& songs)
    {
        const at::Tensor audio = encodec::randomCrops(songs, options.batch, cropSamples, options.seed, 2 * step);
        // A fresh run (a resumed one starts after step 0; one started from other weights keeps them).
        if (step == 0 && options.dataDependentInit && options.initFrom.empty()) {
            codec.dataDependentInit(audio);
            resetEmaToWeights();
        }
        at::Generator generator
            = at::make_generator<at::CPUGeneratorImpl>(encodec::mixSeed(options.seed, 2 * step + 1));
        encodec::QuantizeResult quantized;
        if (options.decoderOnly) { // the codes stay as they are: no gradient, no codebook update
            at::NoGradGuard noGrad;
            quantized = codec.quantize(codec.encode(audio), /*train=*/false, generator);
        } else {
            quantized = codec.quantize(codec.encode(audio), /*train=*/true, generator);
        }
        const at::Tensor reconstruction = codec.decode(quantized.quantized);
        encodec::CodecLossTerms t = loss.terms(audio, reconstruction);
        at::Tensor total = weights.waveformL1 * t.waveformL1 + weights.logMel * t.logMel + weights.logStft * t.logStft
            + weights.chroma * t.chroma + weights.spectralConvergence * t.spectralConvergence;
        if (!options.decoderOnly) total = total + weights.commitment * quantized.commitment;
        // The generator's adversarial terms against the current discriminator; then the discriminator's step.
        std::vector<encodec::StftDiscriminator::ScaleOutput> real;
        float adversarial = NAN, featureMatching = NAN, discriminatorLoss = NAN;
        if (discriminator) {
            real = discriminator->forward(audio);
            const auto fake = discriminator->forward(reconstruction);
            const at::Tensor adv = encodec::generatorHingeLoss(fake);
            const at::Tensor feat = encodec::featureMatchingLoss(real, fake);
            total = total + options.adversarialWeight * adv + options.featureMatchingWeight * feat;
            adversarial = adv.item<float>();
            featureMatching = feat.item<float>();
        }
        adam.zeroGrad();
        total.backward();
        clipGradNorm(codec.parameterTensors(), options.maxGradNorm);
        const double factor = learningRateFactor(LrSchedule::Constant, step, options.warmupSteps, options.steps);
        adam.step(options.learningRate * factor);
        if (discriminator) {
            discriminatorAdam->zeroGrad(); // drops what the generator's backward left in it
            const at::Tensor d = encodec::discriminatorHingeLoss(real, discriminator->forward(reconstruction.detach()));
            d.backward();
            clipGradNorm(discriminator->parameterTensors(), options.maxGradNorm);
            discriminatorAdam->step(options.discriminatorLearningRate * factor);
            discriminatorLoss = d.item<float>();
        }
        ++step;
        updateEma();
        return { static_cast<float>(step), total.item<float>(), t.waveformL1.item<float>(), t.logMel.item<float>(),
            t.logStft.item<float>(), t.chroma.item<float>(), quantized.commitment.item<float>(), NAN,
            static_cast<float>(quantized.restartedCodes), t.spectralConvergence.item<float>(), adversarial,
            featureMatching, discriminatorLoss };
    }

    void resetEmaToWeights()
    {
        at::NoGradGuard noGrad;
        const std::vector<at::Tensor> params = codec.parameterTensors();
        for (size_t i = 0; i < ema.size(); ++i) ema[i].copy_(params[i].detach());
    }

    void updateEma()
    {
        at::NoGradGuard noGrad;
        // Warm-up of the decay (as timm's ModelEmaV2 with warm-up): early weights are not averaged for long.
        const double decay = std::min(options.weightEma, (1.0 + step) / (10.0 + step));
        const std::vector<at::Tensor> params = codec.parameterTensors();
        for (size_t i = 0; i < ema.size(); ++i) {
            // A frozen weight (--decoder-only: the encoder) keeps its bits: decay·w + (1 − decay)·w is not
            // always w in floating point, and the codes must not move.
            if (options.decoderOnly && !params[i].grad().defined()) continue;
            ema[i].mul_(decay).add_(params[i].detach(), 1.0 - decay);
        }
    }

    // The reconstruction loss (no commitment) of the EMA weights on fixed held-out crops.
    double heldOutLoss(const std::vector<encodec::Song>& songs)
    {
        if (songs.empty()) return NAN;
        at::NoGradGuard noGrad;
        std::vector<at::Tensor> saved = codec.parameterTensors();
        for (size_t i = 0; i < ema.size(); ++i) codec.parameters()[i].value = ema[i];
        const at::Tensor audio = encodec::randomCrops(songs, options.batch, cropSamples, options.seed, ~0ULL);
        at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
        encodec::QuantizeResult quantized = codec.quantize(codec.encode(audio), /*train=*/false, generator);
        encodec::CodecLossTerms t = loss.terms(audio, codec.decode(quantized.quantized));
        for (size_t i = 0; i < ema.size(); ++i) codec.parameters()[i].value = saved[i];
        return (weights.waveformL1 * t.waveformL1 + weights.logMel * t.logMel + weights.logStft * t.logStft
            + weights.chroma * t.chroma + weights.spectralConvergence * t.spectralConvergence)
            .item<double>();
    }

    Expected<void> saveCheckpoint(const fs::path& path) const
    {
        std::map<std::string, at::Tensor> tensors = codec.stateDict(&ema); // EMA weights + codebooks, HF names
        for (const auto& p : codec.parameters()) tensors["train." + p.name] = p.value.detach();
        tensors["history"] = lossHistoryTensor(history, kColumns.size());
        std::map<std::string, std::string> metadata = { { "step", std::to_string(step) },
            { "seed", std::to_string(options.seed) }, { "encodec_config", encodec::encodecConfigJson(config) } };
        storeAdam(adam, codec.parameters(), "adam.", "adam_step", tensors, metadata);
        if (discriminator) {
            for (const auto& p : discriminator->parameters()) tensors["disc." + p.name] = p.value.detach();
            storeAdam(
                *discriminatorAdam, discriminator->parameters(), "disc_adam.", "disc_adam_step", tensors, metadata);
        }
        return saveTensors(path, tensors, metadata);
    }

    Expected<void> loadCheckpoint(const fs::path& path);
    Expected<void> loadInitialWeights(const fs::path& path);
    Expected<void> writeOutputs(const fs::path& dir) const;
};

namespace {

// Reads `prefix` + name of each tensor from `store`, at the tensor's shape, into state[name] (the store's error,
// naming the file and the tensor, when one is missing or has another shape).
Expected<void> readNamedTensors(WeightStore& store, const std::vector<encodec::NamedTensor>& tensors,
    const std::string& prefix, std::map<std::string, at::Tensor>& state)
{
    for (const auto& t : tensors) {
        Expected<at::Tensor> value
            = store.get(prefix + t.name, t.value.sizes().vec(), at::TensorOptions().dtype(at::kFloat));
        if (!value) return value.error();
        state[t.name] = *value;
    }
    return {};
}

} // namespace

Expected<void> Trainer::loadInitialWeights(const fs::path& path)
{
    std::error_code error;
    const fs::path file = fs::is_directory(path, error) ? path / "model.safetensors" : path;
    Expected<WeightStore> store = WeightStore::open(file, WeightResidence::Copied);
    if (!store) return store.error();
    std::map<std::string, at::Tensor> state;
    TMK_TRY(readNamedTensors(*store, codec.parameters(), "", state));
    TMK_TRY(readNamedTensors(*store, codec.buffers(), "", state));
    TMK_TRY(codec.loadStateDict(state, file.string()));
    resetEmaToWeights();
    return {};
}

Expected<void> Trainer::loadCheckpoint(const fs::path& path)
{
    Expected<WeightStore> store = WeightStore::open(path, WeightResidence::Copied); // rewritten as it trains
    if (!store) return store.error();
    if (store->metadataValue("encodec_config") != encodec::encodecConfigJson(config))
        return Error::inFile(ErrorCode::Mismatch, path.string(), "was trained with another codec shape");
    if (store->metadataValue("seed") != std::to_string(options.seed))
        return Error::inFile(
            ErrorCode::Mismatch, path.string(), "was trained with seed " + store->metadataValue("seed"));
    const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
    std::map<std::string, at::Tensor> state;
    TMK_TRY(readNamedTensors(*store, codec.parameters(), "train.", state));
    TMK_TRY(readNamedTensors(*store, codec.buffers(), "", state));
    TMK_TRY(codec.loadStateDict(state, path.string()));
    for (size_t i = 0; i < ema.size(); ++i) {
        Expected<at::Tensor> value = store->get(codec.parameters()[i].name, ema[i].sizes().vec(), f32);
        if (!value) return value.error();
        ema[i].copy_(*value);
    }
    step = std::stoll(store->metadataValue("step"));
    TMK_TRY(restoreAdam(*store, path, adam, codec.parameters(), "adam.", "adam_step"));
    Expected<LossHistory> rows = readLossHistory(*store, step, kColumns.size(), { kColumnsBeforeAdversarial });
    if (!rows) return rows.error();
    history = std::move(*rows);
    // A discriminator continues from the checkpoint when it has one (a run that turns adversarial training on
    // at a resume starts it afresh).
    if (discriminator && !store->metadataValue("disc_adam_step").empty()) {
        std::map<std::string, at::Tensor> weights;
        TMK_TRY(readNamedTensors(*store, discriminator->parameters(), "disc.", weights));
        at::NoGradGuard noGrad;
        for (auto& p : discriminator->parameters()) p.value.copy_(weights.at(p.name));
        TMK_TRY(
            restoreAdam(*store, path, *discriminatorAdam, discriminator->parameters(), "disc_adam.", "disc_adam_step"));
    }
    return {};
}

Expected<void> Trainer::writeOutputs(const fs::path& dir) const
{
    TMK_TRY(writeFileAtomic(dir / "loss.csv", lossHistoryCsv(kColumns, history)));
    std::vector<std::pair<double, double>> train, heldOut;
    for (const auto& row : history) {
        train.emplace_back(row[0], row[1]);
        if (std::isfinite(row[7])) heldOut.emplace_back(row[0], row[7]);
    }
    return writeLossPlotPng(dir / "loss.png", { train, heldOut });
}

Expected<encodec::SongSplit> loadData(const CodecTrainOptions& options, int sampleRate)
{
    Expected<std::vector<encodec::Song>> songs
        = options.worldDir.empty() ? encodec::listAudioFolder(options.audioDir) : encodec::listWorld(options.worldDir);
    if (!songs) return songs.error();
    encodec::SongSplit split = encodec::splitBySong(std::move(*songs), options.seed, options.heldOutFraction);
    TMK_TRY(encodec::loadSongs(split.train, sampleRate));
    TMK_TRY(encodec::loadSongs(split.heldOut, sampleRate));
    return split;
}

Expected<void> checkOptions(const CodecTrainOptions& o)
{
    if (o.audioDir.empty() == o.worldDir.empty())
        return Error { ErrorCode::InvalidArgument, "give exactly one of an audio folder and a world folder" };
    if (o.outDir.empty()) return Error { ErrorCode::InvalidArgument, "no output folder given" };
    if (o.steps < 1 || o.batch < 1 || o.seconds <= 0.0 || o.checkpointEvery < 1 || o.logEvery < 1)
        return Error { ErrorCode::InvalidArgument,
            "steps, batch, seconds, checkpoint and log intervals must be positive" };
    if (!(o.adversarialWeight >= 0.0) || !(o.featureMatchingWeight >= 0.0) || !(o.discriminatorLearningRate >= 0.0))
        return Error { ErrorCode::InvalidArgument,
            "the adversarial and feature-matching weights and the discriminator's learning rate must not be negative" };
    if (o.decoderOnly && o.initFrom.empty() && !(o.resume && fs::exists(o.outDir / "checkpoint.safetensors")))
        return Error { ErrorCode::InvalidArgument,
            "training the decoder only needs the codec to start from (--init-from) or a checkpoint to resume" };
    const int64_t crop = std::lround(o.seconds * static_cast<double>(o.shape.sampleRate));
    if (adversarial(o) && crop < kDiscriminatorFfts.front())
        return Error { ErrorCode::InvalidArgument,
            "adversarial training needs crops of at least " + std::to_string(kDiscriminatorFfts.front())
                + " samples (the discriminator's largest STFT)" };
    return {};
}

} // namespace

Expected<CodecTrainResult> trainCodec(
    const CodecTrainOptions& options, const std::function<void(const CodecTrainProgress&)>& progress)
{
    TMK_TRY(checkOptions(options));
    if (options.threads > 0) at::set_num_threads(options.threads);
    const EncodecConfig config = makeConfig(options.shape);
    if (config.numQuantizers() != options.shape.codebooks)
        return Error { ErrorCode::InvalidArgument,
            "no target bandwidth gives exactly " + std::to_string(options.shape.codebooks)
                + " codebooks at this frame rate" };
    Expected<encodec::SongSplit> split = loadData(options, static_cast<int>(config.samplingRate));
    if (!split) return split.error();
    std::error_code error;
    fs::create_directories(options.outDir, error);
    if (error) return Error::inFile(ErrorCode::Io, options.outDir.string(), "cannot be created: " + error.message());
    const fs::path checkpoint = options.outDir / "checkpoint.safetensors";
    try {
        Trainer trainer(options, config);
        if (options.resume && fs::exists(checkpoint))
            TMK_TRY(trainer.loadCheckpoint(checkpoint));
        else if (!options.initFrom.empty())
            TMK_TRY(trainer.loadInitialWeights(options.initFrom));
        const int64_t first = trainer.step;
        const int64_t evalEvery = options.evalEvery > 0 ? options.evalEvery : options.checkpointEvery;
        const auto start = SteadyClock::now();
        double stepsPerSecond = 0.0;
        while (trainer.step < options.steps) {
            std::vector<float> row = trainer.trainStep(split->train);
            if (trainer.step % evalEvery == 0 || trainer.step == options.steps)
                row[7] = static_cast<float>(trainer.heldOutLoss(split->heldOut));
            trainer.history.push_back(row);
            const double elapsed = secondsSince(start);
            stepsPerSecond = static_cast<double>(trainer.step - first) / std::max(elapsed, 1e-9);
            if (progress && (trainer.step % options.logEvery == 0 || trainer.step == options.steps))
                progress({ trainer.step, options.steps, row[1], stepsPerSecond,
                    static_cast<double>(options.steps - trainer.step) / std::max(stepsPerSecond, 1e-9) });
            if (trainer.step % options.checkpointEvery == 0 || trainer.step == options.steps) {
                TMK_TRY(trainer.saveCheckpoint(checkpoint));
                TMK_TRY(trainer.writeOutputs(options.outDir));
            }
        }
        TMK_TRY(encodec::saveEncodecFolder(trainer.codec, options.outDir / "codec", &trainer.ema));
        CodecTrainResult result;
        result.steps = trainer.step;
        result.trainSongs = static_cast<int64_t>(split->train.size());
        result.heldOutSongs = static_cast<int64_t>(split->heldOut.size());
        result.finalLoss = trainer.history.empty() ? NAN : trainer.history.back()[1];
        result.stepsPerSecond = stepsPerSecond;
        result.codecDir = options.outDir / "codec";
        return result;
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, std::string("codec training failed: ") + e.what_without_backtrace() };
    }
}

} // namespace tmk
