#include "codec/encodec_layers.h"

#include <algorithm>

#include <ATen/TensorOperators.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/addmv.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv1d.h>
#include <ATen/ops/conv_transpose1d.h>
#include <ATen/ops/elu.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/reflection_pad1d.h>
#include <ATen/ops/zeros.h>

#include "tensorio/torch/weights.h"

namespace tmk::encodec {

namespace {

std::string layerPrefix(const std::string& net, int64_t index)
{
    return "audio_encoder." + net + ".layers." + std::to_string(index);
}

ConvLayout conv(std::string prefix, int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t dilation = 1)
{
    return ConvLayout { std::move(prefix), in, out, kernel, stride, dilation, false };
}

// The resblocks of one stage at layers first .. first + num_residual_layers - 1, with dilations
// dilation_growth_rate^j on the k = residual_kernel_size conv.
std::vector<ResBlockLayout> resBlocks(const EncodecConfig& config, const std::string& net, int64_t first, int64_t dim)
{
    std::vector<ResBlockLayout> blocks;
    int64_t dilation = 1;
    for (int64_t j = 0; j < config.numResidualLayers; ++j) {
        const std::string prefix = layerPrefix(net, first + j);
        const int64_t hidden = dim / config.compress;
        blocks.push_back(
            ResBlockLayout { conv(prefix + ".block.1", dim, hidden, config.residualKernelSize, 1, dilation),
                conv(prefix + ".block.3", hidden, dim, 1) });
        dilation *= config.dilationGrowthRate;
    }
    return blocks;
}

Expected<at::Tensor> loadBias(WeightStore& weights, const ConvLayout& layout, const at::TensorOptions& options)
{
    return weights.get(layout.prefix + ".conv.bias", { layout.outChannels }, options);
}

} // namespace

at::Tensor reflectPad(const at::Tensor& input, int64_t left, int64_t right) // [B, C, L] -> [B, C, left + L + right]
{
    if (left == 0 && right == 0) return input;
    const int64_t length = input.size(-1);
    const int64_t maxPad = std::max(left, right);
    int64_t zeroPad = 0;
    at::Tensor source = input;
    if (length <= maxPad) {
        zeroPad = maxPad - length + 1;
        source = at::constant_pad_nd(input, { 0, zeroPad }, 0.0);
    }
    at::Tensor padded = at::reflection_pad1d(source, { left, right });
    return zeroPad ? padded.narrow(-1, 0, padded.size(-1) - zeroPad) : padded;
}

std::vector<int64_t> ConvLayout::weightShape() const
{
    if (transposed) return { inChannels, outChannels, kernel };
    return { outChannels, inChannels, kernel };
}

NetLayout encoderLayout(const EncodecConfig& config)
{
    const std::string net = "encoder";
    NetLayout layout;
    layout.first = conv(layerPrefix(net, 0), config.audioChannels, config.numFilters, config.kernelSize);
    int64_t index = 1;
    int64_t channels = config.numFilters;
    for (auto ratio = config.upsamplingRatios.rbegin(); ratio != config.upsamplingRatios.rend(); ++ratio) {
        StageLayout stage;
        stage.resBlocks = resBlocks(config, net, index, channels);
        index += config.numResidualLayers + 1; // + ELU
        stage.resample = conv(layerPrefix(net, index), channels, 2 * channels, 2 * *ratio, *ratio);
        layout.stages.push_back(std::move(stage));
        index += 1;
        channels *= 2;
    }
    layout.lstm = LstmLayout { layerPrefix(net, index), channels, config.numLstmLayers };
    layout.last = conv(layerPrefix(net, index + 2), channels, config.hiddenSize, config.lastKernelSize); // + ELU
    return layout;
}

NetLayout decoderLayout(const EncodecConfig& config)
{
    const std::string net = "decoder";
    int64_t channels = config.numFilters << config.upsamplingRatios.size();
    NetLayout layout;
    layout.first = conv(layerPrefix(net, 0), config.hiddenSize, channels, config.kernelSize);
    layout.lstm = LstmLayout { layerPrefix(net, 1), channels, config.numLstmLayers };
    int64_t index = 2;
    for (int64_t ratio : config.upsamplingRatios) {
        StageLayout stage;
        stage.resample = conv(layerPrefix(net, index + 1), channels, channels / 2, 2 * ratio, ratio); // after ELU
        stage.resample.transposed = true;
        stage.resBlocks = resBlocks(config, net, index + 2, channels / 2);
        layout.stages.push_back(std::move(stage));
        index += 2 + config.numResidualLayers;
        channels /= 2;
    }
    layout.last = conv(layerPrefix(net, index + 1), channels, config.audioChannels, config.lastKernelSize); // after ELU
    return layout;
}

void appendTensorSpecs(const NetLayout& layout, std::vector<TensorSpec>& specs)
{
    auto addConv = [&specs](const ConvLayout& c) {
        std::vector<int64_t> gShape(3, 1);
        gShape[0] = c.weightShape()[0];
        specs.push_back({ c.prefix + ".conv.weight_g", gShape, TensorInit::WeightNormG });
        specs.push_back({ c.prefix + ".conv.weight_v", c.weightShape(), TensorInit::Normal });
        specs.push_back({ c.prefix + ".conv.bias", { c.outChannels }, TensorInit::Zeros });
    };
    auto addLstm = [&specs](const LstmLayout& l) {
        for (int64_t n = 0; n < l.numLayers; ++n) {
            const std::string suffix = "_l" + std::to_string(n);
            specs.push_back(
                { l.prefix + ".lstm.weight_ih" + suffix, { 4 * l.channels, l.channels }, TensorInit::Normal });
            specs.push_back(
                { l.prefix + ".lstm.weight_hh" + suffix, { 4 * l.channels, l.channels }, TensorInit::Normal });
            specs.push_back({ l.prefix + ".lstm.bias_ih" + suffix, { 4 * l.channels }, TensorInit::Zeros });
            specs.push_back({ l.prefix + ".lstm.bias_hh" + suffix, { 4 * l.channels }, TensorInit::Zeros });
        }
    };
    addConv(layout.first);
    addLstm(layout.lstm);
    for (const StageLayout& stage : layout.stages) {
        addConv(stage.resample);
        for (const ResBlockLayout& block : stage.resBlocks) {
            addConv(block.reduce);
            addConv(block.expand);
        }
    }
    addConv(layout.last);
}

// ---- Conv1d -------------------------------------------------------------------------------------

Expected<Conv1d> Conv1d::load(WeightStore& weights, const ConvLayout& layout, const at::TensorOptions& options)
{
    Conv1d conv;
    Expected<at::Tensor> weight = weights.getWeightNorm(layout.prefix + ".conv", layout.weightShape(), options);
    if (!weight) return weight.error();
    Expected<at::Tensor> bias = loadBias(weights, layout, options);
    if (!bias) return bias.error();
    conv.m_weight = std::move(*weight);
    conv.m_bias = std::move(*bias);
    conv.m_stride = layout.stride;
    conv.m_dilation = layout.dilation;
    return conv;
}

at::Tensor Conv1d::forward(const at::Tensor& input) const // [B, in, L] -> [B, out, ceil(L / stride)]
{
    const int64_t length = input.size(-1);
    const int64_t kernel = (m_weight.size(-1) - 1) * m_dilation + 1;
    const int64_t padTotal = kernel - m_stride;
    // HF's extra right padding makes the last window complete: the output has ceil(L / stride) frames.
    const int64_t frames = (length + m_stride - 1) / m_stride;
    const int64_t extra = frames * m_stride - length;
    const int64_t right = padTotal / 2;
    const int64_t left = padTotal - right;
    at::Tensor padded = reflectPad(input, left, right + extra); // [B, in, frames * stride + kernel - stride]
    const int64_t noPadding = 0;
    return at::conv1d(padded, m_weight, m_bias, m_stride, at::IntArrayRef(noPadding), m_dilation);
}

// ---- ConvTranspose1d ----------------------------------------------------------------------------

Expected<ConvTranspose1d> ConvTranspose1d::load(
    WeightStore& weights, const ConvLayout& layout, const at::TensorOptions& options)
{
    ConvTranspose1d conv;
    Expected<at::Tensor> weight = weights.getWeightNorm(layout.prefix + ".conv", layout.weightShape(), options);
    if (!weight) return weight.error();
    Expected<at::Tensor> bias = loadBias(weights, layout, options);
    if (!bias) return bias.error();
    conv.m_weight = std::move(*weight);
    conv.m_bias = std::move(*bias);
    conv.m_stride = layout.stride;
    return conv;
}

at::Tensor ConvTranspose1d::forward(const at::Tensor& input) const // [B, in, L] -> [B, out, L * stride]
{
    at::Tensor full = at::conv_transpose1d(input, m_weight, m_bias, m_stride); // [B, out, (L - 1) * stride + k]
    const int64_t padTotal = m_weight.size(-1) - m_stride;
    const int64_t right = padTotal / 2;
    const int64_t left = padTotal - right;
    return full.narrow(-1, left, full.size(-1) - left - right);
}

// ---- ResBlock -----------------------------------------------------------------------------------

Expected<ResBlock> ResBlock::load(WeightStore& weights, const ResBlockLayout& layout, const at::TensorOptions& options)
{
    ResBlock block;
    Expected<Conv1d> reduce = Conv1d::load(weights, layout.reduce, options);
    if (!reduce) return reduce.error();
    Expected<Conv1d> expand = Conv1d::load(weights, layout.expand, options);
    if (!expand) return expand.error();
    block.m_reduce = std::move(*reduce);
    block.m_expand = std::move(*expand);
    return block;
}

at::Tensor ResBlock::forward(const at::Tensor& input) const // [B, C, L]
{
    at::Tensor hidden = m_reduce.forward(at::elu(input)); // [B, C / compress, L]
    return input + m_expand.forward(at::elu(hidden));
}

// ---- Lstm ---------------------------------------------------------------------------------------

Expected<Lstm> Lstm::load(WeightStore& weights, const LstmLayout& layout, const at::TensorOptions& options)
{
    Lstm lstm;
    lstm.m_channels = layout.channels;
    const int64_t gates = 4 * layout.channels;
    for (int64_t n = 0; n < layout.numLayers; ++n) {
        const std::string base = layout.prefix + ".lstm.";
        const std::string suffix = "_l" + std::to_string(n);
        Expected<at::Tensor> weightIh = weights.get(base + "weight_ih" + suffix, { gates, layout.channels }, options);
        if (!weightIh) return weightIh.error();
        Expected<at::Tensor> weightHh = weights.get(base + "weight_hh" + suffix, { gates, layout.channels }, options);
        if (!weightHh) return weightHh.error();
        Expected<at::Tensor> biasIh = weights.get(base + "bias_ih" + suffix, { gates }, options);
        if (!biasIh) return biasIh.error();
        Expected<at::Tensor> biasHh = weights.get(base + "bias_hh" + suffix, { gates }, options);
        if (!biasHh) return biasHh.error();
        lstm.m_layers.push_back(
            Layer { std::move(*weightIh), std::move(*weightHh), std::move(*biasIh), std::move(*biasHh) });
    }
    return lstm;
}

at::Tensor Lstm::runLayer(const at::Tensor& input, const Layer& layer) const // [T, B, C] -> [T, B, C]
{
    const int64_t steps = input.size(0);
    const int64_t batch = input.size(1);
    const int64_t c = m_channels;
    // Both biases are folded into the input projection of all steps, computed in one matmul.
    at::Tensor inputGates = at::linear(input, layer.weightIh, layer.biasIh).add_(layer.biasHh); // [T, B, 4C]
    at::Tensor output = at::empty({ steps, batch, c }, input.options()); // [T, B, C]
    at::Tensor hidden = at::zeros({ batch, c }, input.options()); // [B, C]
    at::Tensor cell = at::zeros({ batch, c }, input.options()); // [B, C]
    for (int64_t t = 0; t < steps; ++t) {
        // One matrix-vector product per step when B = 1: BLAS gemv is several times faster than a
        // 1-row gemm against the transposed weight, and this product is most of a streaming decode.
        at::Tensor gates = batch == 1 ? at::addmv(inputGates[t][0], layer.weightHh, hidden[0]).unsqueeze(0)
                                      : at::addmm(inputGates[t], hidden, layer.weightHh.t()); // [B, 4C]
        at::Tensor sigmoids = gates.sigmoid(); // i, f, (unused), o
        at::Tensor candidate = gates.narrow(1, 2 * c, c).tanh();
        cell = (sigmoids.narrow(1, c, c) * cell).add_(sigmoids.narrow(1, 0, c) * candidate);
        hidden = output[t];
        at::mul_out(hidden, sigmoids.narrow(1, 3 * c, c), cell.tanh());
    }
    return output;
}

at::Tensor Lstm::forward(const at::Tensor& input) const // [B, C, T] -> [B, C, T]
{
    at::Tensor sequence = input.permute({ 2, 0, 1 }).contiguous(); // [T, B, C]
    at::Tensor hidden = sequence;
    for (const Layer& layer : m_layers) hidden = runLayer(hidden, layer);
    return (hidden + sequence).permute({ 1, 2, 0 });
}

// ---- Encoder / Decoder --------------------------------------------------------------------------

namespace {

Expected<std::vector<ResBlock>> loadResBlocks(
    WeightStore& weights, const StageLayout& stage, const at::TensorOptions& options)
{
    std::vector<ResBlock> blocks;
    for (const ResBlockLayout& layout : stage.resBlocks) {
        Expected<ResBlock> block = ResBlock::load(weights, layout, options);
        if (!block) return block.error();
        blocks.push_back(std::move(*block));
    }
    return blocks;
}

at::Tensor runResBlocks(const std::vector<ResBlock>& blocks, at::Tensor x)
{
    for (const ResBlock& block : blocks) x = block.forward(x);
    return x;
}

} // namespace

Expected<Encoder> Encoder::load(WeightStore& weights, const EncodecConfig& config, const at::TensorOptions& options)
{
    const NetLayout layout = encoderLayout(config);
    Encoder encoder;
    Expected<Conv1d> first = Conv1d::load(weights, layout.first, options);
    if (!first) return first.error();
    encoder.m_first = std::move(*first);
    for (const StageLayout& stageLayout : layout.stages) {
        Expected<std::vector<ResBlock>> blocks = loadResBlocks(weights, stageLayout, options);
        if (!blocks) return blocks.error();
        Expected<Conv1d> downsample = Conv1d::load(weights, stageLayout.resample, options);
        if (!downsample) return downsample.error();
        encoder.m_stages.push_back(Stage { std::move(*blocks), std::move(*downsample) });
    }
    Expected<Lstm> lstm = Lstm::load(weights, layout.lstm, options);
    if (!lstm) return lstm.error();
    encoder.m_lstm = std::move(*lstm);
    Expected<Conv1d> last = Conv1d::load(weights, layout.last, options);
    if (!last) return last.error();
    encoder.m_last = std::move(*last);
    return encoder;
}

at::Tensor Encoder::forward(const at::Tensor& audio) const // [B, channels, L] -> [B, hidden, ceil(L / hop)]
{
    at::Tensor x = m_first.forward(audio); // [B, F, L]
    for (const Stage& stage : m_stages) {
        x = runResBlocks(stage.resBlocks, x);
        x = stage.downsample.forward(at::elu(x)); // [B, 2C, ceil(L / ratio)]
    }
    x = m_lstm.forward(x); // [B, 16F, frames]
    return m_last.forward(at::elu(x));
}

Expected<Decoder> Decoder::load(WeightStore& weights, const EncodecConfig& config, const at::TensorOptions& options)
{
    const NetLayout layout = decoderLayout(config);
    Decoder decoder;
    Expected<Conv1d> first = Conv1d::load(weights, layout.first, options);
    if (!first) return first.error();
    decoder.m_first = std::move(*first);
    Expected<Lstm> lstm = Lstm::load(weights, layout.lstm, options);
    if (!lstm) return lstm.error();
    decoder.m_lstm = std::move(*lstm);
    for (const StageLayout& stageLayout : layout.stages) {
        Expected<ConvTranspose1d> upsample = ConvTranspose1d::load(weights, stageLayout.resample, options);
        if (!upsample) return upsample.error();
        Expected<std::vector<ResBlock>> blocks = loadResBlocks(weights, stageLayout, options);
        if (!blocks) return blocks.error();
        decoder.m_stages.push_back(Stage { std::move(*upsample), std::move(*blocks) });
    }
    Expected<Conv1d> last = Conv1d::load(weights, layout.last, options);
    if (!last) return last.error();
    decoder.m_last = std::move(*last);
    return decoder;
}

at::Tensor Decoder::forward(const at::Tensor& latent) const // [B, hidden, T] -> [B, channels, T * hop]
{
    at::Tensor x = m_first.forward(latent); // [B, 16F, T]
    x = m_lstm.forward(x);
    for (const Stage& stage : m_stages) {
        x = stage.upsample.forward(at::elu(x)); // [B, C / 2, T * ratio]
        x = runResBlocks(stage.resBlocks, x);
    }
    return m_last.forward(at::elu(x));
}

} // namespace tmk::encodec
