#include "tastemaker/steering.h"

#include <mutex>

#include <c10/core/InferenceMode.h>

#include "adapters/adapter_bank.h"
#include "adapters/merger.h"
#include "pipeline/model_access.h"
#include "tastemaker/log.h"

namespace tmk {

struct Steering::Impl {
    std::shared_ptr<const MusicgenModel> model;
    std::optional<AdapterBank> bank;
    std::optional<AdapterMerger> merger;
    SliderValues current;
    std::filesystem::path bankDir;
};

namespace {

// Slider values without the zeros: {energy: 0} and {} merge the same.
SliderValues nonZero(const SliderValues& values)
{
    SliderValues result;
    for (const auto& [id, value] : values)
        if (value != 0.0) result.emplace(id, value);
    return result;
}

} // namespace

Steering::Steering(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{
}
Steering::~Steering()
{
    // Hand the model back as it was loaded: every merged module returns to W0 (sliders at 0), so a
    // later bank, a training run or a plain generation never sees this bank's deltas.
    if (!m_impl || !m_impl->merger || !m_impl->bank) return;
    Expected<SteeringMergeInfo> restored = apply(SliderValues {});
    if (!restored)
        logMessage(LogLevel::Warning,
            "restoring the base weights when closing the adapter bank failed: " + restored.error().message);
}

Expected<std::unique_ptr<Steering>> Steering::load(std::shared_ptr<const MusicgenModel> model,
    const std::filesystem::path& bankDir, const std::vector<MetricInfo>& metrics)
{
    auto impl = std::make_unique<Impl>();
    impl->model = std::move(model);
    impl->bankDir = bankDir;
    // Steering owns the decoder weights' changes (see pipeline/model_access.h).
    MusicgenDecoder* decoder = &writableDecoder(*impl->model);
    ParameterLookup lookup = [decoder](const std::string& name) { return decoder->parameter(name); };
    try {
        c10::InferenceMode guard;
        Expected<AdapterBank> bank = AdapterBank::load(bankDir, metrics, lookup);
        if (!bank) return bank.error();
        impl->bank.emplace(std::move(*bank));
        impl->merger.emplace(lookup);
        TMK_TRY(impl->merger->addBank(*impl->bank));
    } catch (const c10::Error& e) {
        return Error::inFile(
            ErrorCode::Internal, bankDir.string(), std::string("could not be loaded: ") + e.what_without_backtrace());
    }
    return std::unique_ptr<Steering>(new Steering(std::move(impl)));
}

const BankSummary& Steering::summary() const
{
    return m_impl->bank->summary();
}
const SliderValues& Steering::current() const
{
    return m_impl->current;
}
const std::filesystem::path& Steering::bankDir() const
{
    return m_impl->bankDir;
}
int64_t Steering::memoryBytes() const
{
    return static_cast<int64_t>(m_impl->merger->memory().totalBytes());
}

Expected<SteeringMergeInfo> Steering::apply(const SliderValues& values)
{
    TMK_TRY(validateSliders(values, m_impl->bank->metrics()));
    std::unique_lock lock(weightsMutex(*m_impl->model));
    try {
        c10::InferenceMode guard;
        Expected<MergeStats> stats = m_impl->merger->applySliders(*m_impl->bank, values);
        if (!stats) return stats.error();
        m_impl->current = values;
        return SteeringMergeInfo { stats->modulesRecomputed + stats->modulesRestored, stats->seconds * 1e3 };
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, std::string("merging the adapters failed: ") + e.what_without_backtrace() };
    }
}

Expected<std::optional<SteeringMergeInfo>> Steering::applyIfChanged(const SliderValues& values)
{
    if (nonZero(values) == nonZero(m_impl->current)) return std::optional<SteeringMergeInfo>();
    Expected<SteeringMergeInfo> merged = apply(values);
    if (!merged) return merged.error();
    return std::optional<SteeringMergeInfo>(*merged);
}

} // namespace tmk
