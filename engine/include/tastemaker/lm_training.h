// Training a small MusicGen from scratch on a rendered world (issue 14): the world's audio is tokenized with
// a codec from train-codec, a sentencepiece model is trained on its prompts (Debian's spm_train), and a
// T5 encoder and a MusicGen decoder are trained together with teacher forcing, classifier-free-guidance
// dropout and tag dropout. The result is a checkpoint folder in the exact Hugging Face layout.
// Torch-free interface; see docs/lm-training.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

struct LmShape {
    // The MusicGen decoder.
    int64_t layers = 6;
    int64_t hidden = 256;
    int64_t heads = 4;
    int64_t ffn = 1024;
    // The T5 text encoder (relu feed-forward, as t5-base).
    int64_t textLayers = 2;
    int64_t textModel = 128;
    int64_t textHeads = 4;
    int64_t textKv = 32;
    int64_t textFf = 512;
    // sentencepiece pieces asked of spm_train (fewer when the prompts hold fewer; a closed vocabulary does).
    int64_t spmPieces = 256;
};

struct LmTrainOptions {
    std::filesystem::path worldDir; // tracks.csv, prompts.csv, audio/<track_id>.wav
    std::filesystem::path codecDir; // train-codec's codec/ folder (config.json + model.safetensors)
    std::filesystem::path outDir; // the run folder
    int64_t maxSongs = 0; // > 0: only the first N songs of tracks.csv (tokenizing costs about a CPU-second a song)
    LmShape shape;
    int64_t steps = 4000; // the schedule's length
    int64_t stopAt = 0; // > 0: stop after this step with a checkpoint (a later --resume continues exactly)
    int64_t batch = 8;
    double seconds = 10.0; // crop length of each training sequence
    uint64_t seed = 0;
    bool resume = false;
    int threads = 0; // 0: leave libtorch's default
    double learningRate = 1e-3;
    int64_t warmupSteps = 200;
    double maxGradNorm = 1.0;
    double weightDecay = 0.01;
    double cfgDropout = 0.3; // share of sequences trained unconditionally (text states and mask zeroed)
    double genreOnly = 0.2; // share of prompts cut to the genre (track_genre), as pairs' prompts are
    double tagDropout = 0.25; // each tag after the genre is dropped with this probability
    // Share of training crops that start at the song's first frame, as a generation starts from nothing, where
    // the decoder has only the text to go by (0: uniform offsets, as the demo model was trained).
    double startShare = 0.0;
    // The learning rate of the text path (the T5 encoder, enc_to_dec_proj and the decoder's cross-attention),
    // as a multiple of the decoder's: the text path starts from scratch and gets its gradient only through the
    // cross-attention, while the decoder learns from every token.
    double textLrScale = 1.0;
    // Share of the decoder's input codes replaced by the pad token in training (word dropout; the targets stay
    // whole). The audio already made is then an unreliable guide to the song's genre, tempo and instruments,
    // so the decoder has to read them from the text too. 0: clean inputs, as the demo model was trained.
    double inputDropout = 0.0;
    // The training loss's weight of each codebook's mean cross-entropy (one per codebook, normalised by their
    // sum). Empty: the mean over every code, as every run before this option. The first codebook carries the
    // notes and the beat; the residual ones are close to noise for a small model (docs/lm-training.md).
    std::vector<double> codebookWeights;
    // Mixed precision: the decoder's matrix products in bfloat16 with float32 master weights, optimiser and
    // losses (MusicgenDecoder::setProductDtype). On a CPU with AMX or AVX-512-BF16 a step is several times
    // faster (docs/lm-training.md); elsewhere it may be slower. The text encoder stays float32.
    bool mixedBf16 = false;
    // Tag contrast, a maximum-mutual-information term: the weight of a second loss on `tagContrastBatch` train
    // songs' first `tagContrastSeconds` each step. Each opening is scored under its own prompt and under the
    // prompt with one tempo, production or mood tag swapped for an opposite (lmtrain::swapContrastTag); the
    // loss is softplus(log p(codes | swapped) - log p(codes | own)), summed over the opening's codes: the
    // cross-entropy of the tag as the model itself reads it from the audio, with equal priors. Cross-entropy
    // alone teaches those words little, because the decoder reads tempo and mode from the audio it has already
    // made (docs/lm-training.md). 0: off.
    double tagContrast = 0.0;
    int64_t tagContrastBatch = 8;
    double tagContrastSeconds = 2.0;
    // In the contrast's prompts, each tag but the genre and the contrast tags is dropped with this probability.
    // A training song's whole prompt is nearly unique in the world (4,148 prompts for 4,800 songs), so a model
    // that has memorised which song goes with which prompt tells its own prompt from a swapped one without
    // knowing what the swapped word means; fewer tags make the prompts shared by many songs.
    double tagContrastOtherDropout = 0.75;
    // A fine-tune: a new run (no checkpoint yet) starts from this MusicGen folder's text encoder, projection
    // and decoder (lmtrain::weightsFromModel) and uses its spiece.model instead of training one. It must have
    // this run's shape; give it again to resume. Empty: weights drawn from `seed`.
    std::filesystem::path initFrom;
    double heldOutFraction = 0.1;
    int64_t checkpointEvery = 200;
    int64_t logEvery = 10;
    // Store the text encoder, projection and decoder in bfloat16 in the exported model.safetensors (the codec
    // stays float32: its reconstruction is the most precision-sensitive part). Halves the LM's share of the file.
    bool exportBf16 = false;
};

struct LmTrainProgress {
    std::string stage; // "spm", "tokenize", "baseline" (loss: the bigram baseline), "train"
    int64_t done = 0;
    int64_t total = 0;
    double loss = 0.0; // train: the step's cross-entropy (nats/token)
    double perSecond = 0.0; // items (songs or steps) per second in this run
    double etaSeconds = 0.0;
    double tagContrast = std::numeric_limits<double>::quiet_NaN(); // train: the step's tag-contrast loss, if on
};

struct LmTrainResult {
    int64_t steps = 0;
    int64_t trainSongs = 0;
    int64_t heldOutSongs = 0;
    double trainLoss = 0.0; // conditional cross-entropy on fixed train crops, nats/token
    double heldOutLoss = 0.0; // the same on held-out crops
    double heldOutUnconditional = 0.0; // held-out crops with the text states zeroed (the CFG null branch)
    // The same two on each held-out song's first second, where the text is all the decoder has to go by.
    double heldOutOpening = 0.0;
    double heldOutOpeningUnconditional = 0.0;
    // The same crops read with another song's prompt: minus the conditional figures, what the text is worth.
    double heldOutOtherPrompt = 0.0;
    double heldOutOpeningOtherPrompt = 0.0;
    // The held-out crops' cross-entropy of each codebook (their mean is heldOutLoss).
    std::vector<double> heldOutCodebooks;
    // The tag contrast on held-out songs' openings (tagContrastSeconds, whatever tagContrast is): the share
    // whose own prompt is likelier than the prompt with a contrast tag swapped, and the mean log-likelihood
    // difference (own - swapped, nats per opening). NaN when no held-out prompt holds a contrast tag.
    double heldOutTagRight = 0.0;
    double heldOutTagMargin = 0.0;
    // For scale: a per-codebook bigram model's held-out cross-entropy (lmtrain::bigramBaseline); NaN without
    // held-out songs. Also reported before training as progress stage "baseline" (its loss).
    double bigramBaseline = 0.0;
    double stepsPerSecond = 0.0;
    std::filesystem::path modelDir; // outDir/model: the Hugging Face checkpoint folder
};

// Runs (or, with options.resume, continues) every stage: outDir/spm/ (spiece.model), outDir/tokens.safetensors
// (the world's codes; reused when present), training with outDir/checkpoint.safetensors written atomically
// every checkpointEvery steps, outDir/loss.csv and loss.png, and finally outDir/model/.
Expected<LmTrainResult> trainLm(
    const LmTrainOptions& options, const std::function<void(const LmTrainProgress&)>& progress = {});

} // namespace tmk
