// Sliders and the adapter bank, in plain types (torch-free; the engine's torch side is engine/adapters/).
//
// Each metric (tastemaker/metrics.h) has a slider value s in [-2, 2]. s > 0 blends the metric's "+"
// adapter with weight s, s < 0 its "-" adapter with weight |s|, s = 0 neither. A bank is a folder whose
// bank.json maps metric ids to those adapter folders:
//   {"format": 1, "base_model": NAME, "base_model_fingerprint": "sha256:...", "metrics": {ID: {"+": DIR, "-": DIR},
//   ...}}
// with DIRs relative to the bank folder (absolute paths are accepted). A side may be absent. The fingerprint
// (modelIdentity, tastemaker/clip_library.h) of the model the adapters were trained on is optional: banks
// made before it was recorded, or assembled from adapters trained elsewhere, have none.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tastemaker/error.h"
#include "tastemaker/metrics.h"

namespace tmk {

enum class DType; // tastemaker/tensorio.h

enum class AdapterSide { Negative, Positive };

inline constexpr double kSliderLimit = 2.0; // valid slider values: [-kSliderLimit, kSliderLimit]

// Slider values by metric id. Metrics not present are 0.
using SliderValues = std::map<std::string, double>;
// The same values without the zeros: {energy: 0} and {} steer the same.
SliderValues nonZeroSliders(const SliderValues& values);

// "energy+" / "energy-": the adapter's name in a bank, and its folder's default name.
std::string adapterName(const std::string& metric, AdapterSide side);
const char* sideSymbol(AdapterSide side); // "+" or "-"

// Every id must be a metric and every value finite and within [-2, 2]; the error names the valid ids or
// the valid range.
Expected<void> validateSliders(const SliderValues& values, const std::vector<MetricInfo>& metrics);
// "energy=0.7" -> {"energy", 0.7} (the CLI's --slider); checks only the syntax and the number.
Expected<std::pair<std::string, double>> parseSliderAssignment(const std::string& text);

struct BankMetric {
    std::string id;
    std::filesystem::path positiveDir; // absolute; empty when the bank has no "+" adapter
    std::filesystem::path negativeDir; // absolute; empty when the bank has no "-" adapter
    bool hasPositive() const { return !positiveDir.empty(); }
    bool hasNegative() const { return !negativeDir.empty(); }
    bool has(AdapterSide side) const { return side == AdapterSide::Positive ? hasPositive() : hasNegative(); }
    const std::filesystem::path& dir(AdapterSide side) const
    {
        return side == AdapterSide::Positive ? positiveDir : negativeDir;
    }
};

struct BankSummary {
    std::filesystem::path dir; // the bank folder
    std::string baseModel; // bank.json's base_model
    std::string baseModelFingerprint; // bank.json's base_model_fingerprint; empty when not recorded
    // Set when the bank is opened on a model (Steering::load) whose fingerprint differs from the recorded one:
    // the sentence to show the user. The adapters still apply (the shapes fit), but they were trained on
    // other weights and may not steer this model.
    std::string modelWarning;
    // Every metric of metrics.json in its order, with the sides the bank has (none for metrics it omits):
    // the UI greys out the missing ones.
    std::vector<BankMetric> metrics;
    const BankMetric* find(const std::string& id) const;
    int adapterCount() const;
};

// Reads and checks bank.json (not the adapters): format 1, only known metric ids (the error names the valid
// ids), "+"/"-" keys only, and each listed folder holds adapter_config.json.
Expected<BankSummary> readBankSummary(const std::filesystem::path& bankDir, const std::vector<MetricInfo>& metrics);

// Sets bank.json's `side` entry of `metric` to `adapterDir` (stored relative to the bank folder when it lies
// inside it), creating bank.json (with `baseModel` and `baseModelFingerprint`) when it does not exist, and
// recording them when it does not name them yet. An adapter trained on another model than the one the bank
// records (both fingerprints known and different) is refused, naming both: one bank, one base model. The
// update is atomic (a temp file renamed over bank.json) and serialised between processes with a lock file. The
// adapter folder must hold adapter_config.json and adapter_model.safetensors.
Expected<void> registerAdapter(const std::filesystem::path& bankDir, const std::string& metric, AdapterSide side,
    const std::filesystem::path& adapterDir, const std::vector<MetricInfo>& metrics, const std::string& baseModel = "",
    const std::string& baseModelFingerprint = "");

// The sentence Steering shows when a bank recorded for one model (its fingerprint) is opened on another; empty
// when the bank records no fingerprint or the fingerprints agree.
std::string bankModelMismatch(
    const BankSummary& bank, const std::string& modelName, const std::string& modelFingerprint);

// Copies the bank at `bankDir` into a new folder `outDir`, self-contained and movable: one subfolder per adapter
// (<metric>+, <metric>-) holding adapter_config.json and adapter_model.safetensors with every LoRA factor in
// `dtype` (F32, F16 or BF16; BF16 halves a float32 bank), plus the run's training record (run.json, metrics.jsonl,
// train.log) when the adapter folder has one; bank.json names them by relative paths and keeps base_model. The
// copy is made in `outDir`.partial and renamed at the end, so `outDir` is either complete or absent. Refuses an
// `outDir` that exists. `progress` is called after each adapter. A non-empty `rebase` (a model's name and
// fingerprint) is recorded as the copy's base model instead of the bank's own: for a model whose language model
// is the one the adapters were trained on but whose files changed (e.g. `convert-model --codec`).
struct BankBase {
    std::string name, fingerprint;
};
Expected<BankSummary> exportBank(const std::filesystem::path& bankDir, const std::filesystem::path& outDir, DType dtype,
    const std::vector<MetricInfo>& metrics, const std::function<void(int done, int total)>& progress = {},
    const BankBase& rebase = {});

} // namespace tmk
