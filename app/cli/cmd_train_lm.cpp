// `train-lm`: trains a small MusicGen (T5 + decoder + sentencepiece) on a rendered world with a codec from
// train-codec, and writes a Hugging Face checkpoint folder (docs/lm-training.md).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/lm_training.h"

namespace tmk::cli {

namespace {

Expected<LmTrainOptions> lmOptionsFrom(const Args& args)
{
    LmTrainOptions options;
    options.worldDir = *args.get("world");
    options.codecDir = *args.get("codec");
    options.outDir = *args.get("out");
    options.resume = args.has("resume");
    options.exportBf16 = args.has("bf16");
    options.mixedBf16 = args.has("mixed-bf16");
    if (std::optional<std::string> from = args.get("init-from")) options.initFrom = *from;
    TMK_TRY(args.readIntegers({ { "steps", &options.steps }, { "stop-at", &options.stopAt },
        { "songs", &options.maxSongs }, { "batch", &options.batch }, { "checkpoint-every", &options.checkpointEvery },
        { "log-every", &options.logEvery }, { "warmup", &options.warmupSteps }, { "layers", &options.shape.layers },
        { "hidden", &options.shape.hidden }, { "heads", &options.shape.heads }, { "ffn", &options.shape.ffn },
        { "text-layers", &options.shape.textLayers }, { "text-model", &options.shape.textModel },
        { "text-heads", &options.shape.textHeads }, { "text-kv", &options.shape.textKv },
        { "text-ff", &options.shape.textFf }, { "pieces", &options.shape.spmPieces },
        { "tag-contrast-batch", &options.tagContrastBatch } }));
    Expected<long long> seed = args.integer("seed", 0);
    if (!seed) return seed.error();
    options.seed = static_cast<uint64_t>(*seed);
    Expected<long long> threads = args.integer("threads", 0);
    if (!threads) return threads.error();
    options.threads = static_cast<int>(*threads);
    TMK_TRY(args.readNumbers({ { "seconds", &options.seconds }, { "lr", &options.learningRate },
        { "cfg-dropout", &options.cfgDropout }, { "genre-only", &options.genreOnly },
        { "tag-dropout", &options.tagDropout }, { "start-share", &options.startShare },
        { "text-lr-scale", &options.textLrScale }, { "input-dropout", &options.inputDropout },
        { "tag-contrast", &options.tagContrast }, { "tag-contrast-seconds", &options.tagContrastSeconds },
        { "tag-contrast-dropout", &options.tagContrastOtherDropout } }));
    if (std::optional<std::string> weights = args.get("codebook-weights")) {
        Expected<std::vector<double>> parsed = numberList(*weights, "codebook-weights");
        if (!parsed) return parsed.error();
        options.codebookWeights = std::move(*parsed);
    }
    return options;
}

int runTrainLm(const Args& args)
{
    Expected<LmTrainOptions> options = lmOptionsFrom(args);
    if (!options) return reportError(options.error());
    auto progress = [](const LmTrainProgress& p) {
        if (p.stage == "train" && std::isfinite(p.tagContrast))
            std::fprintf(stderr, "step %lld/%lld  loss %.4f  tag contrast %.4f  %.2f steps/s  ETA %s\n",
                static_cast<long long>(p.done), static_cast<long long>(p.total), p.loss, p.tagContrast, p.perSecond,
                clockText(p.etaSeconds).c_str());
        else if (p.stage == "train")
            std::fprintf(stderr, "step %lld/%lld  loss %.4f  %.2f steps/s  ETA %s\n", static_cast<long long>(p.done),
                static_cast<long long>(p.total), p.loss, p.perSecond, clockText(p.etaSeconds).c_str());
        else if (p.stage == "tokenize" && (p.done % 400 < 8 || p.done == p.total))
            std::fprintf(stderr, "tokenizing %lld/%lld songs  ETA %s\n", static_cast<long long>(p.done),
                static_cast<long long>(p.total), clockText(p.etaSeconds).c_str());
        else if (p.stage == "spm" && p.done == 0)
            std::fprintf(stderr, "training the sentencepiece model\n");
        else if (p.stage == "baseline")
            std::fprintf(
                stderr, "for scale, a per-codebook bigram model's held-out cross-entropy: %.4f nats/token\n", p.loss);
    };
    Expected<LmTrainResult> result = trainLm(*options, progress);
    if (!result) return reportError(result.error());
    if (result->modelDir.empty()) {
        std::printf("stopped after step %lld; continue with --resume\n", static_cast<long long>(result->steps));
        return kExitOk;
    }
    std::printf("trained %lld steps on %lld songs (%lld held out)\n", static_cast<long long>(result->steps),
        static_cast<long long>(result->trainSongs), static_cast<long long>(result->heldOutSongs));
    std::printf("cross-entropy (nats/token): train %.4f, held-out %.4f, held-out unconditional %.4f\n",
        result->trainLoss, result->heldOutLoss, result->heldOutUnconditional);
    std::printf("first second of held-out songs: conditional %.4f, unconditional %.4f\n", result->heldOutOpening,
        result->heldOutOpeningUnconditional);
    std::printf("with another song's prompt: held-out %.4f, first second %.4f\n", result->heldOutOtherPrompt,
        result->heldOutOpeningOtherPrompt);
    std::printf("held-out per codebook:");
    for (double ce : result->heldOutCodebooks) std::printf(" %.4f", ce);
    std::printf("\n");
    std::printf("a per-codebook bigram model, for scale: held-out %.4f\n", result->bigramBaseline);
    std::printf("held-out openings: own prompt likelier than one with a tempo, production or mood tag swapped in "
                "%.2f of them, by %+.3f nats an opening\n",
        result->heldOutTagRight, result->heldOutTagMargin);
    std::printf("model in %s\n", result->modelDir.string().c_str());
    return kExitOk;
}

} // namespace

Command trainLmCommand()
{
    Command command;
    command.name = "train-lm";
    command.summary = "Train a small MusicGen (T5, decoder, sentencepiece) on a world with a trained codec.";
    command.options = {
        { "world", OptionKind::Value, "DIR", "a world folder: tracks.csv, prompts.csv, audio/", true },
        { "codec", OptionKind::Value, "DIR", "train-codec's codec/ folder", true },
        { "out", OptionKind::Value, "DIR", "the run folder: spm/, tokens, checkpoint, loss.csv/png, model/", true },
        { "steps", OptionKind::Value, "N", "optimiser steps in all (default 4000)" },
        { "songs", OptionKind::Value, "N", "use only the first N songs of tracks.csv (default: all)" },
        { "stop-at", OptionKind::Value, "N",
            "stop after step N with a checkpoint; --resume continues (default: run all)" },
        { "batch", OptionKind::Value, "N", "sequences per step (default 8)" },
        { "seconds", OptionKind::Value, "S", "sequence length in seconds (default 10)" },
        { "seed", OptionKind::Value, "S", "seed of the weights, split, crops and dropout (default 0)" },
        { "lr", OptionKind::Value, "LR", "peak AdamW learning rate, cosine decay (default 1e-3)" },
        { "warmup", OptionKind::Value, "N", "linear warm-up steps (default 200)" },
        { "cfg-dropout", OptionKind::Value, "P", "share of sequences trained without text (default 0.3)" },
        { "genre-only", OptionKind::Value, "P", "share of prompts cut to the genre (default 0.2)" },
        { "tag-dropout", OptionKind::Value, "P", "chance each tag after the genre is dropped (default 0.25)" },
        { "start-share", OptionKind::Value, "P", "share of crops that start at the song's first frame (default 0)" },
        { "text-lr-scale", OptionKind::Value, "K",
            "learning rate of the text encoder and cross-attention, times the decoder's (default 1)" },
        { "input-dropout", OptionKind::Value, "P",
            "share of the decoder's input codes replaced by the pad id, so it must read the text (default 0)" },
        { "tag-contrast", OptionKind::Value, "W",
            "weight of the tag-contrast loss: openings scored under their own prompt against one with a tempo, "
            "production or mood tag swapped (default 0: off)" },
        { "tag-contrast-batch", OptionKind::Value, "N", "openings per step for the tag contrast (default 8)" },
        { "tag-contrast-seconds", OptionKind::Value, "S", "length of those openings (default 2)" },
        { "tag-contrast-dropout", OptionKind::Value, "P",
            "in the contrast's prompts, the chance each tag but the genre and the contrast tags is dropped "
            "(default 0.75)" },
        { "init-from", OptionKind::Value, "DIR",
            "start a new run from this MusicGen folder's weights and spiece.model (a fine-tune; same shape)" },
        { "codebook-weights", OptionKind::Value, "LIST",
            "weight of each codebook's cross-entropy in the loss, e.g. 4,1,1,1 (default: every code the same)" },
        { "layers", OptionKind::Value, "N", "decoder layers (default 6)" },
        { "hidden", OptionKind::Value, "N", "decoder hidden size (default 256)" },
        { "heads", OptionKind::Value, "N", "decoder attention heads (default 4)" },
        { "ffn", OptionKind::Value, "N", "decoder feed-forward size (default 1024)" },
        { "text-layers", OptionKind::Value, "N", "T5 layers (default 2)" },
        { "text-model", OptionKind::Value, "N", "T5 d_model (default 128)" },
        { "text-heads", OptionKind::Value, "N", "T5 heads (default 4)" },
        { "text-kv", OptionKind::Value, "N", "T5 d_kv (default 32)" },
        { "text-ff", OptionKind::Value, "N", "T5 d_ff (default 512)" },
        { "pieces", OptionKind::Value, "N", "sentencepiece pieces asked of spm_train (default 256)" },
        { "checkpoint-every", OptionKind::Value, "N", "steps between checkpoints and evaluations (default 200)" },
        { "log-every", OptionKind::Value, "N", "steps between progress lines (default 10)" },
        { "resume", OptionKind::Flag, "", "continue from DIR/checkpoint.safetensors when it exists" },
        { "bf16", OptionKind::Flag, "", "export the text encoder and decoder in bfloat16 (the codec stays float32)" },
        { "mixed-bf16", OptionKind::Flag, "",
            "the decoder's matrix products in bfloat16, float32 master weights (fast with AMX/AVX-512-BF16)" },
        { "threads", OptionKind::Value, "N", "intra-op threads (default: libtorch's)" },
    };
    command.run = runTrainLm;
    return command;
}

} // namespace tmk::cli
