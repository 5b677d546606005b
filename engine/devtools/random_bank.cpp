#include "devtools/random_bank.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/normal.h>
#include <c10/core/InferenceMode.h>

#include "tastemaker/adapters.h"
#include "tastemaker/devtools/model_maker.h"
#include "tastemaker/fileio.h"

namespace tmk {

namespace fs = std::filesystem;

std::vector<RandomTarget> randomAdapterTargets(const DecoderConfig& config)
{
    std::vector<RandomTarget> targets;
    const int64_t hidden = config.hiddenSize, ffn = config.ffnDim;
    for (int64_t layer = 0; layer < config.numLayers; ++layer) {
        const std::string prefix = "decoder.model.decoder.layers." + std::to_string(layer) + ".";
        for (const char* attention : { "self_attn", "encoder_attn" })
            for (const char* projection : { "q_proj", "k_proj", "v_proj", "out_proj" })
                targets.push_back({ prefix + attention + "." + projection, hidden, hidden });
        targets.push_back({ prefix + "fc1", ffn, hidden });
        targets.push_back({ prefix + "fc2", hidden, ffn });
    }
    return targets;
}

Expected<LoraAdapter> makeRandomAdapter(const MusicgenConfig& config, int64_t rank, double alpha, uint64_t seed,
    double deltaRatio, const std::string& baseModelName)
{
    if (rank <= 0 || !(alpha > 0) || !(deltaRatio > 0))
        return Error { ErrorCode::InvalidArgument,
            "A random adapter needs rank > 0, alpha > 0 and a delta ratio > 0." };
    c10::InferenceMode guard;
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    // std(scale * B @ A) = (alpha / r) * sqrt(r) * sigmaB / sqrt(in) = deltaRatio / sqrt(in)
    const double sigmaB = deltaRatio * std::sqrt(static_cast<double>(rank)) / alpha;
    const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
    std::vector<LoraModule> modules;
    for (const RandomTarget& target : randomAdapterTargets(config.decoder)) {
        LoraModule module;
        module.path = target.path;
        module.kind = LoraKind::Linear;
        module.a = at::normal(0.0, 1.0 / std::sqrt(static_cast<double>(target.inFeatures)), { rank, target.inFeatures },
            generator, f32); // [r, in]
        module.b = at::normal(0.0, sigmaB, { target.outFeatures, rank }, generator, f32); // [out, r]
        modules.push_back(std::move(module));
    }
    LoraConfig lora;
    lora.r = rank;
    lora.loraAlpha = alpha;
    lora.targetModules = { "q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2" };
    lora.baseModelNameOrPath = baseModelName;
    return LoraAdapter::fromModules(std::move(lora), std::move(modules));
}

Expected<BankSummary> makeRandomAdapterBank(const RandomBankParams& params, const std::vector<MetricInfo>& metrics)
{
    Expected<MusicgenConfig> config = MusicgenConfig::load(params.modelDir);
    if (!config) return config.error();
    const std::string baseModel = params.modelDir.lexically_normal().filename().empty()
        ? params.modelDir.lexically_normal().parent_path().filename().string()
        : params.modelDir.lexically_normal().filename().string();
    std::error_code ec;
    fs::create_directories(params.outDir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, params.outDir.string(), "could not be created: " + ec.message());
    nlohmann::ordered_json bank
        = { { "format", 1 }, { "base_model", baseModel }, { "metrics", nlohmann::ordered_json::object() } };
    uint64_t index = 0;
    for (const MetricInfo& metric : metrics) {
        for (AdapterSide side : { AdapterSide::Positive, AdapterSide::Negative }) {
            const std::string name = adapterName(metric.id, side);
            Expected<LoraAdapter> adapter = makeRandomAdapter(
                *config, params.rank, params.alpha, params.seed * 1000003ULL + index++, params.deltaRatio, baseModel);
            if (!adapter) return adapter.error();
            if (params.bf16) adapter->setStoredDtype(DType::BF16);
            TMK_TRY(adapter->save(params.outDir / name));
            bank["metrics"][metric.id][sideSymbol(side)] = name;
        }
    }
    TMK_TRY(writeFileAtomic(params.outDir / "bank.json", bank.dump(2) + "\n"));
    return readBankSummary(params.outDir, metrics);
}

} // namespace tmk
