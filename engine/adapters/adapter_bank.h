// The adapter bank: bank.json's 2 x 13 PEFT LoRA adapters, loaded and checked against the base model, and
// the mapping from slider values to adapter weights (s > 0: "<id>+" with weight s; s < 0: "<id>-" with |s|).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/lora_adapter.h"
#include "tastemaker/adapters.h"
#include "tastemaker/metrics.h"

namespace tmk {

class AdapterBank {
public:
    // Reads bank.json (readBankSummary), loads every listed adapter and checks it against `model` (every
    // module exists, every delta fits). Metrics with one side, or none, are fine: summary() says which.
    static Expected<AdapterBank> load(
        const std::filesystem::path& dir, const std::vector<MetricInfo>& metrics, const ParameterLookup& model);

    const BankSummary& summary() const { return m_summary; }
    void setModelWarning(std::string warning) { m_summary.modelWarning = std::move(warning); }
    const std::vector<MetricInfo>& metrics() const { return m_metrics; }

    struct Entry {
        std::string name; // "energy+"
        std::string metric;
        AdapterSide side = AdapterSide::Positive;
        std::shared_ptr<const LoraAdapter> adapter;
    };
    // The loaded adapters in metric order, "+" before "-".
    const std::vector<Entry>& entries() const { return m_entries; }
    const LoraAdapter* adapter(const std::string& metric, AdapterSide side) const;

    // Slider values -> adapter weights by name ("energy+" -> 0.7); adapters at weight 0 are left out.
    // Unknown ids and values outside [-2, 2] are errors naming the valid ids or range; a non-zero value
    // whose side the bank lacks is an error naming the missing adapter.
    Expected<std::map<std::string, double>> adapterWeights(const SliderValues& sliders) const;

private:
    AdapterBank() = default;

    BankSummary m_summary;
    std::vector<MetricInfo> m_metrics;
    std::vector<Entry> m_entries;
};

} // namespace tmk
