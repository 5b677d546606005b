// The preference pairs of one DPO run, with their codes: pairs.jsonl's pairs for the metric (chosen and
// rejected swapped for the '-' direction), each song's codes from the token cache cropped to maxFrames.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"
#include "tastemaker/training.h"

namespace tmk {

struct DpoExample {
    std::string prompt;
    std::string chosenId, rejectedId; // track ids
    at::Tensor chosen; // [1, K, T_c] int64, CPU
    at::Tensor rejected; // [1, K, T_r] int64, CPU
};

struct DpoDataset {
    std::vector<DpoExample> train, test; // in pairs.jsonl order
    int64_t skipped = 0; // pairs with a song that has no cached codes
    std::vector<std::string> skippedExamples; // "chosen -> rejected" of the first few skipped pairs
    std::string cacheDescription; // the token cache folder, for messages
};

// Errors name the file or metric: a missing pairs folder or pairs.jsonl, a metric not in `metrics` (with the
// valid ids), a metric without pairs in pairs.jsonl, a missing token cache, no pair with codes for both songs.
Expected<DpoDataset> loadDpoDataset(const TrainOptions& options, const std::vector<MetricInfo>& metrics);

} // namespace tmk
