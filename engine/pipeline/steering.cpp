#include "tastemaker/steering.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include <c10/core/InferenceMode.h>

#include "adapters/adapter_bank.h"
#include "adapters/merger.h"
#include "core/stopwatch.h"
#include "pipeline/model_access.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/log.h"

namespace tmk {

// The decoder's LoRA hook for the merger's run-time terms, by decoder parameter index.
class OverlayHook final : public LinearLoraHook {
public:
    bool enabled() const override { return m_active; }
    const LoraFactors* factors(int32_t parameterIndex) const override
    {
        return parameterIndex >= 0 && parameterIndex < static_cast<int32_t>(m_byIndex.size())
            ? m_byIndex[static_cast<size_t>(parameterIndex)]
            : nullptr;
    }
    // Points every parameter at its terms in `overlay` (which must not change until the next rebuild).
    void rebuild(const std::vector<OverlayModule>& overlay, const std::unordered_map<std::string, int32_t>& index)
    {
        std::fill(m_byIndex.begin(), m_byIndex.end(), nullptr);
        m_byIndex.resize(index.size(), nullptr);
        for (const OverlayModule& module : overlay)
            if (auto found = index.find(module.weightName); found != index.end())
                m_byIndex[static_cast<size_t>(found->second)] = &module.factors;
        m_active = !overlay.empty();
    }

private:
    std::vector<const LoraFactors*> m_byIndex;
    bool m_active = false;
};

struct Steering::Impl {
    std::shared_ptr<const MusicgenModel> model;
    std::optional<AdapterBank> bank;
    std::optional<AdapterMerger> merger;
    SliderValues current;
    SliderValues merged;
    std::filesystem::path bankDir;
    OverlayHook hook;
    std::unordered_map<std::string, int32_t> parameterIndex; // decoder weight name -> parameter index

    // Attaches the hook while the merger has run-time terms, detaches it when it has none.
    void syncHook()
    {
        MusicgenDecoder& decoder = writableDecoder(*model);
        hook.rebuild(merger->overlay(), parameterIndex);
        if (merger->overlay().empty()) {
            if (decoder.loraHook() == &hook) decoder.setLoraHook(nullptr);
        } else {
            decoder.setLoraHook(&hook);
        }
    }
};

Steering::Steering(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{
}
Steering::~Steering()
{
    // Hand the model back as it was loaded: every merged module returns to W0 (sliders at 0), so a
    // later bank, a training run or a plain generation never sees this bank's deltas.
    if (!m_impl || !m_impl->merger || !m_impl->bank) return;
    {
        std::unique_lock lock(weightsMutex(*m_impl->model));
        MusicgenDecoder& decoder = writableDecoder(*m_impl->model);
        if (decoder.loraHook() == &m_impl->hook) decoder.setLoraHook(nullptr);
    }
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
    const std::vector<std::string> names = decoder->parameterNames();
    for (size_t i = 0; i < names.size(); ++i) impl->parameterIndex[names[i]] = static_cast<int32_t>(i);
    try {
        c10::InferenceMode guard;
        Expected<AdapterBank> bank = AdapterBank::load(bankDir, metrics, lookup);
        if (!bank) return bank.error();
        if (!bank->summary().baseModelFingerprint.empty() && !impl->model->info().dir.empty()) {
            Expected<ContentIdentity> identity = modelIdentity(impl->model->info().dir);
            if (!identity) return identity.error();
            std::string warning = bankModelMismatch(bank->summary(), impl->model->info().name, identity->fingerprint);
            if (!warning.empty()) logMessage(LogLevel::Warning, warning);
            bank->setModelWarning(std::move(warning));
        }
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
const SliderValues& Steering::merged() const
{
    return m_impl->merged;
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
        m_impl->syncHook(); // a merge (even a failed one, which restores the previous) leaves no run-time terms
        if (!stats) return stats.error();
        m_impl->current = values;
        m_impl->merged = values;
        return SteeringMergeInfo { stats->modulesRecomputed + stats->modulesRestored, stats->seconds * 1e3, 0 };
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, std::string("merging the adapters failed: ") + e.what_without_backtrace() };
    }
}

Expected<SteeringMergeInfo> Steering::applyAtRuntime(const SliderValues& values)
{
    TMK_TRY(validateSliders(values, m_impl->bank->metrics()));
    Expected<std::map<std::string, double>> weights = m_impl->bank->adapterWeights(values);
    if (!weights) return weights.error();
    {
        std::unique_lock lock(weightsMutex(*m_impl->model));
        const LinearLoraHook* attached = writableDecoder(*m_impl->model).loraHook();
        if (attached == nullptr || attached == &m_impl->hook) {
            const auto start = SteadyClock::now();
            Expected<bool> carried = false;
            try {
                c10::InferenceMode guard;
                carried = m_impl->merger->setOverlay(*weights);
            } catch (const c10::Error& e) {
                carried = Error { ErrorCode::Internal,
                    std::string("applying the adapters at run time failed: ") + e.what_without_backtrace() };
            }
            m_impl->syncHook();
            if (!carried) return carried.error();
            if (*carried) {
                m_impl->current = values;
                return SteeringMergeInfo { 0, secondsSince(start) * 1e3, m_impl->merger->overlayAdapters() };
            }
        }
    }
    return apply(values); // embedding LoRA, or another hook attached: merge
}

Expected<std::optional<SteeringMergeInfo>> Steering::applyAtRuntimeIfChanged(const SliderValues& values)
{
    if (nonZeroSliders(values) == nonZeroSliders(m_impl->current)) return std::optional<SteeringMergeInfo>();
    Expected<SteeringMergeInfo> applied = applyAtRuntime(values);
    if (!applied) return applied.error();
    return std::optional<SteeringMergeInfo>(*applied);
}

Expected<std::optional<SteeringMergeInfo>> Steering::prepareGeneration(const SliderValues& values, int64_t frames)
{
    Expected<std::optional<SteeringMergeInfo>> moved = applyAtRuntimeIfChanged(values);
    if (!moved) return moved.error();
    const AdapterMerger& merger = *m_impl->merger;
    const double runtimeBytes = static_cast<double>(frames) * static_cast<double>(merger.overlayFactorBytes());
    if (merger.overlayAdapters() == 0 || runtimeBytes <= static_cast<double>(merger.overlayMergeBytes())) return moved;
    Expected<SteeringMergeInfo> merged = apply(m_impl->current);
    if (!merged) return merged.error();
    if (moved->has_value()) merged->milliseconds += (*moved)->milliseconds;
    return std::optional<SteeringMergeInfo>(*merged);
}

Expected<std::optional<SteeringMergeInfo>> Steering::consolidate()
{
    if (m_impl->merger->overlayAdapters() == 0) return std::optional<SteeringMergeInfo>();
    Expected<SteeringMergeInfo> merged = apply(m_impl->current);
    if (!merged) return merged.error();
    return std::optional<SteeringMergeInfo>(*merged);
}

int Steering::runtimeAdapters() const
{
    return m_impl->merger->overlayAdapters();
}

int64_t Steering::runtimeBytes() const
{
    return static_cast<int64_t>(m_impl->merger->overlayFactorBytes());
}

Expected<std::optional<SteeringMergeInfo>> Steering::applyIfChanged(const SliderValues& values)
{
    if (nonZeroSliders(values) == nonZeroSliders(m_impl->current) && m_impl->merger->overlayAdapters() == 0)
        return std::optional<SteeringMergeInfo>();
    Expected<SteeringMergeInfo> merged = apply(values);
    if (!merged) return merged.error();
    return std::optional<SteeringMergeInfo>(*merged);
}

} // namespace tmk
