// DPO fine-tuning of LoRA adapters on preference pairs (docs/training.md). Torch-free: the UI's training
// wizard and the CLI use these plain types; the engine's torch side lives in engine/training/.
//
// One run trains one adapter (a metric and a direction) from a pairs folder (tastemaker/pairs.h) and its
// token cache (tastemaker/token_cache.h). The reference policy is the base model with the adapter switched
// off (no second copy of the model). A run folder (TrainOptions::outDir) holds:
//   run.json        the options, the step reached, the total and whether the run finished
//   metrics.jsonl   one TrainLogEntry per line (TRL's names; eval entries prefixed "eval_"), flushed per line
//   train.log       readable lines (skipped pairs, checkpoints, evaluations)
//   checkpoint/     while unfinished: LoRA weights, AdamW state, step, data order, reference log-prob cache
//   adapter_config.json + adapter_model.safetensors   the final PEFT adapter, when finished
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tastemaker/adapters.h"
#include "tastemaker/cancel.h"
#include "tastemaker/error.h"
#include "tastemaker/metrics.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/progress.h"

namespace tmk {

enum class DpoLossType { Sigmoid, Ipo, Hinge };
enum class LrSchedule { Linear, Cosine, Constant };

Expected<DpoLossType> parseDpoLossType(const std::string& text); // "sigmoid", "ipo", "hinge"
const char* dpoLossTypeName(DpoLossType type);
Expected<LrSchedule> parseLrSchedule(const std::string& text); // "linear", "cosine", "constant"
const char* lrScheduleName(LrSchedule schedule);
Expected<AdapterSide> parseDirection(const std::string& text); // "+" / "-" (also "positive" / "negative")

struct LoraOptions {
    int64_t rank = 8;
    double alpha = 16.0;
    bool rslora = false; // scale alpha / sqrt(r) instead of alpha / r
    // PEFT target_modules: a decoder linear is trained when its path equals a target or ends with "." + it
    // ("q_proj" takes self- and cross-attention, as in PEFT).
    std::vector<std::string> targets = { "q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2" };
};

// Data-parallel training (docs/training.md, "Training on several processes"): every process ("rank") runs
// the same command; each takes its share of every optimiser step's pairs, the LoRA gradients are summed over
// the ranks (c10d's Gloo all-reduce) and every rank applies the same update. Rank 0 writes the run folder.
// The global batch of a step is batchSize * gradientAccumulation * worldSize pairs.
struct DistributedOptions {
    int64_t rank = 0;
    int64_t worldSize = 1; // 1: a plain single-process run (no process group)
    int64_t localRank = 0;
    std::string masterAddr = "127.0.0.1"; // rank 0's host: it serves the rendezvous store
    int64_t masterPort = 29500;
    double timeoutSeconds = 600; // a collective or the rendezvous waiting longer fails the run
};

// The launch variables of torchrun, Kubernetes' PyTorchJob (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT) or else Slurm's srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; MASTER_ADDR/MASTER_PORT
// still name rank 0). None set: a single process. An error names the variable and its bad value.
Expected<DistributedOptions> distributedFromEnvironment();

// Codebook weights (train and train-lm --codebook-weights): each finite and not negative, one of them positive
// (the count is checked against the model where it is known); empty is valid (no weights).
Expected<void> checkCodebookWeights(const std::vector<double>& weights);

struct TrainOptions {
    std::filesystem::path modelDir, pairsDir, outDir, bankDir; // bankDir optional: register when done
    std::string metric;
    AdapterSide direction = AdapterSide::Positive; // Negative swaps chosen and rejected
    LoraOptions lora;
    DpoLossType loss = DpoLossType::Sigmoid;
    double beta = 0.1;
    double learningRate = 5e-4;
    double weightDecay = 0.0;
    LrSchedule schedule = LrSchedule::Linear;
    int64_t warmupSteps = 10;
    int64_t maxSteps = 0; // optimiser steps; > 0 wins over epochs
    double epochs = 1.0;
    int64_t batchSize = 4; // pairs per micro-batch
    int64_t gradientAccumulation = 1; // micro-batches per optimiser step
    double maxGradNorm = 1.0; // <= 0: no clipping
    int64_t evalEvery = 50; // optimiser steps between evaluations on the test split (0: only at the end)
    int64_t checkpointEvery = 50; // optimiser steps between checkpoints (0: only on cancel)
    int64_t maxFrames = 500; // token sequences are cropped to this many frames (from the window's start)
    // Each codebook's weight in a sequence's log-probability (one per codebook, e.g. {1, 0, 0, 0} for the first
    // codebook alone); empty: every code counts once. The policy and the reference use the same weights.
    std::vector<double> codebookWeights;
    // TRL's rpo_alpha (RPO, Pang et al. 2024): adds alpha times the chosen sequence's negative log-likelihood
    // per (weighted) code to each pair's loss, so that the policy raises the chosen songs instead of only
    // pushing the rejected ones down. 0: plain DPO.
    double rpoAlpha = 0.0;
    // Activation checkpointing: keep each decoder layer's input only and recompute the layer in the backward
    // pass (about a third more compute, the activations of one layer instead of all; docs/training.md).
    bool checkpointLayers = false;
    int64_t maxEvalPairs = 200; // evaluations use the first N test pairs (0: every test pair)
    uint64_t seed = 0;
    bool resume = false; // continue from outDir/checkpoint (an error when there is none)
    ModelOptions model;
    DistributedOptions distributed; // run.json keeps only the world size (a resume may use another one)

    Expected<void> validate() const; // the error names the option and the valid range
    std::string toJson() const;
    static Expected<TrainOptions> fromJson(const std::string& text);
};

struct TrainLogEntry {
    int64_t step = 0; // optimiser steps done
    double epoch = 0; // fractional epochs of the train split done
    std::string split; // "train" or "eval"
    // TRL names: loss, rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen,
    // logps/rejected, learning_rate, grad_norm (train); eval_loss, eval_rewards/chosen, ... (eval).
    std::vector<std::pair<std::string, double>> values;
    std::optional<double> value(const std::string& name) const;
    std::string toJson() const; // {"step":..,"epoch":..,"split":..,"loss":..,...} on one line
};

struct TrainCallbacks {
    ProgressCallback onProgress; // stages Training (optimiser steps) and Evaluation (test pairs)
    std::function<void(const TrainLogEntry&)> onLog; // every train step and every evaluation
    const CancelToken* cancel = nullptr; // polled every micro-batch; cancelling saves a checkpoint
};

struct TrainResult {
    bool cancelled = false;
    int64_t step = 0, totalSteps = 0;
    std::filesystem::path adapterDir; // the run folder (holds the adapter when finished)
    std::optional<TrainLogEntry> lastEval;
    int64_t trainPairs = 0, testPairs = 0, skippedPairs = 0; // skipped: a song without cached codes
};

// Runs (or, with options.resume, continues) one DPO run. Loads the model from options.modelDir; the
// metric must be one of `metrics` and have pairs in the pairs folder. Cancelling returns a result with
// cancelled = true after a checkpoint was written.
// Resume: with a checkpoint in outDir, the run's own options (run.json) are used, except the device, dtype,
// bankDir and resume; without one, a finished run returns at once (its result) and anything else starts
// afresh. Without resume, an outDir holding a checkpoint or a finished adapter is an error.
// Distributed (options.distributed.worldSize > 1): rank 0 decides the options (its run.json on a resume) and
// hands them to the others, so only rank 0 needs the run folder. A resume may use another world size: the
// global batch is kept by changing the gradient accumulation (or else the micro-batch); when it cannot be
// split evenly the error says so. A lost rank or a collective past the timeout ends every rank with an
// error naming the step (rank 0 keeps its last checkpoint); resume from it.
Expected<TrainResult> trainDpo(
    const TrainOptions& options, const std::vector<MetricInfo>& metrics, const TrainCallbacks& callbacks = {});

// The same on an already loaded model (the GUI's, the tests'): its decoder gets a runtime LoRA hook for the
// run, removed before returning; options.modelDir must still name the model's folder (token cache key).
// The model's weights are not changed, but generations must not run on it at the same time.
Expected<TrainResult> trainDpo(const MusicgenModel& model, const TrainOptions& options,
    const std::vector<MetricInfo>& metrics, const TrainCallbacks& callbacks = {});

// One run's data for a trainer outside Tastemaker (PEFT + TRL on a GPU cluster; docs/training.md): the
// pairs of options.metric in options.direction and their codes, exactly as trainDpo would use them, into
// outDir (each file written atomically):
//   codes.safetensors   one int64 tensor [K, T] per track id (the token cache's codes cropped to maxFrames)
//   train.jsonl, test.jsonl   {"prompt": .., "chosen": <track id>, "rejected": <track id>} per line
//   export.json         the model's name and fingerprint, metric, direction, counts and the training options
struct DpoExportReport {
    int64_t trainPairs = 0, testPairs = 0, skippedPairs = 0, songs = 0;
};
Expected<DpoExportReport> exportDpoData(
    const TrainOptions& options, const std::vector<MetricInfo>& metrics, const std::filesystem::path& outDir);

struct RunInfo {
    std::filesystem::path dir;
    TrainOptions options;
    int64_t step = 0, totalSteps = 0;
    bool finished = false;
    bool hasCheckpoint = false; // resumable
};
Expected<RunInfo> readRunInfo(const std::filesystem::path& runDir);
std::vector<RunInfo> findRuns(const std::filesystem::path& root); // every run folder directly under root
Expected<std::vector<TrainLogEntry>> readTrainLog(const std::filesystem::path& runDir); // metrics.jsonl

} // namespace tmk
