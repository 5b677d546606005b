// The building blocks of EnCodec's SEANet encoder and decoder (Hugging Face `EncodecConv1d`,
// `EncodecConvTranspose1d`, `EncodecResnetBlock`, `EncodecLSTM`), and the layout that maps a config to
// the checkpoint's layer indices. Internal to engine/codec; see CONVENTIONS.md §4 for the numerics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/model_config.h"
#include "core/tensor_spec.h"
#include "tastemaker/error.h"

namespace tmk {

class WeightStore;

namespace encodec {

// One weight-normalised convolution: `prefix.conv.{weight_g, weight_v, bias}`.
struct ConvLayout {
    std::string prefix; // e.g. "audio_encoder.encoder.layers.3"
    int64_t inChannels = 0;
    int64_t outChannels = 0;
    int64_t kernel = 1;
    int64_t stride = 1;
    int64_t dilation = 1;
    bool transposed = false;
    // Conv1d: [out, in, k]; ConvTranspose1d: [in, out, k] (PyTorch's layouts).
    std::vector<int64_t> weightShape() const;
};

// `prefix.block.1` (k = residual_kernel_size, dim -> dim / compress) and `prefix.block.3` (k = 1, back).
struct ResBlockLayout {
    ConvLayout reduce;
    ConvLayout expand;
};

// `prefix.lstm.{weight_ih, weight_hh, bias_ih, bias_hh}_l{n}`, hidden size = input size = channels.
struct LstmLayout {
    std::string prefix;
    int64_t channels = 0;
    int64_t numLayers = 0;
};

// One resolution step. Encoder: resblocks, ELU, strided conv. Decoder: ELU, transposed conv, resblocks.
struct StageLayout {
    std::vector<ResBlockLayout> resBlocks;
    ConvLayout resample;
};

// A whole encoder or decoder: first conv, stages, LSTM, ELU and last conv (with the LSTM right after
// the first conv in the decoder and right before the last ELU in the encoder).
struct NetLayout {
    ConvLayout first;
    std::vector<StageLayout> stages;
    LstmLayout lstm;
    ConvLayout last;
};

NetLayout encoderLayout(const EncodecConfig& config);
NetLayout decoderLayout(const EncodecConfig& config);

// Reflect padding of the last dim, valid even when the input is shorter than the padding: HF zero-pads
// on the right first, so that reflection is possible, then drops those samples again. The inference layers
// and the trainable codec (encodec_train.cpp) both use it. [B, C, L] -> [B, C, left + L + right]
at::Tensor reflectPad(const at::Tensor& input, int64_t left, int64_t right);
// Every tensor `layout` loads, under the canonical (weight_g / weight_v) names.
void appendTensorSpecs(const NetLayout& layout, std::vector<TensorSpec>& specs);

// A non-causal Conv1d with EnCodec's reflect padding: [B, in, L] -> [B, out, ceil(L / stride)].
class Conv1d {
public:
    static Expected<Conv1d> load(WeightStore& weights, const ConvLayout& layout, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& input) const;

private:
    at::Tensor m_weight; // [out, in, k], the effective g * v / ||v||
    at::Tensor m_bias; // [out]
    int64_t m_stride = 1;
    int64_t m_dilation = 1;
};

// A ConvTranspose1d trimmed to exactly L * stride outputs: [B, in, L] -> [B, out, L * stride].
class ConvTranspose1d {
public:
    static Expected<ConvTranspose1d> load(
        WeightStore& weights, const ConvLayout& layout, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& input) const;

private:
    at::Tensor m_weight; // [in, out, k]
    at::Tensor m_bias; // [out]
    int64_t m_stride = 1;
};

// x + expand(ELU(reduce(ELU(x)))), identity shortcut: [B, C, L] -> [B, C, L].
class ResBlock {
public:
    static Expected<ResBlock> load(
        WeightStore& weights, const ResBlockLayout& layout, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& input) const;

private:
    Conv1d m_reduce;
    Conv1d m_expand;
};

// A stacked unidirectional LSTM with zero initial state, wrapped in a skip: y = LSTM(x) + x.
// [B, C, T] -> [B, C, T]. Computed like PyTorch's CPU kernel: the input projections of all steps (plus
// both biases) in one matmul per layer, then per step only h · W_hhᵀ; gate order i, f, g, o.
class Lstm {
public:
    static Expected<Lstm> load(WeightStore& weights, const LstmLayout& layout, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& input) const;

private:
    struct Layer {
        at::Tensor weightIh; // [4C, C]
        at::Tensor weightHh; // [4C, C]
        at::Tensor biasIh; // [4C]
        at::Tensor biasHh; // [4C]
    };
    at::Tensor runLayer(const at::Tensor& input, const Layer& layer) const; // [T, B, C] -> [T, B, C]

    std::vector<Layer> m_layers;
    int64_t m_channels = 0;
};

// audio [B, channels, L] -> latent [B, hidden_size, ceil(L / hop)].
class Encoder {
public:
    static Expected<Encoder> load(WeightStore& weights, const EncodecConfig& config, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& audio) const;

private:
    struct Stage {
        std::vector<ResBlock> resBlocks;
        Conv1d downsample;
    };
    Conv1d m_first;
    std::vector<Stage> m_stages;
    Lstm m_lstm;
    Conv1d m_last;
};

// latent [B, hidden_size, T] -> audio [B, channels, T * hop]. Every layer only looks a bounded number of
// frames around each position except the LSTM, which runs forward in time from a zero state.
class Decoder {
public:
    static Expected<Decoder> load(WeightStore& weights, const EncodecConfig& config, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& latent) const;

private:
    struct Stage {
        ConvTranspose1d upsample;
        std::vector<ResBlock> resBlocks;
    };
    Conv1d m_first;
    Lstm m_lstm;
    std::vector<Stage> m_stages;
    Conv1d m_last;
};

} // namespace encodec
} // namespace tmk
