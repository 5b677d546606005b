// A DPO run folder (tastemaker/training.h): run.json, metrics.jsonl, train.log and the checkpoint.
// The checkpoint is written atomically: into checkpoint.tmp/, then renamed over checkpoint/ (the previous
// one is kept as checkpoint.old/ until the rename is done, and read when checkpoint/ is missing).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"
#include "tastemaker/training.h"

namespace tmk {

// Everything a resumed run needs to continue as if it had never stopped.
struct CheckpointData {
    int64_t step = 0; // optimiser steps done
    int64_t epoch = 0; // the data cursor: epoch and position in its permutation of the train pairs
    int64_t position = 0;
    bool pendingEval = false; // the evaluation due at `step` has not been logged yet
    int64_t adamStep = 0;
    int64_t pairs = 0; // train + test pairs of the run (a check that the data did not change)
    std::map<std::string, at::Tensor> lora; // "<module>.lora_A.weight" -> [r, in], ...
    std::map<std::string, at::Tensor> adam; // "<module>.lora_A.weight.exp_avg" -> ..., ".exp_avg_sq"
    at::Tensor referenceChosen; // [pairs] float32: the reference log-probs (train pairs, then test pairs)
    at::Tensor referenceRejected; // [pairs] float32
    at::Tensor referenceKnown; // [pairs] int64: 1 where computed
};

struct RunStatus {
    int64_t step = 0, totalSteps = 0;
    bool finished = false;
    int64_t trainPairs = 0, testPairs = 0, skippedPairs = 0;
};

class RunFolder {
public:
    explicit RunFolder(std::filesystem::path dir)
        : m_dir(std::move(dir))
    {
    }
    const std::filesystem::path& dir() const { return m_dir; }

    Expected<void> create() const;
    Expected<void> writeRunJson(const TrainOptions& options, const RunStatus& status) const;
    Expected<void> appendMetrics(const TrainLogEntry& entry) const; // one line, flushed
    void appendLog(const std::string& line) const; // train.log, best effort
    // Drops metrics.jsonl lines of steps after `step` (a killed run logged past its last checkpoint).
    Expected<void> truncateMetricsAfter(int64_t step) const;
    // Starts metrics.jsonl and train.log afresh.
    Expected<void> resetLogs() const;

    bool hasCheckpoint() const;
    bool hasAdapter() const; // adapter_config.json + adapter_model.safetensors
    Expected<void> saveCheckpoint(const CheckpointData& data) const;
    Expected<CheckpointData> loadCheckpoint() const;
    void removeCheckpoint() const;

private:
    std::filesystem::path checkpointDir() const; // the one to read: checkpoint/ or else checkpoint.old/
    std::filesystem::path m_dir;
};

} // namespace tmk
