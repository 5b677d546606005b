#include "adapters/merger.h"

#include <chrono>
#include <cmath>

#include <ATen/TensorOperators.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/tensor.h>
#include <c10/core/InferenceMode.h>

#include "core/stopwatch.h"

namespace tmk {

namespace {

void synchronize(const at::Tensor& tensor)
{
    // A tiny read forces pending device work to finish, so timings and errors land here.
    if (tensor.defined() && !tensor.device().is_cpu()) (void)tensor.flatten()[0].item<float>();
}

} // namespace

AdapterMerger::AdapterMerger(ParameterLookup model)
    : m_model(std::move(model))
{
}

Expected<void> AdapterMerger::add(const std::string& name, std::shared_ptr<const LoraAdapter> adapter)
{
    if (!adapter) return Error { ErrorCode::InvalidArgument, "No adapter was given for \"" + name + "\"." };
    for (const Slot& slot : m_slots)
        if (slot.name == name)
            return Error { ErrorCode::InvalidArgument, "An adapter named \"" + name + "\" is already merged." };
    TMK_TRY(adapter->checkAgainst(m_model));
    try {
        c10::InferenceMode guard;
        const size_t slotIndex = m_slots.size();
        std::vector<ModuleState> added; // new modules, committed only when every module succeeded
        std::vector<std::pair<size_t, Term>> terms;
        for (const LoraModule& module : adapter->modules()) {
            at::Tensor* live = m_model(module.weightName());
            const at::TensorOptions f32 = at::TensorOptions().device(live->device()).dtype(at::kFloat);
            Term term;
            term.adapter = slotIndex;
            term.scale = module.scale;
            term.linear = module.kind == LoraKind::Linear;
            // A bf16 file's Linear factors stay bf16 on the CPU (module.a and .b hold its values in float32, so
            // converting back is exact): half the memory, and the run-time path reads them as they are.
            term.bf16 = module.storedDtype == DType::BF16 && term.linear && live->is_cpu();
            if (module.kind == LoraKind::Linear) {
                const at::TensorOptions stored = term.bf16 ? f32.dtype(at::kBFloat16) : f32;
                term.left = module.b.to(stored).contiguous(); // [out, r]
                term.right = module.a.to(stored).contiguous(); // [r, in]
            } else {
                term.left = module.a.t().to(f32).contiguous(); // [num, r]
                term.right = module.b.t().to(f32).contiguous(); // [r, dim]
            }
            auto found = m_moduleIndex.find(module.weightName());
            size_t index = found != m_moduleIndex.end() ? found->second : m_modules.size() + added.size();
            if (found == m_moduleIndex.end()) {
                ModuleState state;
                state.weightName = module.weightName();
                state.base = live->detach().clone(); // W0
                state.dirty = false; // the live weight is W0 now
                added.push_back(std::move(state));
            }
            terms.emplace_back(index, std::move(term));
        }
        for (ModuleState& state : added) {
            m_moduleIndex[state.weightName] = m_modules.size();
            m_modules.push_back(std::move(state));
        }
        for (auto& [index, term] : terms) {
            m_modules[index].terms.push_back(std::move(term));
            m_modules[index].applied.push_back(0.0);
        }
    } catch (const std::exception& e) {
        return Error { ErrorCode::Device,
            "Adapter \"" + name + "\" (" + adapter->modelFile() + ") could not be prepared for merging: " + e.what() };
    }
    m_slots.push_back(Slot { name, std::move(adapter) });
    m_current.push_back(0.0);
    return {};
}

Expected<void> AdapterMerger::addBank(const AdapterBank& bank)
{
    for (const AdapterBank::Entry& entry : bank.entries()) TMK_TRY(add(entry.name, entry.adapter));
    return {};
}

Expected<std::vector<double>> AdapterMerger::weightVector(const std::map<std::string, double>& weights) const
{
    std::vector<double> vector(m_slots.size(), 0.0);
    for (const auto& [name, weight] : weights) {
        size_t index = 0;
        while (index < m_slots.size() && m_slots[index].name != name) ++index;
        if (index == m_slots.size()) {
            std::string valid;
            for (const Slot& slot : m_slots) valid += (valid.empty() ? "" : ", ") + slot.name;
            return Error { ErrorCode::InvalidArgument,
                "There is no adapter \"" + name + "\" to merge; the loaded adapters are: "
                    + (valid.empty() ? std::string("(none)") : valid) + "." };
        }
        if (!std::isfinite(weight) || weight < 0.0)
            return Error { ErrorCode::InvalidArgument,
                "Adapter \"" + name + "\" has weight " + std::to_string(weight)
                    + "; weights must be finite and >= 0." };
        vector[index] = weight;
    }
    return vector;
}

Expected<MergeStats> AdapterMerger::apply(const std::map<std::string, double>& weights)
{
    Expected<std::vector<double>> vector = weightVector(weights);
    if (!vector) return vector.error();
    try {
        MergeStats stats = mergeAll(*vector);
        m_current = *vector;
        m_overlay.clear(); // the merge holds every weight now
        m_overlaySlots.clear();
        m_overlayWanted.clear();
        m_weights.clear();
        for (size_t i = 0; i < m_slots.size(); ++i)
            if (m_current[i] != 0.0) m_weights[m_slots[i].name] = m_current[i];
        return stats;
    } catch (const std::exception& e) {
        std::string restored = "the previous weights were restored";
        try {
            invalidate();
            mergeAll(m_current);
        } catch (const std::exception&) {
            restored = "the weights could not be restored; reload the model";
        }
        return Error { ErrorCode::Device,
            std::string("The adapter merge failed (") + e.what() + "); " + restored + "." };
    }
}

Expected<MergeStats> AdapterMerger::applySliders(const AdapterBank& bank, const SliderValues& sliders)
{
    Expected<std::map<std::string, double>> weights = bank.adapterWeights(sliders);
    if (!weights) return weights.error();
    return apply(*weights);
}

void AdapterMerger::invalidate()
{
    for (ModuleState& module : m_modules) module.dirty = true;
}

MergeStats AdapterMerger::mergeAll(const std::vector<double>& weights)
{
    c10::InferenceMode guard;
    const auto start = SteadyClock::now();
    MergeStats stats;
    at::Tensor last;
    for (ModuleState& module : m_modules) {
        std::vector<double> coefficients(module.terms.size());
        for (size_t t = 0; t < module.terms.size(); ++t) coefficients[t] = weights[module.terms[t].adapter];
        if (!module.dirty && coefficients == module.applied) {
            ++stats.modulesUnchanged;
            continue;
        }
        bool anyActive = false;
        for (double c : coefficients) anyActive = anyActive || c != 0.0;
        writeModule(module, coefficients);
        ++(anyActive ? stats.modulesRecomputed : stats.modulesRestored);
        module.applied = coefficients;
        module.dirty = false;
        last = module.base;
    }
    synchronize(last);
    stats.seconds = secondsSince(start);
    return stats;
}

void AdapterMerger::writeModule(ModuleState& module, const std::vector<double>& coefficients)
{
    at::Tensor* live = m_model(module.weightName);
    TORCH_CHECK(live && live->sizes() == module.base.sizes(), "the model's tensor '", module.weightName,
        "' is gone or changed shape since the adapters were loaded");
    std::vector<at::Tensor> lefts, rights;
    for (size_t t = 0; t < module.terms.size(); ++t) {
        if (coefficients[t] == 0.0) continue;
        const Term& term = module.terms[t];
        lefts.push_back(term.left.to(at::kFloat) * (coefficients[t] * term.scale)); // [out, r_t]
        rights.push_back(term.right.to(at::kFloat)); // [r_t, in] (a view when it is float32 already)
    }
    if (lefts.empty()) {
        live->copy_(module.base); // W0 bit for bit
        return;
    }
    const at::Tensor left = lefts.size() == 1 ? lefts.front() : at::cat(lefts, 1); // [out, R]
    const at::Tensor right = rights.size() == 1 ? rights.front() : at::cat(rights, 0); // [R, in]
    if (live->scalar_type() == at::kFloat && live->is_contiguous()) {
        at::addmm_out(*live, module.base, left, right); // W0 + L @ R, straight into the live weight
        return;
    }
    // Other dtypes: W0 + L @ R in a reused float32 buffer, cast to the model dtype once.
    at::Tensor& scratch = m_scratch[module.base.sizes().vec()];
    if (!scratch.defined() || scratch.device() != module.base.device())
        scratch = at::empty(module.base.sizes(), module.base.options().dtype(at::kFloat));
    scratch.copy_(module.base);
    scratch.addmm_(left, right);
    live->copy_(scratch);
}

Expected<bool> AdapterMerger::setOverlay(const std::map<std::string, double>& weights)
{
    Expected<std::vector<double>> wanted = weightVector(weights);
    if (!wanted) return wanted.error();
    // The adapters with terms: those whose wanted weight differs from the merged one.
    auto moved = [&](size_t adapter) { return (*wanted)[adapter] != m_current[adapter]; };
    std::vector<size_t> slots;
    for (size_t i = 0; i < m_slots.size(); ++i)
        if (moved(i)) slots.push_back(i);
    for (const ModuleState& module : m_modules)
        for (const Term& term : module.terms)
            if (!term.linear && moved(term.adapter)) return false;
    try {
        c10::InferenceMode guard;
        const bool sameTerms = slots == m_overlaySlots && !m_overlayWanted.empty();
        if (!sameTerms) m_overlay.clear();
        size_t next = 0; // m_overlay index, when only the coefficients change
        for (const ModuleState& module : m_modules) {
            std::vector<double> mid; // per rank
            std::vector<at::Tensor> lefts, rights;
            bool bf16 = true; // every moved term's factors are bf16: the module's stay bf16
            for (const Term& term : module.terms) {
                if (!moved(term.adapter)) continue;
                bf16 = bf16 && term.bf16;
                const double difference = (*wanted)[term.adapter] - m_current[term.adapter];
                mid.insert(mid.end(), static_cast<size_t>(term.right.size(0)), difference * term.scale);
                if (!sameTerms) {
                    lefts.push_back(term.left);
                    rights.push_back(term.right);
                }
            }
            if (mid.empty()) continue;
            const at::Tensor coefficients
                = at::tensor(std::vector<float>(mid.begin(), mid.end()), module.base.options().dtype(at::kFloat));
            if (sameTerms) {
                m_overlay[next++].factors.mid = coefficients;
                continue;
            }
            OverlayModule added;
            added.weightName = module.weightName;
            if (!bf16) // mixed with float32 terms: all float32
                for (std::vector<at::Tensor>* list : { &lefts, &rights })
                    for (at::Tensor& t : *list) t = t.to(at::kFloat);
            added.factors.a = rights.size() == 1 ? rights.front() : at::cat(rights, 0); // [R, in]
            added.factors.b = lefts.size() == 1 ? lefts.front() : at::cat(lefts, 1); // [out, R]
            added.factors.mid = coefficients;
            m_overlay.push_back(std::move(added));
        }
    } catch (const std::exception& e) {
        m_overlay.clear();
        m_overlaySlots.clear();
        m_overlayWanted.clear();
        return Error { ErrorCode::Device, std::string("The adapters' run-time terms could not be made: ") + e.what() };
    }
    m_overlaySlots = std::move(slots);
    m_overlayWanted = m_overlaySlots.empty() ? std::vector<double>() : *wanted;
    if (m_overlaySlots.empty()) m_overlay.clear();
    return true;
}

int AdapterMerger::overlayAdapters() const
{
    return static_cast<int>(m_overlaySlots.size());
}

size_t AdapterMerger::overlayFactorBytes() const
{
    size_t bytes = 0;
    for (const OverlayModule& module : m_overlay) bytes += module.factors.a.nbytes() + module.factors.b.nbytes();
    return bytes;
}

size_t AdapterMerger::overlayMergeBytes() const
{
    size_t bytes = 0;
    for (const OverlayModule& module : m_overlay) {
        const ModuleState& state = m_modules[m_moduleIndex.at(module.weightName)];
        bytes += 2 * state.base.nbytes();
    }
    return bytes;
}

std::map<std::string, double> AdapterMerger::effectiveWeights() const
{
    if (m_overlayWanted.empty()) return m_weights;
    std::map<std::string, double> weights;
    for (size_t i = 0; i < m_slots.size(); ++i)
        if (m_overlayWanted[i] != 0.0) weights[m_slots[i].name] = m_overlayWanted[i];
    return weights;
}

std::vector<std::string> AdapterMerger::adapterNames() const
{
    std::vector<std::string> names;
    for (const Slot& slot : m_slots) names.push_back(slot.name);
    return names;
}

std::vector<std::string> AdapterMerger::touchedWeights() const
{
    std::vector<std::string> names;
    for (const auto& [name, index] : m_moduleIndex) names.push_back(name);
    return names;
}

MergeMemory AdapterMerger::memory() const
{
    MergeMemory memory;
    memory.factorBytes += overlayFactorBytes();
    for (const ModuleState& module : m_modules) {
        memory.baseBytes += module.base.nbytes();
        for (const Term& term : module.terms) memory.factorBytes += term.left.nbytes() + term.right.nbytes();
    }
    for (const auto& [shape, buffer] : m_scratch) memory.scratchBytes += buffer.nbytes();
    return memory;
}

} // namespace tmk
