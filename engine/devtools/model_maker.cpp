#include "tastemaker/devtools/model_maker.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include "codec/encodec.h"
#include "core/json.h"
#include "core/model_config.h"
#include "core/tensor_spec.h"
#include "lm/decoder.h"
#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "tensorio/torch/torch_tensor.h"
#include "text/t5_encoder.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

// MusicGen's sinusoidal table [positions, H]: cos first, denominator half - 1.
at::Tensor sinusoids(int64_t positions, int64_t hidden)
{
    const int64_t half = hidden / 2;
    at::Tensor freqs = at::exp(at::arange(half, at::kFloat) * (-std::log(10000.0) / static_cast<double>(half - 1)));
    at::Tensor angles = at::arange(positions, at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
    return at::cat({ at::cos(angles), at::sin(angles) }, 1);
}

at::Tensor initTensor(const TensorSpec& spec, at::Generator& gen)
{
    auto options = at::TensorOptions().dtype(at::kFloat);
    int64_t fanIn = 1;
    for (size_t d = 1; d < spec.shape.size(); ++d) fanIn *= spec.shape[d];
    switch (spec.init) {
    case TensorInit::Ones:
        return at::ones(spec.shape, options);
    case TensorInit::Zeros:
        return at::zeros(spec.shape, options);
    case TensorInit::WeightNormG:
        return at::empty(spec.shape, options).uniform_(0.5, 1.5, gen);
    case TensorInit::Sinusoidal:
        return sinusoids(spec.shape.at(0), spec.shape.at(1));
    case TensorInit::Codebook:
        return at::empty(spec.shape, options).normal_(0.0, 1.0, gen);
    case TensorInit::Normal:
        break;
    }
    return at::empty(spec.shape, options)
        .normal_(0.0, 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(1, fanIn))), gen);
}

nlohmann::json generationConfig(const MusicgenConfig& config)
{
    const int64_t pad = config.decoder.padTokenId;
    return { { "bos_token_id", pad }, { "decoder_start_token_id", pad }, { "pad_token_id", pad }, { "do_sample", true },
        { "guidance_scale", 3.0 }, { "max_length", 1500 },
        { "_comment", "written by tastemaker-cli make-model (random weights)" } };
}

} // namespace

Expected<void> makeRandomModel(const MakeModelOptions& options)
{
    Expected<std::string> configText = readFileText(options.configJson);
    if (!configText) return configText.error();
    Expected<MusicgenConfig> config = MusicgenConfig::parse(*configText, options.configJson.string());
    if (!config) return config.error();
    std::error_code ec;
    fs::create_directories(options.outDir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, options.outDir.string(), "could not be created: " + ec.message());
    Expected<std::string> spiece = readFileText(options.spieceModel);
    if (!spiece) return spiece.error();

    std::vector<TensorSpec> specs = T5Encoder::tensorSpecs(*config);
    for (auto part : { decoderTensorSpecs(*config), Encodec::tensorSpecs(*config) })
        specs.insert(specs.end(), part.begin(), part.end());
    c10::InferenceMode guard;
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    std::vector<at::Tensor> tensors;
    std::vector<TensorView> views;
    tensors.reserve(specs.size());
    for (const TensorSpec& spec : specs) {
        tensors.push_back(initTensor(spec, gen).contiguous());
        views.push_back(viewOf(spec.name, tensors.back()));
    }
    TMK_TRY(writeSafetensors(
        options.outDir / "model.safetensors", views, { { "format", "pt" }, { "tastemaker", "random weights" } }));
    TMK_TRY(writeFileAtomic(options.outDir / "config.json", *configText));
    TMK_TRY(writeJsonFileAtomic(options.outDir / "generation_config.json", generationConfig(*config)));
    TMK_TRY(writeFileAtomic(options.outDir / "spiece.model", *spiece));
    return {};
}

} // namespace tmk
