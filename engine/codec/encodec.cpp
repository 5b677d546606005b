#include "codec/encodec.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/stack.h>
#include <c10/core/InferenceMode.h>

#include "codec/encodec_layers.h"
#include "tensorio/torch/weights.h"

namespace tmk {

namespace {

std::string codebookName(int64_t index)
{
    return "audio_encoder.quantizer.layers." + std::to_string(index) + ".codebook.embed";
}

Expected<void> checkSupported(const EncodecConfig& codec, const std::string& where)
{
    if (codec.useCausalConv || codec.useConvShortcut || codec.normalize || codec.padMode != "reflect")
        return Error::inFile(ErrorCode::Unsupported, where,
            "EnCodec with causal convolutions, conv shortcuts, normalisation or non-reflect padding "
            "is not supported");
    if (codec.upsamplingRatios.empty() || codec.numQuantizers() < 1 || codec.compress < 1)
        return Error::inFile(ErrorCode::Mismatch, where, "the EnCodec config has no ratios, quantizers or compression");
    for (int64_t ratio : codec.upsamplingRatios)
        if (ratio < 1) return Error::inFile(ErrorCode::Mismatch, where, "an EnCodec upsampling ratio is below 1");
    return {};
}

} // namespace

struct Encodec::Impl {
    EncodecConfig config;
    encodec::Encoder encoder;
    encodec::Decoder decoder;
    std::vector<at::Tensor> codebooks; // [V, D] each
    std::vector<at::Tensor> codebookNorms; // [1, V] each: ||e||²
    at::TensorOptions options; // float32 on the codec's device
};

Encodec::Encodec(std::shared_ptr<const Impl> impl)
    : m_impl(std::move(impl))
{
}

Expected<Encodec> Encodec::load(WeightStore& weights, const MusicgenConfig& config, const at::TensorOptions& options)
{
    const EncodecConfig& codec = config.codec;
    TMK_TRY(checkSupported(codec, weights.description()));
    c10::InferenceMode guard;
    try {
        auto impl = std::make_shared<Impl>();
        impl->config = codec;
        impl->options = at::TensorOptions().dtype(at::kFloat).device(options.device());
        Expected<encodec::Encoder> encoder = encodec::Encoder::load(weights, codec, impl->options);
        if (!encoder) return encoder.error();
        impl->encoder = std::move(*encoder);
        Expected<encodec::Decoder> decoder = encodec::Decoder::load(weights, codec, impl->options);
        if (!decoder) return decoder.error();
        impl->decoder = std::move(*decoder);
        for (int64_t q = 0; q < codec.numQuantizers(); ++q) {
            Expected<at::Tensor> embed
                = weights.get(codebookName(q), { codec.codebookSize, codec.codebookDim }, impl->options);
            if (!embed) return embed.error();
            impl->codebookNorms.push_back(embed->pow(2).sum(1).unsqueeze(0)); // [1, V]
            impl->codebooks.push_back(std::move(*embed));
        }
        return Encodec(std::move(impl));
    } catch (const c10::Error& error) {
        return Error::inFile(ErrorCode::Internal, weights.description(),
            std::string("loading EnCodec failed: ") + error.what_without_backtrace());
    }
}

at::Tensor Encodec::encodeLatent(const at::Tensor& audio) const // [B, 1, L] -> [B, D, ceil(L / hop)]
{
    c10::InferenceMode guard;
    TORCH_CHECK(audio.dim() == 3 && audio.size(1) == m_impl->config.audioChannels && audio.size(2) >= 1,
        "Encodec::encode: audio must be [batch, ", m_impl->config.audioChannels, ", samples >= 1], got ",
        audio.sizes());
    return m_impl->encoder.forward(audio.to(m_impl->options));
}

at::Tensor Encodec::quantize(const at::Tensor& latent, int64_t numQuantizers) const // [B, D, T] -> [B, nq, T]
{
    c10::InferenceMode guard;
    TORCH_CHECK(latent.dim() == 3 && latent.size(1) == latentDim(), "Encodec::quantize: latent must be [batch, ",
        latentDim(), ", frames], got ", latent.sizes());
    TORCH_CHECK(numQuantizers >= 1 && numQuantizers <= codebookCount(), "Encodec::quantize: ", numQuantizers,
        " quantizers asked for, the codec has 1 to ", codebookCount());
    const int64_t batch = latent.size(0);
    const int64_t frames = latent.size(2);
    // Rows are (batch, frame) pairs, as in HF's permute(0, 2, 1).reshape(-1, D).
    at::Tensor residual = latent.to(m_impl->options).permute({ 0, 2, 1 }).reshape({ -1, latentDim() }); // [B*T, D]
    std::vector<at::Tensor> codes;
    for (int64_t q = 0; q < numQuantizers; ++q) {
        const at::Tensor& embed = m_impl->codebooks[q]; // [V, D]
        // HF: argmax of -(||r||² - 2 r·e + ||e||²), evaluated in this order.
        at::Tensor distance = residual.pow(2).sum(1, /*keepdim=*/true) - at::matmul(2 * residual, embed.t())
            + m_impl->codebookNorms[q]; // [B*T, V]
        at::Tensor index = std::get<1>(distance.neg().max(1)); // [B*T]
        residual = residual - embed.index_select(0, index);
        codes.push_back(index.view({ batch, frames }));
    }
    return at::stack(codes, 1); // [B, nq, T]
}

at::Tensor Encodec::encode(const at::Tensor& audio, int64_t numQuantizers) const // [B, 1, L] -> [B, nq, T]
{
    return quantize(encodeLatent(audio), numQuantizers);
}

at::Tensor Encodec::dequantize(const at::Tensor& codes) const // [B, K, T] -> [B, D, T]
{
    c10::InferenceMode guard;
    TORCH_CHECK(codes.dim() == 3 && codes.size(1) >= 1 && codes.size(1) <= codebookCount() && codes.size(2) >= 1,
        "Encodec::decode: codes must be [batch, 1..", codebookCount(), " codebooks, frames >= 1], got ", codes.sizes());
    TORCH_CHECK(!at::isFloatingType(codes.scalar_type()), "Encodec::decode: codes must be integers");
    at::Tensor ids = codes.to(m_impl->options.device(), at::kLong); // [B, K, T]
    if (ids.numel() > 0) {
        const int64_t low = ids.min().item<int64_t>();
        const int64_t high = ids.max().item<int64_t>();
        TORCH_CHECK(low >= 0 && high < codebookSize(), "Encodec::decode: codes range from ", low, " to ", high,
            ", outside the codebook of ", codebookSize());
    }
    at::Tensor latent; // [B, T, D]
    for (int64_t k = 0; k < ids.size(1); ++k) {
        at::Tensor part = at::embedding(m_impl->codebooks[k], ids.select(1, k)); // [B, T, D]
        latent = k == 0 ? part : latent + part;
    }
    return latent.permute({ 0, 2, 1 }).contiguous();
}

at::Tensor Encodec::decodeLatent(const at::Tensor& latent) const // [B, D, T] -> [B, 1, T * hop]
{
    c10::InferenceMode guard;
    TORCH_CHECK(latent.dim() == 3 && latent.size(1) == latentDim() && latent.size(2) >= 1,
        "Encodec::decodeLatent: latent must be [batch, ", latentDim(), ", frames >= 1], got ", latent.sizes());
    return m_impl->decoder.forward(latent.to(m_impl->options)).contiguous();
}

at::Tensor Encodec::decode(const at::Tensor& codes) const // [B, K, T] -> [B, 1, T * hop]
{
    return decodeLatent(dequantize(codes));
}

int64_t Encodec::hopLength() const
{
    return m_impl->config.hopLength();
}
int64_t Encodec::sampleRate() const
{
    return m_impl->config.samplingRate;
}
int64_t Encodec::codebookCount() const
{
    return static_cast<int64_t>(m_impl->codebooks.size());
}
int64_t Encodec::codebookSize() const
{
    return m_impl->config.codebookSize;
}
int64_t Encodec::latentDim() const
{
    return m_impl->config.codebookDim;
}
at::Device Encodec::device() const
{
    return m_impl->options.device();
}

int64_t Encodec::defaultQuantizers() const
{
    return m_impl->config.quantizersForBandwidth(m_impl->config.targetBandwidths.front());
}

std::vector<TensorSpec> Encodec::tensorSpecs(const MusicgenConfig& config)
{
    const EncodecConfig& codec = config.codec;
    std::vector<TensorSpec> specs;
    encodec::appendTensorSpecs(encodec::encoderLayout(codec), specs);
    encodec::appendTensorSpecs(encodec::decoderLayout(codec), specs);
    for (int64_t q = 0; q < codec.numQuantizers(); ++q)
        specs.push_back({ codebookName(q), { codec.codebookSize, codec.codebookDim }, TensorInit::Codebook });
    return specs;
}

} // namespace tmk
