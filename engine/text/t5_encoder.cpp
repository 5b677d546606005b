// T5 encoder forward pass, following Hugging Face's T5EncoderModel (CONVENTIONS.md §1): no embedding
// scale, no 1/sqrt(d_kv), one relative position bias from block 0 for every block, additive finfo.min
// padding mask, RMSNorm and softmax in float32.
#include "text/t5_encoder.h"

#include <cmath>
#include <limits>

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/log.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include "lm/gemv.h"
#include "tensorio/torch/weights.h"

namespace tmk {

namespace {

const std::string kPrefix = "text_encoder.encoder.";

std::string blockName(int64_t block, const std::string& rest)
{
    return kPrefix + "block." + std::to_string(block) + "." + rest;
}

std::string attentionName(int64_t block, const std::string& rest)
{
    return blockName(block, "layer.0.SelfAttention." + rest);
}

std::string ffnName(int64_t block, const std::string& rest)
{
    return blockName(block, "layer.1.DenseReluDense." + rest);
}

// Bucket of every relative position j - i in [-(S-1), S-1], as Hugging Face's
// T5Attention._relative_position_bucket (bidirectional) computes it, in the same float32 tensor ops on
// the CPU so that distances on a bucket boundary land in the same bucket: [2S - 1] int64.
at::Tensor relativeBuckets(int64_t length, int64_t numBuckets, int64_t maxDistance)
{
    const int64_t half = numBuckets / 2;
    const int64_t maxExact = half / 2;
    at::Tensor relative = at::arange(-(length - 1), length, at::TensorOptions().dtype(at::kLong)); // [2S-1]
    at::Tensor base = relative.gt(0).to(at::kLong) * half;
    at::Tensor distance = relative.abs();
    // The log branch only for distance >= maxExact: the clamp keeps log(0) = -inf out of the cast.
    at::Tensor logScaled = at::log(distance.clamp_min(maxExact).to(at::kFloat) / maxExact)
        / std::log(static_cast<double>(maxDistance) / static_cast<double>(maxExact)) * (half - maxExact);
    at::Tensor large = (logScaled.to(at::kLong) + maxExact).clamp_max(half - 1);
    return base + at::where(distance.lt(maxExact), distance, large);
}

// Hugging Face clamps float16 activations after each residual so that inf never spreads.
at::Tensor clampForHalf(const at::Tensor& x)
{
    if (x.scalar_type() != at::kHalf) return x;
    const double limit = 65504.0 - 1000.0; // finfo(float16).max - 1000
    return x.clamp(-limit, limit);
}

// CPU libtorch 1.13 has no float16 matrix multiply; say so at load time rather than mid-generation.
Expected<void> checkMatmulSupport(const at::TensorOptions& options)
{
    try {
        c10::InferenceMode guard;
        at::Tensor probe = at::ones({ 2, 2 }, options);
        (void)at::linear(probe, probe);
        return {};
    } catch (const c10::Error&) {
        return Error { ErrorCode::Unsupported,
            std::string("T5 encoder: ") + at::toString(options.dtype().toScalarType())
                + " matrix multiplication is not available on " + options.device().str() + " in this libtorch" };
    }
}

} // namespace

std::vector<TensorSpec> T5Encoder::tensorSpecs(const MusicgenConfig& config)
{
    const T5Config& c = config.text;
    const int64_t d = c.dModel, inner = c.innerDim();
    std::vector<TensorSpec> specs { { "text_encoder.shared.weight", { c.vocabSize, d }, TensorInit::Normal } };
    for (int64_t i = 0; i < c.numLayers; ++i) {
        for (const char* name : { "q", "k", "v" })
            specs.push_back({ attentionName(i, std::string(name) + ".weight"), { inner, d }, TensorInit::Normal });
        specs.push_back({ attentionName(i, "o.weight"), { d, inner }, TensorInit::Normal });
        if (i == 0)
            specs.push_back({ attentionName(i, "relative_attention_bias.weight"), { c.numBuckets, c.numHeads },
                TensorInit::Normal });
        specs.push_back({ blockName(i, "layer.0.layer_norm.weight"), { d }, TensorInit::Ones });
        if (c.gatedGelu) {
            specs.push_back({ ffnName(i, "wi_0.weight"), { c.dFf, d }, TensorInit::Normal });
            specs.push_back({ ffnName(i, "wi_1.weight"), { c.dFf, d }, TensorInit::Normal });
        } else {
            specs.push_back({ ffnName(i, "wi.weight"), { c.dFf, d }, TensorInit::Normal });
        }
        specs.push_back({ ffnName(i, "wo.weight"), { d, c.dFf }, TensorInit::Normal });
        specs.push_back({ blockName(i, "layer.1.layer_norm.weight"), { d }, TensorInit::Ones });
    }
    specs.push_back({ kPrefix + "final_layer_norm.weight", { d }, TensorInit::Ones });
    return specs;
}

Expected<T5Encoder::Block> T5Encoder::loadBlock(
    WeightStore& weights, const T5Config& c, int64_t index, const at::TensorOptions& options)
{
    const int64_t d = c.dModel, inner = c.innerDim();
    const at::TensorOptions f32 = options.dtype(at::kFloat);
    auto get = [&](const std::string& name, const std::vector<int64_t>& shape, const at::TensorOptions& o,
                   at::Tensor* out) -> Expected<void> {
        Expected<at::Tensor> tensor = weights.get(name, shape, o);
        if (!tensor) return tensor.error();
        *out = std::move(*tensor);
        return {};
    };
    Block block;
    at::Tensor q, k, v;
    TMK_TRY(get(attentionName(index, "q.weight"), { inner, d }, options, &q));
    TMK_TRY(get(attentionName(index, "k.weight"), { inner, d }, options, &k));
    TMK_TRY(get(attentionName(index, "v.weight"), { inner, d }, options, &v));
    block.qkv = at::cat({ q, k, v }, 0).contiguous(); // [3 * inner, D]
    TMK_TRY(get(attentionName(index, "o.weight"), { d, inner }, options, &block.out));
    TMK_TRY(get(blockName(index, "layer.0.layer_norm.weight"), { d }, f32, &block.attentionNorm));
    if (c.gatedGelu) {
        TMK_TRY(get(ffnName(index, "wi_0.weight"), { c.dFf, d }, options, &block.wi));
        TMK_TRY(get(ffnName(index, "wi_1.weight"), { c.dFf, d }, options, &block.wiLinear));
    } else {
        TMK_TRY(get(ffnName(index, "wi.weight"), { c.dFf, d }, options, &block.wi));
    }
    TMK_TRY(get(ffnName(index, "wo.weight"), { d, c.dFf }, options, &block.wo));
    TMK_TRY(get(blockName(index, "layer.1.layer_norm.weight"), { d }, f32, &block.ffnNorm));
    return block;
}

Expected<T5Encoder> T5Encoder::load(
    WeightStore& weights, const MusicgenConfig& config, const at::TensorOptions& options)
{
    const T5Config& c = config.text;
    const at::ScalarType dtype = at::typeMetaToScalarType(options.dtype());
    if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf)
        return Error { ErrorCode::InvalidArgument,
            std::string("T5 encoder: compute dtype ") + at::toString(dtype) + " is not float32, bfloat16 or float16" };
    TMK_TRY(checkMatmulSupport(options));
    if (c.numLayers <= 0 || c.numHeads <= 0 || c.dKv <= 0 || c.dModel <= 0 || c.numBuckets < 4)
        return Error::inFile(
            ErrorCode::Mismatch, (config.dir / "config.json").string(), "text_encoder has no usable T5 sizes");
    T5Encoder encoder;
    encoder.m_config = c;
    encoder.m_dtype = dtype;
    encoder.m_widenProducts = gemv::widensBf16Products(dtype == at::kBFloat16, options.device().is_cpu());
    const at::TensorOptions f32 = options.dtype(at::kFloat);
    Expected<at::Tensor> embedding = weights.getAny(
        { "text_encoder.shared.weight", kPrefix + "embed_tokens.weight" }, { c.vocabSize, c.dModel }, options);
    if (!embedding) return embedding.error();
    encoder.m_embedding = std::move(*embedding);
    Expected<at::Tensor> bias
        = weights.get(attentionName(0, "relative_attention_bias.weight"), { c.numBuckets, c.numHeads }, f32);
    if (!bias) return bias.error();
    encoder.m_relativeBias = std::move(*bias);
    for (int64_t i = 0; i < c.numLayers; ++i) {
        Expected<Block> block = loadBlock(weights, c, i, options);
        if (!block) return block.error();
        encoder.m_blocks.push_back(std::move(*block));
    }
    Expected<at::Tensor> finalNorm = weights.get(kPrefix + "final_layer_norm.weight", { c.dModel }, f32);
    if (!finalNorm) return finalNorm.error();
    encoder.m_finalNorm = std::move(*finalNorm);
    return encoder;
}

at::Tensor T5Encoder::positionBias(int64_t length) const
{
    const at::Device device = m_relativeBias.device();
    at::Tensor buckets = relativeBuckets(length, m_config.numBuckets, m_config.maxDistance).to(device); // [2S-1]
    at::Tensor positions = at::arange(length, at::TensorOptions().dtype(at::kLong).device(device)); // [S]
    at::Tensor relative = positions.unsqueeze(0) - positions.unsqueeze(1) + (length - 1); // [S, S]: j - i + S - 1
    at::Tensor bias = at::embedding(m_relativeBias, buckets.take(relative)); // [S, S, H]
    return bias.permute({ 2, 0, 1 }).unsqueeze(0); // [1, H, S, S]
}

at::Tensor T5Encoder::rmsNorm(const at::Tensor& x, const at::Tensor& weight) const
{
    at::Tensor x32 = x.to(at::kFloat); // [B, S, D]
    at::Tensor variance = x32.pow(2).mean(-1, /*keepdim=*/true); // [B, S, 1]
    return (x32 * at::rsqrt(variance + m_config.layerNormEps) * weight).to(m_dtype);
}

at::Tensor T5Encoder::linear(const at::Tensor& x, const at::Tensor& weight) const
{
    if (!m_widenProducts || weight.scalar_type() != at::kBFloat16) return at::linear(x, weight);
    return at::linear(x.to(at::kFloat), weight.to(at::kFloat)).to(x.scalar_type()); // rounded once, as at::linear
}

at::Tensor T5Encoder::attention(const Block& block, const at::Tensor& x, const at::Tensor& bias) const
{
    const int64_t batch = x.size(0), length = x.size(1), heads = m_config.numHeads, dKv = m_config.dKv;
    at::Tensor qkv = linear(rmsNorm(x, block.attentionNorm), block.qkv); // [B, S, 3 * inner]
    qkv = qkv.view({ batch, length, 3, heads, dKv }).permute({ 2, 0, 3, 1, 4 }); // [3, B, H, S, dKv]
    at::Tensor scores = at::matmul(qkv[0], qkv[1].transpose(-1, -2)); // [B, H, S, S], no 1/sqrt(dKv)
    at::Tensor weights = at::softmax(scores.to(at::kFloat) + bias, -1).to(m_dtype);
    at::Tensor context = at::matmul(weights, qkv[2]); // [B, H, S, dKv]
    context = context.transpose(1, 2).reshape({ batch, length, heads * dKv }); // [B, S, inner]
    return linear(context, block.out); // [B, S, D]
}

at::Tensor T5Encoder::feedForward(const Block& block, const at::Tensor& x) const
{
    at::Tensor h = rmsNorm(x, block.ffnNorm); // [B, S, D]
    at::Tensor inner; // [B, S, F]
    if (block.wiLinear.defined())
        inner = at::gelu(linear(h, block.wi), "tanh") * linear(h, block.wiLinear); // gelu_new
    else
        inner = at::relu(linear(h, block.wi));
    return linear(inner, block.wo); // [B, S, D]
}

at::Tensor T5Encoder::forward(const at::Tensor& ids, const at::Tensor& mask) const
{
    c10::InferenceMode guard;
    return run(ids, mask);
}

at::Tensor T5Encoder::forwardWithGrad(const at::Tensor& ids, const at::Tensor& mask) const
{
    return run(ids, mask);
}

std::vector<std::pair<std::string, at::Tensor>> T5Encoder::namedTensors() const
{
    const int64_t inner = m_config.innerDim();
    std::vector<std::pair<std::string, at::Tensor>> named { { "text_encoder.shared.weight", m_embedding } };
    for (size_t i = 0; i < m_blocks.size(); ++i) {
        const Block& b = m_blocks[i];
        const auto index = static_cast<int64_t>(i);
        named.emplace_back(attentionName(index, "q.weight"), b.qkv.narrow(0, 0, inner));
        named.emplace_back(attentionName(index, "k.weight"), b.qkv.narrow(0, inner, inner));
        named.emplace_back(attentionName(index, "v.weight"), b.qkv.narrow(0, 2 * inner, inner));
        named.emplace_back(attentionName(index, "o.weight"), b.out);
        if (i == 0) named.emplace_back(attentionName(0, "relative_attention_bias.weight"), m_relativeBias);
        named.emplace_back(blockName(index, "layer.0.layer_norm.weight"), b.attentionNorm);
        if (b.wiLinear.defined()) {
            named.emplace_back(ffnName(index, "wi_0.weight"), b.wi);
            named.emplace_back(ffnName(index, "wi_1.weight"), b.wiLinear);
        } else {
            named.emplace_back(ffnName(index, "wi.weight"), b.wi);
        }
        named.emplace_back(ffnName(index, "wo.weight"), b.wo);
        named.emplace_back(blockName(index, "layer.1.layer_norm.weight"), b.ffnNorm);
    }
    named.emplace_back(kPrefix + "final_layer_norm.weight", m_finalNorm);
    return named;
}

std::vector<at::Tensor> T5Encoder::trainableTensors() const
{
    std::vector<at::Tensor> leaves { m_embedding, m_relativeBias, m_finalNorm };
    for (const Block& b : m_blocks)
        for (const at::Tensor& t : { b.attentionNorm, b.qkv, b.out, b.ffnNorm, b.wi, b.wiLinear, b.wo })
            if (t.defined()) leaves.push_back(t);
    return leaves;
}

at::Tensor T5Encoder::run(const at::Tensor& ids, const at::Tensor& mask) const
{
    TORCH_CHECK(ids.dim() == 2 && !at::isFloatingType(ids.scalar_type()) && ids.scalar_type() != at::kBool,
        "T5 encoder: ids must be an integer tensor [B, S], got ", ids.scalar_type(), " ", ids.sizes());
    TORCH_CHECK(mask.sizes() == ids.sizes(), "T5 encoder: mask ", mask.sizes(), " does not match ids ", ids.sizes());
    const at::Device device = m_embedding.device();
    const int64_t batch = ids.size(0), length = ids.size(1);
    if (ids.numel() == 0) return at::zeros({ batch, length, m_config.dModel }, m_embedding.options());
    at::Tensor tokens = ids.to(device, at::kLong); // [B, S]
    const int64_t lowest = tokens.min().item<int64_t>(), highest = tokens.max().item<int64_t>();
    TORCH_CHECK(lowest >= 0 && highest < m_config.vocabSize, "T5 encoder: token ids must lie in [0, ",
        m_config.vocabSize, "), got ", lowest, "..", highest);
    // Additive padding mask on the keys, finfo(float32).min (not -inf, so all-padding rows stay finite).
    at::Tensor maskBias = (1.0 - mask.to(device, at::kFloat)) * std::numeric_limits<float>::lowest(); // [B, S]
    at::Tensor bias = positionBias(length) + maskBias.view({ batch, 1, 1, length }); // [B, H, S, S]
    at::Tensor x = at::embedding(m_embedding, tokens); // [B, S, D], no sqrt(D) scaling
    for (const Block& block : m_blocks) {
        x = clampForHalf(x + attention(block, x, bias));
        x = clampForHalf(x + feedForward(block, x));
    }
    return rmsNorm(x, m_finalNorm); // [B, S, D]
}

} // namespace tmk
