#include "training/lora_runtime.h"

#include <algorithm>
#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include "tensorio/torch/weights.h"

namespace tmk {

namespace {

const std::string kWeightSuffix = ".weight";

// A decoder weight that goes through MusicgenDecoder::linear(): 2-D, not an embedding table.
bool isLinearWeight(const std::string& name, const at::Tensor& weight)
{
    return name.ends_with(kWeightSuffix) && weight.dim() == 2 && name.find("embed_tokens") == std::string::npos
        && name.find("embed_positions") == std::string::npos;
}

bool targeted(const std::string& path, const std::vector<std::string>& targets)
{
    return std::any_of(
        targets.begin(), targets.end(), [&](const std::string& t) { return path == t || path.ends_with("." + t); });
}

std::string joined(const std::vector<std::string>& items)
{
    std::string text;
    for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
    return text;
}

} // namespace

Expected<std::unique_ptr<LoraRuntime>> LoraRuntime::create(
    const MusicgenDecoder& decoder, const LoraOptions& options, uint64_t seed)
{
    if (options.rank < 1) return Error { ErrorCode::InvalidArgument, "LoRA rank must be at least 1" };
    std::unique_ptr<LoraRuntime> lora(new LoraRuntime());
    lora->m_options = options;
    lora->m_scale = loraScale(options.alpha, options.rank, options.rslora);
    const std::vector<std::string> names = decoder.parameterNames();
    lora->m_byParameter.assign(names.size(), -1);
    at::Generator generator = at::detail::createCPUGenerator(seed);
    std::vector<std::pair<std::string, int32_t>> chosen; // path, parameter index
    for (size_t i = 0; i < names.size(); ++i) {
        const at::Tensor* weight = decoder.parameter(names[i]);
        if (!isLinearWeight(names[i], *weight)) continue;
        const std::string path = names[i].substr(0, names[i].size() - kWeightSuffix.size());
        if (targeted(path, options.targets)) chosen.emplace_back(path, static_cast<int32_t>(i));
    }
    if (chosen.empty())
        return Error { ErrorCode::InvalidArgument,
            "LoRA targets (" + joined(options.targets)
                + ") match no projection of the decoder (valid: q_proj, k_proj, v_proj, out_proj, fc1, fc2, "
                  "self_attn.q_proj, encoder_attn.v_proj, lm_heads.0, enc_to_dec_proj, ...)" };
    std::sort(chosen.begin(), chosen.end());
    const auto options32 = at::TensorOptions().dtype(at::kFloat);
    for (const auto& [path, index] : chosen) {
        const at::Tensor* weight = decoder.parameter(names[static_cast<size_t>(index)]);
        const int64_t out = weight->size(0), in = weight->size(1);
        const double bound = 1.0 / std::sqrt(static_cast<double>(in)); // kaiming_uniform(a = sqrt(5))
        Module module;
        module.path = path;
        module.parameterIndex = index;
        module.factors.a = at::empty({ options.rank, in }, options32)
                               .uniform_(-bound, bound, generator) // [r, in]
                               .to(weight->device())
                               .set_requires_grad(true);
        module.factors.b = at::zeros({ out, options.rank }, options32.device(weight->device())) // [out, r]
                               .set_requires_grad(true);
        module.factors.scale = lora->m_scale;
        lora->m_byParameter[static_cast<size_t>(index)] = static_cast<int32_t>(lora->m_modules.size());
        lora->m_modules.push_back(std::move(module));
    }
    return lora;
}

const LoraFactors* LoraRuntime::factors(int32_t parameterIndex) const
{
    if (parameterIndex < 0 || static_cast<size_t>(parameterIndex) >= m_byParameter.size()) return nullptr;
    const int32_t module = m_byParameter[static_cast<size_t>(parameterIndex)];
    return module < 0 ? nullptr : &m_modules[static_cast<size_t>(module)].factors;
}

std::vector<at::Tensor> LoraRuntime::parameters() const
{
    std::vector<at::Tensor> params;
    for (const Module& module : m_modules) {
        params.push_back(module.factors.a);
        params.push_back(module.factors.b);
    }
    return params;
}

int64_t LoraRuntime::parameterCount() const
{
    int64_t count = 0;
    for (const Module& module : m_modules) count += module.factors.a.numel() + module.factors.b.numel();
    return count;
}

std::map<std::string, at::Tensor> LoraRuntime::namedParameters() const
{
    std::map<std::string, at::Tensor> named;
    for (const Module& module : m_modules) {
        named[module.path + ".lora_A.weight"] = module.factors.a;
        named[module.path + ".lora_B.weight"] = module.factors.b;
    }
    return named;
}

Expected<void> LoraRuntime::loadParameters(const std::map<std::string, at::Tensor>& values, const std::string& file)
{
    at::NoGradGuard noGrad;
    for (auto& [name, target] : namedParameters()) {
        auto it = values.find(name);
        if (it == values.end())
            return Error::inFile(
                ErrorCode::Mismatch, file, "has no tensor '" + name + "' (the run's LoRA options changed?)");
        if (it->second.sizes() != target.sizes())
            return Error::inFile(ErrorCode::Mismatch, file,
                "tensor '" + name + "' is " + shapeString(it->second.sizes()) + " but the LoRA needs "
                    + shapeString(target.sizes()));
        at::Tensor live = target; // shares storage with the module's factor
        live.copy_(it->second);
    }
    return {};
}

Expected<LoraAdapter> LoraRuntime::toAdapter(const std::string& baseModelName) const
{
    LoraConfig config;
    config.r = m_options.rank;
    config.loraAlpha = m_options.alpha;
    config.useRslora = m_options.rslora;
    config.targetModules = m_options.targets;
    config.baseModelNameOrPath = baseModelName;
    std::vector<LoraModule> modules;
    for (const Module& module : m_modules) {
        LoraModule out;
        out.path = module.path;
        out.kind = LoraKind::Linear;
        out.a = module.factors.a.detach().to(at::kCPU).clone();
        out.b = module.factors.b.detach().to(at::kCPU).clone();
        modules.push_back(std::move(out));
    }
    return LoraAdapter::fromModules(std::move(config), std::move(modules));
}

} // namespace tmk
