#include "lm/decoder.h"

#include <array>
#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/full.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/layer_norm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/mv.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include "lm/gemv.h"
#include "lm/step_pool.h"
#include "tensorio/torch/weights.h"

namespace tmk {

namespace {

constexpr double kLayerNormEps = 1e-5; // hard-coded in Hugging Face's MusicGen, not read from config
constexpr int64_t kMaxGemvRows = 4; // linear(): up to this many rows use rowsTimesWeights on the CPU
constexpr int64_t kGemvGrainRows = 64; // rowsTimesWeights: output rows per parallel chunk, at least
const std::string kDecoderPrefix = "decoder.model.decoder.";
const std::string kPositionsName = kDecoderPrefix + "embed_positions.weights";

std::string layerPrefix(int64_t layer)
{
    return kDecoderPrefix + "layers." + std::to_string(layer) + ".";
}

void addLayerSpecs(std::vector<TensorSpec>& specs, const DecoderConfig& d, int64_t layer)
{
    const std::string p = layerPrefix(layer);
    const int64_t h = d.hiddenSize;
    for (const char* attention : { "self_attn", "encoder_attn" })
        for (const char* proj : { "q_proj", "k_proj", "v_proj", "out_proj" })
            specs.push_back({ p + attention + "." + proj + ".weight", { h, h }, TensorInit::Normal });
    for (const char* norm : { "self_attn_layer_norm", "encoder_attn_layer_norm", "final_layer_norm" }) {
        specs.push_back({ p + norm + ".weight", { h }, TensorInit::Ones });
        specs.push_back({ p + norm + ".bias", { h }, TensorInit::Zeros });
    }
    specs.push_back({ p + "fc1.weight", { d.ffnDim, h }, TensorInit::Normal });
    specs.push_back({ p + "fc2.weight", { h, d.ffnDim }, TensorInit::Normal });
}

// [B, 1, 1, S] float32: 0 where mask is set, finfo(float32).min where it is 0 (additive, never -inf).
at::Tensor encoderBias(const at::Tensor& mask)
{
    const float lowest = std::numeric_limits<float>::lowest();
    at::Tensor bias = at::zeros(mask.sizes(), mask.options().dtype(at::kFloat));
    return bias.masked_fill(mask.eq(0), lowest).unsqueeze(1).unsqueeze(1);
}

// [L, start + L] float32: query i may see keys j <= start + i.
at::Tensor causalBias(int64_t length, int64_t start, const at::Device& device)
{
    const float lowest = std::numeric_limits<float>::lowest();
    return at::full({ length, start + length }, lowest, at::TensorOptions().dtype(at::kFloat).device(device))
        .triu(start + 1);
}

// A decode step on the CPU (CFG: 2 rows): y[r] = W x[r] with gemv.h's kernel, which reads each row of W
// once for all the rows, over output rows shared out among the intra-op threads in one parallel region.
// W is float32 or bfloat16 (with bf16 rows and AVX-512-BF16: the dot-product instruction); y is float32. Before it,
// every ~1 MB block of W went through the (OpenMP) BLAS's sgemv, which opened a parallel region per block and row
// (~2,800 a step at musicgen-small's size), each a futex wake-up under the passive OpenMP wait that the process sets
// (tastemaker/process.h).
// Pointers to the rows of a contiguous [rows <= kMaxRows, n] matrix.
template <typename T> std::array<T*, gemv::kMaxRows> rowPointers(const at::Tensor& matrix)
{
    std::array<T*, gemv::kMaxRows> rows {};
    for (int64_t r = 0; r < matrix.size(0); ++r)
        rows[static_cast<size_t>(r)] = static_cast<T*>(matrix.data_ptr()) + r * matrix.size(1);
    return rows;
}

// y_j = W_j x for several weights that share one input (q, k and v; the lm_heads), all in ONE parallel region over
// their output rows together: a region is a futex wake-up of the sleeping workers under the passive OpenMP wait.
// Every W_j is [out_j, in], contiguous, and of one dtype.
std::vector<at::Tensor> rowsTimesWeights(const at::Tensor& rows, const std::vector<const at::Tensor*>& weights)
{
    const int64_t count = rows.size(0), in = weights.front()->size(1);
    const bool bf16 = weights.front()->scalar_type() == at::kBFloat16;
    const bool dot = bf16 && rows.scalar_type() == at::kBFloat16 && gemv::hasBf16DotProduct(); // bf16 x bf16
    const at::Tensor x = dot || rows.scalar_type() == at::kFloat ? rows.contiguous() : rows.to(at::kFloat).contiguous();
    const auto halves = dot ? rowPointers<const uint16_t>(x) : std::array<const uint16_t*, gemv::kMaxRows> {};
    const auto floats = dot ? std::array<const float*, gemv::kMaxRows> {} : rowPointers<const float>(x);
    struct Part {
        const void* w;
        int64_t begin, end; // its rows in the joint range
        std::array<float*, gemv::kMaxRows> outputs;
    };
    std::vector<at::Tensor> ys;
    std::vector<Part> parts;
    int64_t total = 0;
    for (const at::Tensor* weight : weights) {
        ys.push_back(at::empty({ count, weight->size(0) }, x.options().dtype(at::kFloat))); // [rows, out_j] float32
        parts.push_back({ weight->data_ptr(), total, total + weight->size(0), rowPointers<float>(ys.back()) });
        total += weight->size(0);
    }
    const int n = static_cast<int>(count);
    const auto body = [&](int64_t first, int64_t last) {
        for (const Part& part : parts) {
            const int64_t a = std::max(first, part.begin) - part.begin, b = std::min(last, part.end) - part.begin;
            if (a >= b) continue;
            if (dot)
                gemv::rowsTimesBf16Dot(
                    static_cast<const uint16_t*>(part.w), in, n, halves.data(), part.outputs.data(), a, b);
            else if (bf16)
                gemv::rowsTimesBf16(
                    static_cast<const uint16_t*>(part.w), in, n, floats.data(), part.outputs.data(), a, b);
            else
                gemv::rowsTimesF32(static_cast<const float*>(part.w), in, n, floats.data(), part.outputs.data(), a, b);
        }
    };
    if (const int threads = steppool::stepThreads(); threads > 0) // generation's decoding loop
        steppool::run(threads, total, kGemvGrainRows, body);
    else
        at::parallel_for(0, total, kGemvGrainRows, body);
    return ys;
}

// x W_j^T for each weight in the step kernel (x [..., in] of at most kMaxGemvRows rows): [..., out_j] float32.
std::vector<at::Tensor> stepProducts(const at::Tensor& x, const std::vector<const at::Tensor*>& weights)
{
    const int64_t in = x.size(-1);
    std::vector<at::Tensor> ys = rowsTimesWeights(x.reshape({ x.numel() / in, in }), weights);
    for (size_t j = 0; j < ys.size(); ++j) {
        std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
        shape.back() = weights[j]->size(0);
        ys[j] = ys[j].view(shape);
    }
    return ys;
}

} // namespace

std::vector<TensorSpec> decoderTensorSpecs(const MusicgenConfig& config)
{
    const DecoderConfig& d = config.decoder;
    std::vector<TensorSpec> specs;
    for (int64_t k = 0; k < d.numCodebooks; ++k)
        specs.push_back({ kDecoderPrefix + "embed_tokens." + std::to_string(k) + ".weight",
            { d.vocabSize + 1, d.hiddenSize }, TensorInit::Normal });
    specs.push_back({ kPositionsName, { d.maxPositions, d.hiddenSize }, TensorInit::Sinusoidal });
    for (int64_t layer = 0; layer < d.numLayers; ++layer) addLayerSpecs(specs, d, layer);
    specs.push_back({ kDecoderPrefix + "layer_norm.weight", { d.hiddenSize }, TensorInit::Ones });
    specs.push_back({ kDecoderPrefix + "layer_norm.bias", { d.hiddenSize }, TensorInit::Zeros });
    for (int64_t k = 0; k < d.numCodebooks; ++k)
        specs.push_back(
            { "decoder.lm_heads." + std::to_string(k) + ".weight", { d.vocabSize, d.hiddenSize }, TensorInit::Normal });
    if (config.hasEncToDecProj()) {
        specs.push_back({ "enc_to_dec_proj.weight", { d.hiddenSize, config.text.dModel }, TensorInit::Normal });
        specs.push_back({ "enc_to_dec_proj.bias", { d.hiddenSize }, TensorInit::Zeros });
    }
    return specs;
}

at::Tensor sinusoidalPositions(int64_t positions, int64_t hiddenSize)
{
    const int64_t half = hiddenSize / 2;
    const double step = std::log(10000.0) / static_cast<double>(half - 1);
    at::Tensor freq = at::exp(at::arange(half, at::kFloat) * -step); // [half]
    at::Tensor angle = at::arange(positions, at::kFloat).unsqueeze(1) * freq.unsqueeze(0); // [P, half]
    at::Tensor table = at::cat({ at::cos(angle), at::sin(angle) }, 1); // [P, 2*half]
    if (hiddenSize % 2 == 1) table = at::cat({ table, at::zeros({ positions, 1 }) }, 1); // HF pads odd sizes
    return table;
}

// Loads every tensor of decoderTensorSpecs into the model's name-addressable table.
class MusicgenDecoder::Loader {
public:
    Loader(MusicgenDecoder& model, WeightStore& store, const at::TensorOptions& options)
        : m_model(model)
        , m_store(store)
        , m_options(options)
    {
    }

    Expected<void> loadAll(const std::vector<TensorSpec>& specs)
    {
        for (const TensorSpec& spec : specs) {
            at::Tensor value;
            if (spec.name == kPositionsName && !m_store.contains(spec.name)) {
                value = sinusoidalPositions(spec.shape[0], spec.shape[1]).to(m_options).contiguous();
            } else {
                Expected<at::Tensor> loaded = m_store.get(spec.name, spec.shape, m_options);
                if (!loaded) return loaded.error();
                value = std::move(*loaded);
            }
            m_model.m_index[spec.name] = static_cast<int32_t>(m_model.m_tensors.size());
            m_model.m_names.push_back(spec.name);
            m_model.m_tensors.push_back(std::move(value));
        }
        return {};
    }

    int32_t index(const std::string& name) const { return m_model.m_index.at(name); }
    Linear linear(const std::string& prefix, bool bias = false) const
    {
        return Linear { index(prefix + ".weight"), bias ? index(prefix + ".bias") : -1 };
    }
    Norm norm(const std::string& prefix) const { return Norm { index(prefix + ".weight"), index(prefix + ".bias") }; }
    Attention attention(const std::string& prefix) const
    {
        return Attention { linear(prefix + ".q_proj"), linear(prefix + ".k_proj"), linear(prefix + ".v_proj"),
            linear(prefix + ".out_proj") };
    }

    void buildLayout(const MusicgenConfig& config)
    {
        const DecoderConfig& d = config.decoder;
        for (int64_t k = 0; k < d.numCodebooks; ++k) {
            m_model.m_embedTokens.push_back(index(kDecoderPrefix + "embed_tokens." + std::to_string(k) + ".weight"));
            m_model.m_heads.push_back(linear("decoder.lm_heads." + std::to_string(k)));
        }
        m_model.m_positions = index(kPositionsName);
        for (int64_t i = 0; i < d.numLayers; ++i) {
            const std::string p = layerPrefix(i);
            Layer layer;
            layer.selfNorm = norm(p + "self_attn_layer_norm");
            layer.crossNorm = norm(p + "encoder_attn_layer_norm");
            layer.ffnNorm = norm(p + "final_layer_norm");
            layer.self = attention(p + "self_attn");
            layer.cross = attention(p + "encoder_attn");
            layer.fc1 = linear(p + "fc1");
            layer.fc2 = linear(p + "fc2");
            m_model.m_layers.push_back(layer);
        }
        m_model.m_finalNorm = norm(kDecoderPrefix + "layer_norm");
        if (config.hasEncToDecProj()) m_model.m_encToDec = linear("enc_to_dec_proj", /*bias=*/true);
    }

private:
    MusicgenDecoder& m_model;
    WeightStore& m_store;
    at::TensorOptions m_options;
};

Expected<MusicgenDecoder> MusicgenDecoder::load(
    WeightStore& weights, const MusicgenConfig& config, const at::TensorOptions& options)
{
    const at::ScalarType dtype = options.has_dtype() ? at::typeMetaToScalarType(options.dtype()) : at::kFloat;
    if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf)
        return Error { ErrorCode::Unsupported,
            std::string("MusicGen decoder: compute dtype ") + c10::toString(dtype)
                + " is not supported (float32, bfloat16 or float16)" };
    if (config.decoder.hiddenSize % config.decoder.numHeads != 0)
        return Error { ErrorCode::Mismatch, "MusicGen decoder: hidden_size is not a multiple of num_attention_heads" };
    try {
        MusicgenDecoder model;
        model.m_config = config.decoder;
        model.m_textHidden = config.text.dModel;
        model.m_frameRate = config.codec.frameRate();
        Loader loader(model, weights, options.dtype(dtype));
        TMK_TRY(loader.loadAll(decoderTensorSpecs(config)));
        loader.buildLayout(config);
        return model;
    } catch (const c10::Error& e) {
        return Error::inFile(ErrorCode::Device, weights.description(),
            std::string("could not place the decoder weights: ") + e.what_without_backtrace());
    }
}

at::ScalarType MusicgenDecoder::dtype() const
{
    return m_tensors.front().scalar_type();
}
at::Device MusicgenDecoder::device() const
{
    return m_tensors.front().device();
}

at::Tensor* MusicgenDecoder::parameter(const std::string& hfName)
{
    auto it = m_index.find(hfName);
    return it == m_index.end() ? nullptr : &m_tensors[static_cast<size_t>(it->second)];
}

const at::Tensor* MusicgenDecoder::parameter(const std::string& hfName) const
{
    auto it = m_index.find(hfName);
    return it == m_index.end() ? nullptr : &m_tensors[static_cast<size_t>(it->second)];
}

std::vector<std::string> MusicgenDecoder::parameterNames() const
{
    return m_names;
}

at::Tensor MusicgenDecoder::linear(const at::Tensor& x, const Linear& layer) const
{
    return withLora(x, baseLinear(x, layer), layer);
}

std::vector<at::Tensor> MusicgenDecoder::linears(const at::Tensor& x, const std::vector<const Linear*>& layers) const
{
    std::vector<at::Tensor> ys;
    const at::Tensor& first = tensor(layers.front()->weight);
    const bool fused = std::all_of(layers.begin(), layers.end(), [&](const Linear* layer) {
        const at::Tensor& weight = tensor(layer->weight);
        return usesStepKernel(x, weight) && weight.scalar_type() == first.scalar_type()
            && weight.size(1) == first.size(1);
    });
    if (!fused) {
        for (const Linear* layer : layers) ys.push_back(linear(x, *layer));
        return ys;
    }
    std::vector<const at::Tensor*> weights;
    for (const Linear* layer : layers) weights.push_back(&tensor(layer->weight));
    ys = stepProducts(x, weights);
    for (size_t j = 0; j < layers.size(); ++j) ys[j] = withLora(x, finishStepProduct(x, ys[j], *layers[j]), *layers[j]);
    return ys;
}

at::Tensor MusicgenDecoder::finishStepProduct(const at::Tensor& x, const at::Tensor& product, const Linear& layer) const
{
    at::Tensor y = product; // [..., out] float32
    if (x.scalar_type() != at::kFloat) y = y.to(x.scalar_type()); // bf16: rounded once, as at::linear does
    return layer.bias < 0 ? y : y + tensor(layer.bias).to(y.scalar_type());
}

at::Tensor MusicgenDecoder::withLora(const at::Tensor& x, const at::Tensor& y, const Linear& layer) const
{
    if (m_lora == nullptr || !m_lora->enabled()) return y;
    const LoraFactors* lora = m_lora->factors(layer.weight);
    if (lora == nullptr) return y;
    // bf16 factors (a bf16 bank's, merger.h: setOverlay) meet float32 activations as they are: the factors are
    // widened, the activations never rounded. Otherwise the activations take the factors' dtype.
    const bool widen = lora->a.scalar_type() == at::kBFloat16 && x.scalar_type() == at::kFloat;
    const at::Tensor input = widen || x.scalar_type() == lora->a.scalar_type() ? x : x.to(lora->a.scalar_type());
    // A decode step: both factors' products in the step kernel (1-4 rows), like the base weight's.
    const auto product = [&](const at::Tensor& rows, const at::Tensor& weight) {
        if (usesStepKernel(rows, weight, /*widen=*/true))
            return stepProducts(rows, { &weight }).front().to(rows.scalar_type()); // float32 rows: no rounding
        return at::linear(rows, weight.scalar_type() == rows.scalar_type() ? weight : weight.to(rows.scalar_type()));
    };
    at::Tensor low = product(input, lora->a); // [..., r]
    if (lora->mid.defined()) low = low * lora->mid;
    at::Tensor delta = product(low, lora->b); // [..., out]
    if (lora->scale != 1.0) delta = delta * lora->scale;
    return y + delta.to(y.scalar_type());
}

bool MusicgenDecoder::usesStepKernel(const at::Tensor& x, const at::Tensor& weight, bool widen) const
{
    // float32 x float32, bf16 x bf16, and float32 activations x bf16 weights (autocast, or widen)
    const bool supported = (x.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat)
        || (x.scalar_type() == at::kBFloat16 && weight.scalar_type() == at::kBFloat16)
        || (x.scalar_type() == at::kFloat && weight.scalar_type() == at::kBFloat16 && (m_autocast || widen));
    return supported && x.numel() / x.size(-1) <= kMaxGemvRows && x.is_cpu() && weight.is_contiguous()
        && c10::InferenceMode::is_enabled();
}

at::Tensor MusicgenDecoder::baseLinear(const at::Tensor& x, const Linear& layer) const
{
    const at::Tensor& weight = tensor(layer.weight); // [out, in], contiguous
    if (usesStepKernel(x, weight)) return finishStepProduct(x, stepProducts(x, { &weight }).front(), layer);
    if (x.scalar_type() != weight.scalar_type() && m_autocast) { // float32 activations, half weights
        const at::Tensor input = x.to(weight.scalar_type());
        at::Tensor y = layer.bias < 0 ? at::linear(input, weight) : at::linear(input, weight, tensor(layer.bias));
        return y.to(x.scalar_type());
    }
    if (m_productDtype != at::kFloat && x.numel() / x.size(-1) > kMaxGemvRows && x.scalar_type() == at::kFloat
        && weight.scalar_type() == at::kFloat) { // mixed precision: cast down, multiply, back up
        const at::Tensor y = at::linear(x.to(m_productDtype), weight.to(m_productDtype)).to(at::kFloat);
        return layer.bias < 0 ? y : y + tensor(layer.bias);
    }
    return layer.bias < 0 ? at::linear(x, weight) : at::linear(x, weight, tensor(layer.bias));
}

at::Tensor MusicgenDecoder::layerNorm(const at::Tensor& x, const Norm& norm) const
{
    const at::Tensor& weight = tensor(norm.weight);
    const at::Tensor& bias = tensor(norm.bias);
    if (x.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat)
        return at::layer_norm(x, { m_config.hiddenSize }, weight, bias, kLayerNormEps);
    // Half precision: normalise in float32, as the statistics need it.
    // Autocast: float32 activations with half weights, normalised in float32 and kept there.
    return at::layer_norm(
        x.to(at::kFloat), { m_config.hiddenSize }, weight.to(at::kFloat), bias.to(at::kFloat), kLayerNormEps)
        .to(x.scalar_type());
}

at::Tensor MusicgenDecoder::projectEncoder(const at::Tensor& t5States, const at::Tensor& mask) const
{
    TORCH_CHECK(t5States.dim() == 3 && t5States.size(2) == m_textHidden, "projectEncoder: T5 states must be [B, S, ",
        m_textHidden, "], got ", t5States.sizes());
    TORCH_CHECK(mask.dim() == 2 && mask.size(0) == t5States.size(0) && mask.size(1) == t5States.size(1),
        "projectEncoder: mask must be [B, S] = ", t5States.sizes().slice(0, 2), ", got ", mask.sizes());
    at::Tensor x = t5States.to(device(), dtype()); // [B, S, Dt]
    if (m_encToDec.weight >= 0) x = linear(x, m_encToDec);
    return x * mask.to(device(), dtype()).unsqueeze(-1); // [B, S, H]
}

Expected<DecoderState> MusicgenDecoder::newState(
    const at::Tensor& encoderStates, const at::Tensor& mask, int64_t cacheLength) const
{
    const int64_t h = m_config.hiddenSize;
    if (encoderStates.dim() != 3 || encoderStates.size(2) != h || encoderStates.size(0) < 1
        || encoderStates.size(1) < 1)
        return Error { ErrorCode::InvalidArgument,
            "MusicGen decoder: encoder states must be [B, S, " + std::to_string(h) + "] with B, S >= 1, got "
                + shapeString(encoderStates.sizes()) };
    if (mask.dim() != 2 || mask.size(0) != encoderStates.size(0) || mask.size(1) != encoderStates.size(1))
        return Error { ErrorCode::InvalidArgument,
            "MusicGen decoder: encoder mask must be [B, S] like the states " + shapeString(encoderStates.sizes())
                + ", got " + shapeString(mask.sizes()) };
    if (cacheLength < 0 || cacheLength > m_config.maxPositions)
        return Error { ErrorCode::InvalidArgument,
            "MusicGen decoder: cache length " + std::to_string(cacheLength) + " is outside 0.."
                + std::to_string(m_config.maxPositions) + " (max_position_embeddings)" };
    DecoderState state;
    state.m_batch = encoderStates.size(0);
    state.m_capacity = cacheLength;
    state.m_encoderStates = encoderStates.to(device(), dtype());
    state.m_encoderMask = mask.to(device());
    state.m_encoderBias = encoderBias(state.m_encoderMask);
    if (cacheLength > 0) { // autocast: the keys and values of float32 activations stay float32
        const auto options = at::TensorOptions().dtype(m_autocast ? at::kFloat : dtype()).device(device());
        for (size_t i = 0; i < m_layers.size(); ++i) // [B, heads, capacity, headDim]
            state.m_self.push_back(
                { at::zeros({ state.m_batch, m_config.numHeads, cacheLength, m_config.headDim() }, options),
                    at::zeros({ state.m_batch, m_config.numHeads, cacheLength, m_config.headDim() }, options) });
    }
    return state;
}

at::Tensor MusicgenDecoder::embed(const at::Tensor& ids, int64_t startPosition) const
{
    const int64_t k = m_config.numCodebooks;
    const int64_t length = ids.size(1);
    if (ids.device().is_cpu()) {
        TORCH_CHECK(
            ids.numel() == 0 || (ids.min().item<int64_t>() >= 0 && ids.max().item<int64_t>() <= m_config.vocabSize),
            "MusicGen decoder: input ids must lie in 0..", m_config.vocabSize);
    }
    at::Tensor grouped = ids.to(device(), at::kLong).reshape({ -1, k, length }); // [B, K, L]
    at::Tensor x; // [B, L, H]
    for (int64_t c = 0; c < k; ++c) {
        at::Tensor e = at::embedding(tensor(m_embedTokens[static_cast<size_t>(c)]), grouped.select(1, c));
        x = c == 0 ? e : x + e;
    }
    return x + tensor(m_positions).narrow(0, startPosition, length).unsqueeze(0);
}

at::Tensor MusicgenDecoder::splitHeads(const at::Tensor& x) const
{
    return x.view({ x.size(0), x.size(1), m_config.numHeads, m_config.headDim() }).transpose(1, 2);
}

at::Tensor MusicgenDecoder::attend(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias) const
{
    // One query on the CPU (a decode step): broadcast products read the cache at memory speed, where
    // batched matrix products of one row run about 2x slower.
    const bool oneQueryOnCpu = q.size(2) == 1 && q.is_cpu();
    const bool mixed = !oneQueryOnCpu && m_productDtype != at::kFloat && q.scalar_type() == at::kFloat;
    if (mixed) { // mixed precision (setProductDtype): the products in the lower precision, softmax in float32
        const at::Tensor scores = at::matmul(q.to(m_productDtype), k.to(m_productDtype).transpose(-1, -2));
        at::Tensor biased = scores.to(at::kFloat);
        if (bias.defined()) biased = biased + bias;
        const at::Tensor probs = at::softmax(biased, -1, at::kFloat).to(m_productDtype);
        return at::matmul(probs, v.to(m_productDtype))
            .to(at::kFloat)
            .transpose(1, 2)
            .reshape({ q.size(0), q.size(2), m_config.hiddenSize }); // [B, L, H]
    }
    at::Tensor scores = oneQueryOnCpu ? (q * k).sum(-1).unsqueeze(2) // [B, heads, 1, T]
                                      : at::matmul(q, k.transpose(-1, -2)); // [B, heads, L, T]
    if (bias.defined()) {
        if (scores.scalar_type() != at::kFloat) scores = scores.to(at::kFloat);
        scores = scores + bias;
    }
    at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    at::Tensor out = oneQueryOnCpu ? (probs.transpose(-1, -2) * v).sum(-2, /*keepdim=*/true) // [B, heads, 1, headDim]
                                   : at::matmul(probs, v); // [B, heads, L, headDim]
    return out.transpose(1, 2).reshape({ q.size(0), q.size(2), m_config.hiddenSize }); // [B, L, H]
}

at::Tensor MusicgenDecoder::selfAttention(
    const Layer& layer, const at::Tensor& x, DecoderState& state, size_t layerIndex, const at::Tensor& causalBias) const
{
    const double scaling = 1.0 / std::sqrt(static_cast<double>(m_config.headDim()));
    const std::vector<at::Tensor> qkv = linears(x, { &layer.self.q, &layer.self.k, &layer.self.v });
    at::Tensor q = splitHeads(qkv[0] * scaling); // [B, heads, L, headDim]
    at::Tensor k = splitHeads(qkv[1]);
    at::Tensor v = splitHeads(qkv[2]);
    if (state.hasCache()) {
        LayerKv& cache = state.m_self[layerIndex];
        const int64_t start = state.m_position;
        const int64_t length = x.size(1);
        cache.key.narrow(2, start, length).copy_(k);
        cache.value.narrow(2, start, length).copy_(v);
        k = cache.key.narrow(2, 0, start + length); // [B, heads, start + L, headDim], a view
        v = cache.value.narrow(2, 0, start + length);
    }
    return linear(attend(q, k, v, causalBias), layer.self.out);
}

LayerKv MusicgenDecoder::crossKeysValues(const Layer& layer, const at::Tensor& encoderStates) const
{
    const at::Tensor states = m_autocast ? encoderStates.to(at::kFloat) : encoderStates;
    return LayerKv { splitHeads(linear(states, layer.cross.k)), splitHeads(linear(states, layer.cross.v)) };
}

at::Tensor MusicgenDecoder::crossAttention(
    const Layer& layer, const at::Tensor& x, DecoderState& state, size_t layerIndex) const
{
    const double scaling = 1.0 / std::sqrt(static_cast<double>(m_config.headDim()));
    at::Tensor q = splitHeads(linear(x, layer.cross.q) * scaling);
    LayerKv kv;
    if (state.hasCache()) {
        if (state.m_cross.size() <= layerIndex) state.m_cross.push_back(crossKeysValues(layer, state.m_encoderStates));
        kv = state.m_cross[layerIndex];
    } else {
        kv = crossKeysValues(layer, state.m_encoderStates); // recomputed: under autograd the weights may change
    }
    return linear(attend(q, kv.key, kv.value, state.m_encoderBias), layer.cross.out);
}

at::Tensor MusicgenDecoder::forwardHidden(const at::Tensor& ids, DecoderState& state) const
{
    TORCH_CHECK(ids.dim() == 2 && ids.size(0) == state.batch() * m_config.numCodebooks && ids.size(1) >= 1,
        "MusicGen decoder: ids must be [B*K, L] = [", state.batch() * m_config.numCodebooks, ", L >= 1], got ",
        ids.sizes());
    const int64_t length = ids.size(1);
    const int64_t start = state.hasCache() ? state.m_position : 0;
    TORCH_CHECK(start + length <= m_config.maxPositions, "MusicGen decoder: position ", start + length - 1,
        " is past max_position_embeddings (", m_config.maxPositions, ")");
    TORCH_CHECK(!state.hasCache() || start + length <= state.m_capacity, "MusicGen decoder: the KV cache holds ",
        state.m_capacity, " tokens, ", start + length, " needed");
    at::Tensor x = embed(ids, start); // [B, L, H]
    if (m_autocast) x = x.to(at::kFloat);
    at::Tensor causal = length > 1 ? causalBias(length, start, device()) : at::Tensor();
    const bool checkpoint = m_checkpointLayers && !state.hasCache() && at::GradMode::is_enabled();
    for (size_t i = 0; i < m_layers.size(); ++i)
        x = checkpoint ? checkpointedLayer(i, x, state, causal) : layerForward(i, x, state, causal);
    if (state.hasCache()) state.m_position += length;
    return layerNorm(x, m_finalNorm); // [B, L, H]
}

at::Tensor MusicgenDecoder::layerForward(
    size_t i, const at::Tensor& input, DecoderState& state, const at::Tensor& causal) const
{
    const Layer& layer = m_layers[i];
    at::Tensor x = input + selfAttention(layer, layerNorm(input, layer.selfNorm), state, i, causal);
    x = x + crossAttention(layer, layerNorm(x, layer.crossNorm), state, i);
    return x + linear(at::gelu(linear(layerNorm(x, layer.ffnNorm), layer.fc1)), layer.fc2);
}

std::vector<at::Tensor> MusicgenDecoder::layerLoraTensors(size_t i) const
{
    std::vector<at::Tensor> tensors;
    if (m_lora == nullptr || !m_lora->enabled()) return tensors;
    const Layer& layer = m_layers[i];
    for (const Linear* linear : { &layer.self.q, &layer.self.k, &layer.self.v, &layer.self.out, &layer.cross.q,
             &layer.cross.k, &layer.cross.v, &layer.cross.out, &layer.fc1, &layer.fc2 }) {
        const LoraFactors* factors = m_lora->factors(linear->weight);
        if (factors == nullptr) continue;
        for (const at::Tensor* t : { &factors->a, &factors->b, &factors->mid })
            if (t->defined()) tensors.push_back(*t);
    }
    return tensors;
}

at::Tensor MusicgenDecoder::logitsFromHidden(const at::Tensor& hidden) const
{
    std::vector<const Linear*> heads;
    for (const Linear& head : m_heads) heads.push_back(&head);
    const std::vector<at::Tensor> perCodebook = linears(hidden, heads); // K x [B, L, V]
    at::Tensor logits = at::stack(perCodebook, 1); // [B, K, L, V]
    return logits.reshape({ -1, hidden.size(1), m_config.vocabSize }); // [B*K, L, V]
}

at::Tensor MusicgenDecoder::forward(const at::Tensor& ids, DecoderState& state) const
{
    return logitsFromHidden(forwardHidden(ids, state));
}

} // namespace tmk
