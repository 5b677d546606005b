// Steering a loaded model with the 13 bipolar sliders: an adapter bank merged into the decoder weights.
// W = W0 + sum_m |s_m| * scale * B_{m,sign(s_m)} A_{m,sign(s_m)}, always recomputed from W0 (no drift).
// Merges take the model's weights lock exclusively, generations take it shared, so a generation
// always runs on one consistent set of weights, never a half-merged one.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "tastemaker/adapters.h"
#include "tastemaker/error.h"
#include "tastemaker/musicgen.h"

namespace tmk {

struct SteeringMergeInfo {
    int modulesWritten = 0; // weights rewritten by the last apply (only those whose coefficients changed)
    double milliseconds = 0;
};

class Steering {
public:
    // Loads BANK_DIR/bank.json and every adapter in it, checking each against `model`. Only one
    // Steering per model should exist at a time.
    static Expected<std::unique_ptr<Steering>> load(std::shared_ptr<const MusicgenModel> model,
        const std::filesystem::path& bankDir, const std::vector<MetricInfo>& metrics);
    ~Steering();

    const BankSummary& summary() const;
    const std::filesystem::path& bankDir() const; // as given to load()
    // Merges the given slider values (ids from metrics.json, values in [-2, 2]; missing ids are 0).
    Expected<SteeringMergeInfo> apply(const SliderValues& values);
    // The same, unless `values` equal what is merged already (zeros ignored): then nothing happens and no
    // info comes back. What coalesced slider moves use.
    Expected<std::optional<SteeringMergeInfo>> applyIfChanged(const SliderValues& values);
    const SliderValues& current() const;
    // Bytes the merge keeps (copies of W0 for touched modules plus adapter factors).
    int64_t memoryBytes() const;

private:
    struct Impl;
    explicit Steering(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace tmk
