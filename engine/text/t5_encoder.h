// The T5 text encoder of MusicGen (Hugging Face T5EncoderModel, CONVENTIONS.md §1): token ids and
// attention mask in, last hidden state out. Weights are loaded once; only the LM trainer (engine/lmtrain)
// changes them, through trainableTensors().
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/model_config.h"
#include "core/tensor_spec.h"
#include "tastemaker/error.h"

namespace tmk {

class WeightStore;

class T5Encoder {
public:
    // Loads every `text_encoder.*` tensor the config implies, checked for shape, converted to `options`
    // (dtype: the compute dtype f32/bf16/f16; device). Norm weights and the position bias stay float32.
    static Expected<T5Encoder> load(
        WeightStore& weights, const MusicgenConfig& config, const at::TensorOptions& options);

    // ids [B, S] int64 (< vocab size), mask [B, S] int64 (1 = token, 0 = padding), on any device.
    // Returns the last hidden state [B, S, d_model] in the compute dtype on the weights' device. Rows at
    // padded positions are computed too (as Hugging Face does). Throws c10::Error on bad shapes or ids.
    at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask) const;
    // The same computation under autograd (no InferenceMode), for training.
    at::Tensor forwardWithGrad(const at::Tensor& ids, const at::Tensor& mask) const;

    // Every weight under its Hugging Face name, as the tensors forward() uses: q, k and v are views of the
    // stacked projection, so writes through them (and gradients of the stacked tensor) reach the model.
    std::vector<std::pair<std::string, at::Tensor>> namedTensors() const;
    // The leaf tensors forward() reads (the stacked qkv once, not its views), for an optimiser.
    std::vector<at::Tensor> trainableTensors() const;

    // The tensors load() reads: canonical Hugging Face names and shapes.
    static std::vector<TensorSpec> tensorSpecs(const MusicgenConfig& config);

    const T5Config& config() const { return m_config; }

private:
    struct Block {
        at::Tensor attentionNorm; // [D] float32
        at::Tensor qkv; // [3 * inner, D]: q, k and v stacked
        at::Tensor out; // [D, inner]
        at::Tensor ffnNorm; // [D] float32
        at::Tensor wi; // [F, D]: wi (relu) or wi_0 (gated-gelu, the activated half)
        at::Tensor wiLinear; // [F, D]: wi_1 (gated-gelu, the linear half); undefined for relu
        at::Tensor wo; // [D, F]
    };

    T5Encoder() = default;
    static Expected<Block> loadBlock(
        WeightStore& weights, const T5Config& config, int64_t index, const at::TensorOptions& options);
    at::Tensor positionBias(int64_t length) const; // [1, H, S, S] float32
    at::Tensor attention(const Block& block, const at::Tensor& x, const at::Tensor& bias) const;
    at::Tensor feedForward(const Block& block, const at::Tensor& x) const;
    at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight) const;
    at::Tensor linear(const at::Tensor& x, const at::Tensor& weight) const; // x W^T
    at::Tensor run(const at::Tensor& ids, const at::Tensor& mask) const;

    T5Config m_config;
    at::ScalarType m_dtype = at::kFloat;
    // bf16 on a CPU without bf16 dot products: libtorch 1.13 multiplies bf16 matrices there element by element
    // (musicgen-small's T5 took 1.2 s against 0.08 s in float32), so each product widens its weight to float32.
    bool m_widenProducts = false;
    at::Tensor m_embedding; // [V, D]
    at::Tensor m_relativeBias; // [num_buckets, H] float32, block 0's, shared by every block
    at::Tensor m_finalNorm; // [D] float32
    std::vector<Block> m_blocks;
};

} // namespace tmk
