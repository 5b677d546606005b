// The drift-free weighted merge of LoRA adapters into live model weights (ADAPTERS.md §7):
//   W = W0 + sum_i w_i * scale_i * B_i A_i      (Embedding LoRA: (B_i A_i)^T)
// For slider values s_m the weights are w = |s_m| on the adapter of s_m's sign (AdapterBank::adapterWeights).
//
// The merger keeps a copy of W0 of every module an adapter touches (in the model's dtype, on its device)
// and each adapter's factors (float32, on the model's device). Every merge recomputes a module from W0 and
// the current weights, so no sequence of merges drifts; a module is rewritten only when a weight of an
// adapter touching it changed since the last merge; a module whose weights are all 0 gets W0 back bit for
// bit. The result is written into the live tensors with copy_ (the model sees it at once), so merge
// between generations, never during one: a change to enc_to_dec_proj changes the cross-attention K/V,
// which the decoder computes per run; embed_tokens and lm_heads change every step.
//
// The run-time overlay (llama.cpp-style, issue 16) is the other way to reach a set of weights: setOverlay()
// leaves the live weights as merged and describes the difference as low-rank terms for the decoder's LoRA
// hook, y = x W_merged^T + sum_t (w_t - merged_t) scale_t ((x A_t^T) B_t^T), stacked per module. A slider
// move then costs microseconds to milliseconds instead of a merge; each decoding step reads the overlay's
// factors. apply() folds everything into the weights again and empties the overlay.
//
// Not thread-safe: it belongs to the engine thread, like the model it writes.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "adapters/adapter_bank.h"
#include "adapters/lora_adapter.h"
#include "lm/decoder.h"
#include "tastemaker/adapters.h"
#include "tastemaker/error.h"

namespace tmk {

struct MergeStats {
    int modulesRecomputed = 0; // W0 + the active deltas written
    int modulesRestored = 0; // W0 copied back (every weight on the module 0)
    int modulesUnchanged = 0; // weights as at the last merge: not written
    double seconds = 0.0; // wall time, device work finished
};

// One module's run-time terms: every adapter whose wanted weight differs from the merged one, stacked.
struct OverlayModule {
    std::string weightName;
    LoraFactors factors; // a [R, in], b [out, R] (float32), mid [R]: (wanted - merged) * scale per rank
};

struct MergeMemory {
    size_t baseBytes = 0; // the W0 copies (model dtype)
    size_t factorBytes = 0; // the adapters' factors on the model's device (float32); on the CPU they share the
                            // adapters' own storage, so this is not added to what the adapters already hold
    size_t scratchBytes = 0; // float32 work buffers (one per weight shape; only for non-float32 models)
    size_t totalBytes() const { return baseBytes + factorBytes + scratchBytes; }
};

class AdapterMerger {
public:
    // `model` finds a live weight by its model.safetensors key; the tensors must stay where they are.
    explicit AdapterMerger(ParameterLookup model);

    // Registers `adapter` under `name` with weight 0, after checking it against the model. Takes a copy of
    // W0 of each module no earlier adapter touched (the live weights of untouched modules are still W0).
    Expected<void> add(const std::string& name, std::shared_ptr<const LoraAdapter> adapter);
    // Every adapter of the bank, named "<metric>+" / "<metric>-".
    Expected<void> addBank(const AdapterBank& bank);

    // Sets the adapter weights (by name; absent names are 0; each >= 0 and finite; unknown names are an
    // error naming the valid ones) and rewrites the modules whose weights changed. On a failure part-way
    // (a device error), the previous weights are restored and the error is returned.
    Expected<MergeStats> apply(const std::map<std::string, double>& weights);
    // apply(bank.adapterWeights(sliders)): the bank's adapters must have been added (addBank).
    Expected<MergeStats> applySliders(const AdapterBank& bank, const SliderValues& sliders);
    // Every weight 0: the model holds W0 again, bit for bit.
    Expected<MergeStats> restoreBase() { return apply({}); }
    // The live weights were replaced behind the merger's back: rewrite every module at the next apply.
    void invalidate();

    // Makes the model behave as if `weights` were merged (same rules as apply()) through the overlay, without
    // writing a weight. Returns false, changing nothing, when an adapter that would need terms has a module
    // the decoder's hook cannot carry (an embedding LoRA): apply() is the way then. When only the weights
    // of adapters already in the overlay change, only the [R] coefficient vectors are rewritten.
    Expected<bool> setOverlay(const std::map<std::string, double>& weights);
    const std::vector<OverlayModule>& overlay() const { return m_overlay; } // empty when nothing is pending
    int overlayAdapters() const; // adapters with terms in the overlay
    size_t overlayFactorBytes() const; // what each decoding step reads for the overlay
    // The bytes a merge of the overlay's modules moves: W0 read, the live weight written (per module).
    size_t overlayMergeBytes() const;
    // The weights the model behaves as having now: the merged ones plus the overlay's (non-zero only).
    std::map<std::string, double> effectiveWeights() const;

    std::vector<std::string> adapterNames() const;
    const std::map<std::string, double>& weights() const { return m_weights; } // as last applied, non-zero only
    std::vector<std::string> touchedWeights() const; // model keys any adapter changes, sorted
    MergeMemory memory() const;

private:
    // One adapter's contribution to one module: scale * left @ right, [out, r] @ [r, in].
    struct Term {
        size_t adapter = 0;
        bool linear = true; // a Linear LoRA (the overlay can carry it); false for an Embedding LoRA
        at::Tensor left; // Linear: B [out, r]; Embedding: A^T [num, r]
        at::Tensor right; // Linear: A [r, in]; Embedding: B^T [r, dim]
        double scale = 1.0;
        bool bf16 = false; // left and right are bfloat16 (a bf16 file's Linear factors on the CPU), else float32
    };
    struct ModuleState {
        std::string weightName;
        at::Tensor base; // W0, model dtype and device
        std::vector<Term> terms;
        std::vector<double> applied; // each term's weight at the last merge
        bool dirty = true; // rewrite at the next merge whatever the weights
    };
    struct Slot {
        std::string name;
        std::shared_ptr<const LoraAdapter> adapter;
    };

    Expected<std::vector<double>> weightVector(const std::map<std::string, double>& weights) const;
    MergeStats mergeAll(const std::vector<double>& weights); // throws on device errors
    void writeModule(ModuleState& module, const std::vector<double>& coefficients);

    ParameterLookup m_model;
    std::vector<Slot> m_slots;
    std::vector<ModuleState> m_modules;
    std::map<std::string, size_t> m_moduleIndex; // weight name -> m_modules index
    std::vector<double> m_current; // per slot, as last applied
    std::map<std::vector<int64_t>, at::Tensor> m_scratch; // float32 buffers by shape, for non-float32 models
    std::map<std::string, double> m_weights;
    std::vector<OverlayModule> m_overlay;
    std::vector<size_t> m_overlaySlots; // the adapters with overlay terms, ascending
    std::vector<double> m_overlayWanted; // per slot: the weights the overlay reaches (empty: no overlay)
};

} // namespace tmk
