// Steering a loaded model with the 13 bipolar sliders: an adapter bank merged into the decoder weights.
// W = W0 + sum_m |s_m| * scale * B_{m,sign(s_m)} A_{m,sign(s_m)}, always recomputed from W0 (no drift).
// Merges take the model's weights lock exclusively, generations take it shared, so a generation
// always runs on one consistent set of weights, never a half-merged one.
//
// Two paths reach a set of slider values (docs/performance.md, "Slider moves"):
//   - apply(): the merge. Each step then costs what the plain model costs; a merge of every slider takes
//     about a second on a laptop CPU at musicgen-small's size.
//   - applyAtRuntime(): the weights stay as last merged and the difference is added at run time,
//     y = x W^T + sum (s - s_merged) scale ((x A^T) B^T) (the decoder's LoRA hook). A move costs
//     milliseconds; every step reads the moved adapters' factors (a rank-16 slider adds ~2-5% to a step).
// prepareGeneration() chooses: it keeps the run-time terms for a short generation and merges them first
// when reading them at every step would cost more than one merge.
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
    int runtimeAdapters = 0; // adapters applied at run time afterwards (0: everything is merged)
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
    // The same, unless `values` equal what is merged already (zeros ignored) and nothing is applied at run
    // time: then nothing happens and no info comes back. What the steering report uses before each generation,
    // so that its numbers never depend on the run-time path's history.
    Expected<std::optional<SteeringMergeInfo>> applyIfChanged(const SliderValues& values);
    // The run-time path: the model behaves as if `values` were merged from the next generation on, without
    // rewriting weights. Falls back to apply() when the bank has embedding LoRA, or while another LoRA hook
    // (a DPO run) is attached to the decoder.
    Expected<SteeringMergeInfo> applyAtRuntime(const SliderValues& values);
    Expected<std::optional<SteeringMergeInfo>> applyAtRuntimeIfChanged(const SliderValues& values);
    // Before a generation of `frames` frames: `values` in at run time, then merged when the run-time terms
    // would cost more over the generation than one merge (the bytes each way: frames x the terms' factor
    // bytes, against the merge's W0 reads and weight writes). Nothing comes back when nothing was done.
    Expected<std::optional<SteeringMergeInfo>> prepareGeneration(const SliderValues& values, int64_t frames);
    // Merges whatever is applied at run time (an idle moment after a drag); nothing when nothing is.
    Expected<std::optional<SteeringMergeInfo>> consolidate();
    int runtimeAdapters() const; // adapters applied at run time now
    int64_t runtimeBytes() const; // the bytes of their factors, which every decoding step reads
    const SliderValues& current() const; // the values the model behaves as having, by either path
    const SliderValues& merged() const; // the values merged into the weights (current() minus the run-time part)
    // Bytes the merge keeps (copies of W0 for touched modules plus adapter factors).
    int64_t memoryBytes() const;

private:
    struct Impl;
    explicit Steering(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace tmk
