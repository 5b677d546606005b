#include <chrono>

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <torch/cuda.h>

#include "lm/gemv.h"
#include "pipeline/model_impl.h"
#include "tensorio/torch/weights.h"

namespace tmk {

namespace fs = std::filesystem;

Expected<DeviceKind> parseDeviceKind(const std::string& text)
{
    if (text == "cpu") return DeviceKind::Cpu;
    if (text == "cuda") return DeviceKind::Cuda;
    return Error { ErrorCode::InvalidArgument, "unknown device '" + text + "' (valid: cpu, cuda)" };
}

Expected<WeightPlacement> parseWeightPlacement(const std::string& text)
{
    if (text == "auto") return WeightPlacement::Auto;
    if (text == "mapped") return WeightPlacement::Mapped;
    if (text == "copied") return WeightPlacement::Copied;
    return Error { ErrorCode::InvalidArgument,
        "unknown weight placement '" + text + "' (valid: auto, mapped, copied)" };
}

Expected<ComputeDType> parseComputeDType(const std::string& text)
{
    if (text == "f32") return ComputeDType::F32;
    if (text == "bf16") return ComputeDType::BF16;
    if (text == "f16") return ComputeDType::F16;
    return Error { ErrorCode::InvalidArgument, "unknown dtype '" + text + "' (valid: f32, bf16, f16)" };
}

const char* deviceKindName(DeviceKind device)
{
    return device == DeviceKind::Cuda ? "cuda" : "cpu";
}

const char* computeDTypeName(ComputeDType dtype)
{
    switch (dtype) {
    case ComputeDType::F32:
        return "f32";
    case ComputeDType::BF16:
        return "bf16";
    case ComputeDType::F16:
        return "f16";
    }
    return "?";
}

namespace {

Expected<void> checkDeviceSupport(const ModelOptions& options)
{
    if (options.device == DeviceKind::Cuda && !torch::cuda::is_available())
        return Error { ErrorCode::Device,
            "CUDA was requested, but this build's libtorch has no CUDA or no NVIDIA GPU is present; use --device cpu" };
    if (options.device == DeviceKind::Cpu && options.dtype == ComputeDType::F16)
        return Error { ErrorCode::Unsupported, "f16 is only supported on CUDA; on the CPU use f32 or bf16" };
    return {};
}

Expected<void> refusePickleOnly(const fs::path& dir)
{
    std::error_code ec;
    if (fs::exists(dir / "model.safetensors", ec) || fs::exists(dir / "model.safetensors.index.json", ec)) return {};
    for (const char* name : { "pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.bin" })
        if (fs::exists(dir / name, ec))
            return Error::inFile(ErrorCode::Unsupported, dir.string(),
                std::string("holds only a PyTorch pickle checkpoint (") + name
                    + "); Tastemaker never unpickles files. Convert it once in Python with "
                      "MusicgenForConditionalGeneration.from_pretrained(dir).save_pretrained(dir, "
                      "safe_serialization=True)");
    return {};
}

// WeightPlacement::Auto copies: a CPU step streams every weight (1.4 GB in f32, 0.7 GB in bf16 at musicgen-small's
// size) and ran 30-40% faster from huge pages than from the page cache's 4 KiB pages, in both dtypes. On a GPU
// the weights are copied to the device either way.
WeightResidence residenceFor(const ModelOptions& options)
{
    return options.weights == WeightPlacement::Mapped ? WeightResidence::Mapped : WeightResidence::Copied;
}

at::ScalarType scalarTypeOf(ComputeDType dtype)
{
    switch (dtype) {
    case ComputeDType::BF16:
        return at::kBFloat16;
    case ComputeDType::F16:
        return at::kHalf;
    case ComputeDType::F32:
        break;
    }
    return at::kFloat;
}

void fillInfo(MusicgenModel::Impl& impl, const fs::path& dir, const ModelOptions& options)
{
    const MusicgenConfig& c = impl.config;
    ModelInfo& info = impl.info;
    info.dir = dir;
    info.name = fs::weakly_canonical(dir).filename().string();
    info.numCodebooks = c.decoder.numCodebooks;
    info.codebookSize = c.decoder.vocabSize;
    info.sampleRate = static_cast<int>(c.codec.samplingRate);
    info.frameRate = c.codec.frameRate();
    info.hopLength = c.codec.hopLength();
    info.maxFrames = c.decoder.maxPositions - c.decoder.numCodebooks;
    for (const std::string& name : impl.decoder->parameterNames()) {
        const at::Tensor* weight = impl.decoder->parameter(name);
        info.decoderParameters += weight->numel();
        const auto bytes = static_cast<int64_t>(weight->nbytes());
        info.decoderBytes += bytes;
        const bool perStep = name.find("embed_") == std::string::npos
            && name.find("enc_to_dec_proj") == std::string::npos
            && name.find("encoder_attn.k_proj") == std::string::npos
            && name.find("encoder_attn.v_proj") == std::string::npos;
        if (perStep) info.decoderStepBytes += bytes;
    }
    info.sampling = c.generation.sampling;
    info.options = options;
}

Expected<void> loadParts(
    MusicgenModel::Impl& impl, const fs::path& dir, WeightResidence residence, const ProgressCallback& progress)
{
    auto report = [&](ProgressStage stage, int done) {
        if (progress) progress(Progress { stage, done, 5 });
    };
    report(ProgressStage::LoadingTokenizer, 0);
    Expected<T5Tokenizer> tokenizer = T5Tokenizer::load(dir / "spiece.model");
    if (!tokenizer) return tokenizer.error();
    impl.tokenizer.emplace(std::move(*tokenizer));
    report(ProgressStage::LoadingWeights, 1);
    Expected<WeightStore> weights = WeightStore::open(dir, residence);
    if (!weights) return weights.error();
    impl.info.untrained = weights->metadataValue("tastemaker") == "random weights";
    const at::TensorOptions compute = at::TensorOptions().dtype(impl.computeType).device(impl.device);
    report(ProgressStage::LoadingTextEncoder, 2);
    Expected<T5Encoder> text = T5Encoder::load(*weights, impl.config, compute);
    if (!text) return text.error();
    impl.textEncoder.emplace(std::move(*text));
    report(ProgressStage::LoadingDecoder, 3);
    Expected<MusicgenDecoder> decoder = MusicgenDecoder::load(*weights, impl.config, compute);
    if (!decoder) return decoder.error();
    impl.decoder.emplace(std::move(*decoder));
    // bf16 on a CPU without bf16 dot products: float32 activations over the bf16 weights (decoder.h: setAutocast).
    if (gemv::widensBf16Products(impl.computeType == at::kBFloat16, impl.device.is_cpu()))
        impl.decoder->setAutocast(true);
    report(ProgressStage::LoadingAudioCodec, 4);
    Expected<Encodec> codec = Encodec::load(*weights, impl.config, compute.dtype(at::kFloat));
    if (!codec) return codec.error();
    impl.codec.emplace(std::move(*codec));
    report(ProgressStage::Loaded, 5);
    return {};
}

} // namespace

MusicgenModel::MusicgenModel(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{
}
MusicgenModel::~MusicgenModel() = default;
const ModelInfo& MusicgenModel::info() const
{
    return m_impl->info;
}

Expected<std::shared_ptr<const MusicgenModel>> MusicgenModel::load(
    const fs::path& dir, const ModelOptions& options, const ProgressCallback& progress)
{
    TMK_TRY(checkDeviceSupport(options));
    std::error_code ec;
    if (fs::is_directory(dir, ec)) TMK_TRY(refusePickleOnly(dir));
    Expected<MusicgenConfig> config = MusicgenConfig::load(dir);
    if (!config) return config.error();
    auto impl = std::make_unique<Impl>();
    impl->config = std::move(*config);
    impl->device = options.device == DeviceKind::Cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
    impl->computeType = scalarTypeOf(options.dtype);
    try {
        // No grad, but not InferenceMode: the weights must be normal tensors, as DPO training runs the
        // decoder under autograd (inference tensors cannot be saved for backward).
        at::NoGradGuard guard;
        TMK_TRY(loadParts(*impl, dir, residenceFor(options), progress));
    } catch (const c10::Error& e) {
        return Error::inFile(
            ErrorCode::Internal, dir.string(), std::string("could not be loaded: ") + e.what_without_backtrace());
    } catch (const std::bad_alloc&) {
        return Error::inFile(ErrorCode::Device, dir.string(), "could not be loaded: out of memory");
    }
    fillInfo(*impl, dir, options);
    return std::shared_ptr<const MusicgenModel>(new MusicgenModel(std::move(impl)));
}

} // namespace tmk
