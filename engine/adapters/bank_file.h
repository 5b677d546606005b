// bank.json, the one reader (engine-internal): readBankSummary (tastemaker/adapters.h) and the bank's
// content identity (pipeline/clip_identity.cpp) both read a bank through it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tastemaker/adapters.h"
#include "tastemaker/error.h"
#include "tastemaker/metrics.h"

namespace tmk {

struct BankFile {
    std::string baseModel; // "base_model"; empty when absent or null
    std::string baseModelFingerprint; // "base_model_fingerprint"; empty when absent or null
    std::vector<BankMetric> listed; // the metrics bank.json lists, in its order, with absolute adapter folders
};

// Reads and checks <bankDir>/bank.json: format 1, "+"/"-" keys only, each listed folder exists. With
// `knownMetrics`, a metric id that is not among them is an error naming the valid ids.
Expected<BankFile> readBankFile(const std::filesystem::path& bankDir, const std::vector<MetricInfo>* knownMetrics);

} // namespace tmk
