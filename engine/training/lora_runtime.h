// A trainable LoRA on the MusicGen decoder, applied at run time through the decoder's LoRA hook
// (MusicgenDecoder::setLoraHook): y = x W^T + b + scale * (x A^T) B^T for every targeted projection.
// The reference policy of DPO is the same decoder with the adapter disabled, so no second copy exists.
//
// Initialisation follows PEFT: A [r, in] ~ kaiming_uniform(a = sqrt(5)) as nn.Linear (U(-1/sqrt(in),
// 1/sqrt(in))), B [out, r] = 0, so a fresh adapter leaves the model unchanged. A and B are float32 on the
// decoder's device (master weights even for bf16 models), requires_grad set.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "adapters/lora_adapter.h"
#include "lm/decoder.h"
#include "tastemaker/error.h"
#include "tastemaker/training.h"

namespace tmk {

class LoraRuntime final : public LinearLoraHook {
public:
    struct Module {
        std::string path; // full-model module path: "decoder.model.decoder.layers.0.self_attn.q_proj"
        int32_t parameterIndex = -1; // the weight's position in MusicgenDecoder::parameterNames()
        LoraFactors factors; // a [r, in], b [out, r]
    };

    // Finds the decoder linears matching options.targets (PEFT's rule: path == target or ends with
    // "." + target) and makes their factors. InvalidArgument when no module matches, naming the targets.
    static Expected<std::unique_ptr<LoraRuntime>> create(
        const MusicgenDecoder& decoder, const LoraOptions& options, uint64_t seed);

    bool enabled() const override { return m_enabled; }
    void setEnabled(bool enabled) { m_enabled = enabled; }
    const LoraFactors* factors(int32_t parameterIndex) const override;

    const std::vector<Module>& modules() const { return m_modules; }
    const LoraOptions& options() const { return m_options; }
    double scale() const { return m_scale; }
    // A and B of every module, in module order (sorted by path): the optimiser's parameters.
    std::vector<at::Tensor> parameters() const;
    int64_t parameterCount() const;
    // "<path>.lora_A.weight" / "<path>.lora_B.weight" -> the live tensor (for checkpoints).
    std::map<std::string, at::Tensor> namedParameters() const;
    // Copies values into the factors (no autograd); the error names `file` and the tensor at fault.
    Expected<void> loadParameters(const std::map<std::string, at::Tensor>& values, const std::string& file);

    // The adapter in PEFT form (LoraAdapter::fromModules), ready for save().
    Expected<LoraAdapter> toAdapter(const std::string& baseModelName) const;

private:
    LoraRuntime() = default;
    LoraOptions m_options;
    double m_scale = 1.0;
    bool m_enabled = true;
    std::vector<Module> m_modules;
    std::vector<int32_t> m_byParameter; // parameter index -> module index, -1 for none
};

// Sets one setting of an object for a scope (Get reads it, Set writes it); on destruction the value it had
// before is back.
template <typename Object, typename Value, Value (Object::*Get)() const, void (Object::*Set)(Value)>
class ScopedSetting {
public:
    ScopedSetting(Object& object, Value value)
        : m_object(object)
        , m_previous((object.*Get)())
    {
        (object.*Set)(value);
    }
    ~ScopedSetting() { (m_object.*Set)(m_previous); }
    ScopedSetting(const ScopedSetting&) = delete;
    ScopedSetting& operator=(const ScopedSetting&) = delete;

private:
    Object& m_object;
    Value m_previous;
};

// Attaches a LoRA to a decoder for a scope.
using ScopedLoraHook
    = ScopedSetting<MusicgenDecoder, const LinearLoraHook*, &MusicgenDecoder::loraHook, &MusicgenDecoder::setLoraHook>;
// Turns the decoder's activation checkpointing on or off for a scope (a training run).
using ScopedLayerCheckpointing
    = ScopedSetting<MusicgenDecoder, bool, &MusicgenDecoder::checkpointLayers, &MusicgenDecoder::setCheckpointLayers>;
// Sets the decoder's autocast (MusicgenDecoder::setAutocast) for a scope: on for a half-precision model.
using ScopedAutocast = ScopedSetting<MusicgenDecoder, bool, &MusicgenDecoder::autocast, &MusicgenDecoder::setAutocast>;

// Switches a LoRA off (the reference policy) for a scope.
class ScopedLoraDisabled : public ScopedSetting<LoraRuntime, bool, &LoraRuntime::enabled, &LoraRuntime::setEnabled> {
public:
    explicit ScopedLoraDisabled(LoraRuntime& lora)
        : ScopedSetting(lora, false)
    {
    }
};

} // namespace tmk
