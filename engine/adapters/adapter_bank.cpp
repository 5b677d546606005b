#include "adapters/adapter_bank.h"

namespace tmk {

Expected<AdapterBank> AdapterBank::load(
    const std::filesystem::path& dir, const std::vector<MetricInfo>& metrics, const ParameterLookup& model)
{
    Expected<BankSummary> summary = readBankSummary(dir, metrics);
    if (!summary) return summary.error();
    AdapterBank bank;
    bank.m_summary = std::move(*summary);
    bank.m_metrics = metrics;
    for (const BankMetric& metric : bank.m_summary.metrics) {
        for (AdapterSide side : { AdapterSide::Positive, AdapterSide::Negative }) {
            if (!metric.has(side)) continue;
            Expected<LoraAdapter> adapter = LoraAdapter::load(metric.dir(side));
            if (!adapter) return adapter.error();
            TMK_TRY(adapter->checkAgainst(model));
            bank.m_entries.push_back(Entry { adapterName(metric.id, side), metric.id, side,
                std::make_shared<const LoraAdapter>(std::move(*adapter)) });
        }
    }
    return bank;
}

const LoraAdapter* AdapterBank::adapter(const std::string& metric, AdapterSide side) const
{
    for (const Entry& entry : m_entries)
        if (entry.metric == metric && entry.side == side) return entry.adapter.get();
    return nullptr;
}

Expected<std::map<std::string, double>> AdapterBank::adapterWeights(const SliderValues& sliders) const
{
    TMK_TRY(validateSliders(sliders, m_metrics));
    std::map<std::string, double> weights;
    for (const auto& [id, value] : sliders) {
        if (value == 0.0) continue;
        const AdapterSide side = value > 0 ? AdapterSide::Positive : AdapterSide::Negative;
        if (!adapter(id, side)) {
            const BankMetric* metric = m_summary.find(id);
            const bool other
                = metric && metric->has(side == AdapterSide::Positive ? AdapterSide::Negative : AdapterSide::Positive);
            return Error::inFile(ErrorCode::InvalidArgument, (m_summary.dir / "bank.json").string(),
                "has no \"" + adapterName(id, side) + "\" adapter, so slider \"" + id + "\" cannot be "
                    + (side == AdapterSide::Positive ? "positive" : "negative")
                    + (other ? " (only its other side exists)" : " (the bank has no adapter for it)"));
        }
        weights[adapterName(id, side)] = std::abs(value);
    }
    return weights;
}

} // namespace tmk
