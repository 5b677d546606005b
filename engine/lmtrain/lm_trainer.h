// The LM trainer (internal to engine/lmtrain): the engine's T5Encoder and MusicgenDecoder switched to autograd,
// AdamW over their tensors, the training batches and steps (cross-entropy, tag contrast), the evaluations and the
// checkpoint. trainLm (lm_trainer.cpp) runs the stages around it; the larger methods are in
// lm_trainer_steps.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>

#include "codec/codec_data.h"
#include "codec/loss_history.h"
#include "core/model_config.h"
#include "lm/decoder.h"
#include "lmtrain/lm_data.h"
#include "tastemaker/error.h"
#include "tastemaker/lm_training.h"
#include "tensorio/torch/weights.h"
#include "text/t5_encoder.h"
#include "text/tokenizer.h"
#include "training/optimizer.h"
#include "training/sequence_logprob.h"

namespace tmk::lmtrain {

// Columns of loss.csv and of the checkpoint's "history" tensor. The eval columns are filled at checkpoints:
// these, then the held-out crops' cross-entropy of each codebook (held_out_codebook_<k>, one per codebook).
inline const std::vector<std::string> kLmCurveColumns
    = { "step", "loss", "lr", "train_eval", "held_out", "held_out_unconditional", "held_out_opening",
          "held_out_opening_unconditional", "held_out_other_prompt", "held_out_opening_other_prompt" };
// After the per-codebook columns: the step's tag-contrast loss (NaN when off), and at checkpoints the held-out
// tag contrast (LmTrainResult::heldOutTagRight, heldOutTagMargin).
inline const std::vector<std::string> kLmTagColumns = { "tag_contrast", "held_out_tag_right", "held_out_tag_margin" };

std::vector<std::string> lmCurveColumns(int64_t codebooks);
// Checkpoints written before the tag columns hold the first 10 + K, before the per-codebook columns the first
// 10, before the other-prompt columns the first 8; their rows are read with the rest left NaN.
std::vector<size_t> lmCurveColumnsBefore(int64_t codebooks);
constexpr double kOpeningSeconds = 1.0; // the opening evaluation: each held-out song's first second
constexpr int64_t kEvalCrops = 32;
// Random streams: step s's batch draws from stream s, its tag-contrast batch from kContrastStreams + s, the
// evaluations from the top streams (~0, ~1, ...).
constexpr uint64_t kContrastStreams = 1ULL << 62;

// The decoder's sinusoidal position table: a fixed buffer, not trained.
bool isPositionTable(const std::string& name);

struct Batch {
    at::Tensor codes; // [B, K, T] int64
    at::Tensor inputCodes; // [B, K, T] what the decoder reads (codes with input dropout), or undefined: codes
    std::vector<std::string> prompts;
    std::vector<bool> unconditional;
};

class LmTrainer {
public:
    LmTrainer(const LmTrainOptions& options, const MusicgenConfig& config, const T5Tokenizer& tokenizer, T5Encoder text,
        MusicgenDecoder decoder)
        : m_options(options)
        , m_config(config)
        , m_tokenizer(tokenizer)
        , m_columns(lmCurveColumns(config.decoder.numCodebooks))
        , m_codebookWeights(codebookWeightTensor(options.codebookWeights))
        , m_text(std::move(text))
        , m_decoder(std::move(decoder))
        , m_trainable(trainable())
        , m_adam(m_trainable, options.weightDecay)
    {
        if (options.textLrScale != 1.0) m_adam.setLearningRateScales(textPathScales(options.textLrScale));
    }

    int64_t step = 0;
    LossHistory history;

    struct StepLosses {
        double crossEntropy = NAN;
        double tagContrast = NAN; // NaN without a contrast batch
    };

    const std::vector<std::string>& columns() const { return m_columns; }

    // The log-probability of every code of the batch, with autograd when grad mode is on.
    TokenLogProbs score(const Batch& batch)
    {
        PromptTokens tokens = tokenizePrompts(m_tokenizer, batch.prompts, at::kCPU);
        for (size_t b = 0; b < batch.unconditional.size(); ++b)
            if (batch.unconditional[b]) tokens.mask[static_cast<int64_t>(b)].zero_(); // the generator's null branch
        at::Tensor states = m_text.forwardWithGrad(tokens.ids, tokens.mask); // [B, S, Dt]
        at::Tensor projected = m_decoder.projectEncoder(states, tokens.mask); // [B, S, H], zero where masked
        return teacherForcedLogProbs(m_decoder, projected, tokens.mask, batch.codes, batch.inputCodes);
    }

    // Mean cross-entropy (nats per token) over every real code.
    static at::Tensor crossEntropy(const TokenLogProbs& scored)
    {
        return -(scored.logProbs.sum() / scored.valid.sum().to(at::kFloat));
    }

    // [K]: the mean cross-entropy of each codebook's real codes (logProbs' row b*K + k is codebook k).
    at::Tensor codebookCrossEntropies(const TokenLogProbs& scored) const
    {
        const int64_t k = m_config.decoder.numCodebooks;
        const at::Tensor sums
            = scored.logProbs.reshape({ -1, k, scored.logProbs.size(1) }).sum(at::IntArrayRef { 0, 2 });
        const at::Tensor counts = scored.valid.reshape({ -1, k, scored.valid.size(1) }).sum(at::IntArrayRef { 0, 2 });
        return -(sums / counts.to(at::kFloat));
    }

    // The training loss: the mean cross-entropy, or with codebook weights the weighted mean of the codebooks'.
    at::Tensor trainingLoss(const TokenLogProbs& scored) const
    {
        if (!m_codebookWeights.defined()) return crossEntropy(scored);
        return (codebookCrossEntropies(scored) * m_codebookWeights).sum() / m_codebookWeights.sum();
    }

    Batch trainBatch(const at::Tensor& codes, const std::vector<WorldSong>& songs, const std::vector<int64_t>& train,
        int64_t frames);

    // Word dropout: each code replaced by the pad id with probability inputDropout (drawn from the step's
    // generator, so a resumed run draws the same).
    at::Tensor dropInputs(const at::Tensor& codes, std::mt19937_64& random) const;

    // The tag-contrast batch of this step (LmTrainOptions::tagContrast): `tagContrastBatch` openings of songs
    // from `eligible` (train songs whose prompts hold a contrast tag), read twice: rows [0, B) with their own
    // prompts, rows [B, 2B) with one contrast tag swapped. Drawn from its own stream, so the cross-entropy
    // batches are those of a run without it.
    Batch contrastBatch(const at::Tensor& codes, const std::vector<WorldSong>& songs,
        const std::vector<int64_t>& eligible, int64_t frames, uint64_t stream)
    {
        std::mt19937_64 random(encodec::mixSeed(m_options.seed, stream));
        return contrastRows(
            codes, songs, eligible, m_options.tagContrastBatch, frames, m_options.tagContrastOtherDropout, random);
    }

    // Own minus swapped log-likelihood of each opening of a contrast batch (rows [0, B) against [B, 2B)).
    static at::Tensor contrastMargins(const TokenLogProbs& scored, int64_t items)
    {
        const at::Tensor sums = scored.logProbs.reshape({ 2 * items, -1 }).sum(1);
        return sums.narrow(0, 0, items) - sums.narrow(0, items, items);
    }

    StepLosses trainStep(const Batch& batch, const Batch* contrast = nullptr);

    struct TagEvaluation {
        double right = NAN; // share of openings whose own prompt is the likelier
        double margin = NAN; // mean own - swapped, nats per opening
    };

    // The tag contrast on fixed openings of `eligible` songs (the same every time: seeded by `stream`).
    TagEvaluation evaluateTags(const at::Tensor& codes, const std::vector<WorldSong>& songs,
        const std::vector<int64_t>& eligible, int64_t frames, uint64_t stream);

    double learningRate() const
    {
        return m_options.learningRate
            * learningRateFactor(LrSchedule::Cosine, step, m_options.warmupSteps, m_options.steps);
    }

    // What the evaluation crops are read with: their own full prompts, no text (the null branch), or another
    // crop's prompt (the next song of the batch). The last against the first is what the text is worth to the
    // conditional branch alone, free of how well the unconditional branch is trained.
    enum class Text { Own, None, Other };

    struct Evaluation {
        double mean = NAN; // nats per token over every real code
        std::vector<double> codebooks; // the same per codebook
    };

    // Mean cross-entropy over fixed crops (the same every time: seeded by `stream`); with `opening`, every crop
    // is a song's first `frames`. Unweighted, whatever the training's codebook weights.
    Evaluation evaluate(const at::Tensor& codes, const std::vector<WorldSong>& songs, const std::vector<int64_t>& which,
        int64_t frames, Text text, uint64_t stream, bool opening = false);

    // Every weight under its Hugging Face name (the text encoder's q/k/v split out again).
    std::map<std::string, at::Tensor> weights();

    Expected<void> saveCheckpoint(const std::filesystem::path& path, const std::string& configJson);

    Expected<void> loadOptimiser(WeightStore& store, const std::filesystem::path& path);

    Expected<void> writeCurves(const std::filesystem::path& dir) const;

private:
    // `items` openings of `eligible` songs, read with their prompts (each tag but the genre and the contrast tags
    // dropped with probability `otherTagDropout`) and then with one contrast tag swapped.
    Batch contrastRows(const at::Tensor& codes, const std::vector<WorldSong>& songs,
        const std::vector<int64_t>& eligible, int64_t items, int64_t frames, double otherTagDropout,
        std::mt19937_64& random) const;

    // The optimiser's tensors: the text encoder's leaves, then every decoder tensor but the position table.
    std::vector<at::Tensor> trainable();
    // textLrScale for the text encoder's tensors, enc_to_dec_proj and every cross-attention tensor; 1 for the
    // rest, in trainable()'s order.
    std::vector<double> textPathScales(double scale);
    std::vector<std::string> optimiserNames();

    const LmTrainOptions& m_options;
    const MusicgenConfig& m_config;
    const T5Tokenizer& m_tokenizer;
    const std::vector<std::string> m_columns;
    const at::Tensor m_codebookWeights; // [K] float32, or undefined: every code counts the same
    T5Encoder m_text;
    MusicgenDecoder m_decoder;
    std::vector<at::Tensor> m_trainable; // the optimiser's tensors (trainable()), made once
    AdamW m_adam;
};

} // namespace tmk::lmtrain
