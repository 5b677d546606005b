// The MusicGen decoder (Hugging Face MusicgenForCausalLM plus MusicgenForConditionalGeneration's
// enc_to_dec_proj) in libtorch. The weights are immutable after load and may be shared between threads;
// each run keeps its own DecoderState (kv_cache.h). Numerics follow CONVENTIONS.md §2.
//
// forward() opens no InferenceMode or grad guard: generation opens InferenceMode, training runs it under
// autograd. Every weight is reachable by its Hugging Face state-dict name (parameter()), and every linear
// projection goes through one private function, so an adapter merge can copy_ into the weights in place.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/model_config.h"
#include "core/tensor_spec.h"
#include "lm/kv_cache.h"
#include "tastemaker/error.h"

namespace tmk {

class WeightStore;

// Low-rank terms added to the decoder's projections at run time (training's LoRA, engine/training/
// lora_runtime.h, and the sliders' run-time path, adapters/merger.h):
// y = x W^T + b + scale * ((x A^T) * mid) B^T for every weight that has factors while enabled.
struct LoraFactors {
    at::Tensor a; // [r, in]
    at::Tensor b; // [out, r]
    double scale = 1.0;
    at::Tensor mid; // optional [r]: a weight per rank (several adapters stacked, each with its coefficient)
};
class LinearLoraHook {
public:
    virtual ~LinearLoraHook() = default;
    virtual bool enabled() const = 0;
    // The factors for the weight at `parameterIndex` (its position in parameterNames()), or nullptr.
    virtual const LoraFactors* factors(int32_t parameterIndex) const = 0;
};

// Every tensor the decoder loads (canonical HF names), enc_to_dec_proj included when the config needs it.
std::vector<TensorSpec> decoderTensorSpecs(const MusicgenConfig& config);

// MusicGen's sinusoidal position table [positions, H]: cos first, denominator half - 1 (float32, CPU).
at::Tensor sinusoidalPositions(int64_t positions, int64_t hiddenSize);

class MusicgenDecoder {
public:
    // Loads and checks every decoder tensor; `options` gives the compute dtype (f32, bf16, f16) and device.
    // A checkpoint without decoder.model.decoder.embed_positions.weights gets the formula's table.
    static Expected<MusicgenDecoder> load(
        WeightStore& weights, const MusicgenConfig& config, const at::TensorOptions& options);

    MusicgenDecoder(MusicgenDecoder&&) = default;
    MusicgenDecoder& operator=(MusicgenDecoder&&) = default;
    MusicgenDecoder(const MusicgenDecoder&) = delete; // copies would share storage: use references
    MusicgenDecoder& operator=(const MusicgenDecoder&) = delete;

    const DecoderConfig& config() const { return m_config; }
    int64_t textHiddenSize() const { return m_textHidden; } // T5 d_model
    int64_t frameRate() const { return m_frameRate; } // codec frames per second (for messages)
    at::ScalarType dtype() const;
    at::Device device() const;

    // enc_to_dec_proj(t5States) * mask: [B, S, Dt] x [B, S] -> [B, S, H] in the compute dtype, padded rows 0.
    at::Tensor projectEncoder(const at::Tensor& t5States, const at::Tensor& mask) const;

    // A run's state for B prompts. `encoderStates` [B, S, H] are projected states (projectEncoder),
    // `mask` [B, S]. cacheLength > 0 preallocates a self-attention cache for that many tokens; 0 makes a
    // state for teacher forcing, where each forward sees the whole sequence from position 0.
    Expected<DecoderState> newState(const at::Tensor& encoderStates, const at::Tensor& mask, int64_t cacheLength) const;

    // ids [B*K, L] (row b*K + k is codebook k of item b) -> logits [B*K, L, V].
    // With a cache: the L tokens take positions state.position() .. + L - 1, are written into the cache,
    // and the position advances by L. Without: positions 0 .. L - 1, the state is not changed.
    at::Tensor forward(const at::Tensor& ids, DecoderState& state) const;
    // The same, stopping after the final layer norm: [B, L, H].
    at::Tensor forwardHidden(const at::Tensor& ids, DecoderState& state) const;
    // lm_heads: [B, L, H] -> [B*K, L, V].
    at::Tensor logitsFromHidden(const at::Tensor& hidden) const;

    // The tensor used in forward for an HF state-dict name, or nullptr. Writes (copy_) change the model.
    at::Tensor* parameter(const std::string& hfName);
    const at::Tensor* parameter(const std::string& hfName) const;
    std::vector<std::string> parameterNames() const; // in load order

    // Attaches a runtime LoRA (nullptr detaches). The hook must outlive its attachment; while attached and
    // enabled every projection it has factors for gets the low-rank term. Not thread-safe: attach between runs.
    void setLoraHook(const LinearLoraHook* hook) { m_lora = hook; }
    const LinearLoraHook* loraHook() const { return m_lora; }

    // Activation checkpointing (training): when on, a forward under autograd without a KV cache keeps only
    // each layer's input and recomputes the layer during the backward pass (layer_checkpoint.cpp), so the
    // activations of one layer are alive instead of all of them. The LoRA hook must be in the same state
    // (attached, enabled) in the backward pass as in the forward. Attach between runs.
    void setCheckpointLayers(bool on) { m_checkpointLayers = on; }
    bool checkpointLayers() const { return m_checkpointLayers; }

    // Autocast (training a half-precision model, as torch.autocast): the weights' matrix products run in
    // their dtype (bf16/f16: inputs cast down, outputs back up) while the residual stream, layer norms,
    // attention and logits stay in float32, so the rounding of one product is not carried through every
    // later layer. No effect on a float32 model. Attach between runs.
    // Also how a bf16 model decodes on a CPU without AVX-512-BF16 (MusicgenModel turns it on): libtorch 1.13's
    // bf16 element-wise and attention kernels convert every element there, so the activations and the KV cache
    // stay float32, and a decode step's products read the bf16 weights with float32 rows (gemv.h).
    void setAutocast(bool on) { m_autocast = on; }
    bool autocast() const { return m_autocast; }

    // Mixed-precision products for a float32 model (training, as torch.autocast with master weights): with
    // kBFloat16, every weight matrix product of more than kMaxGemvRows rows and the attention's products cast
    // their inputs and weights to bfloat16 and their outputs back to float32 (biases added in float32), while
    // the weights, residual stream, layer norms, softmax and logits stay float32. On CPUs with AMX or
    // AVX-512-BF16, oneDNN runs these several times faster than float32. kFloat (the default): off.
    void setProductDtype(at::ScalarType dtype) { m_productDtype = dtype; }
    at::ScalarType productDtype() const { return m_productDtype; }

private:
    struct Linear {
        int32_t weight = -1;
        int32_t bias = -1; // -1: no bias
    };
    struct Norm {
        int32_t weight = -1;
        int32_t bias = -1;
    };
    struct Attention {
        Linear q, k, v, out;
    };
    struct Layer {
        Norm selfNorm, crossNorm, ffnNorm;
        Attention self, cross;
        Linear fc1, fc2;
    };
    class Loader;

    MusicgenDecoder() = default;

    const at::Tensor& tensor(int32_t index) const { return m_tensors[static_cast<size_t>(index)]; }
    // The one place every projection goes through (a runtime LoRA branch belongs here).
    at::Tensor linear(const at::Tensor& x, const Linear& layer) const;
    // Layer i on x [B, L, H] (the residual stream): self-attention, cross-attention and the feed-forward block.
    at::Tensor layerForward(size_t i, const at::Tensor& x, DecoderState& state, const at::Tensor& causal) const;
    // The same through a checkpoint (layer_checkpoint.cpp); the layer's LoRA factors are inputs of the node.
    at::Tensor checkpointedLayer(
        size_t i, const at::Tensor& x, const DecoderState& state, const at::Tensor& causal) const;
    std::vector<at::Tensor> layerLoraTensors(size_t i) const; // the factors the hook gives layer i's linears
    at::Tensor baseLinear(const at::Tensor& x, const Linear& layer) const; // x W^T + b, no LoRA
    // linear() of several layers on one input; a decode step's products run in one parallel region.
    std::vector<at::Tensor> linears(const at::Tensor& x, const std::vector<const Linear*>& layers) const;
    at::Tensor withLora(const at::Tensor& x, const at::Tensor& y, const Linear& layer) const; // y + the LoRA branch
    // A step kernel product [..., out] (float32) in x's dtype, plus the layer's bias.
    at::Tensor finishStepProduct(const at::Tensor& x, const at::Tensor& product, const Linear& layer) const;
    // Whether x W^T runs in gemv.h's kernel: a decode step (<= kMaxGemvRows rows) on the CPU, in inference mode.
    // With `widen`, bf16 weights may meet float32 rows (widened exactly) even without the autocast, as a bf16
    // bank's run-time factors do.
    bool usesStepKernel(const at::Tensor& x, const at::Tensor& weight, bool widen = false) const;
    at::Tensor layerNorm(const at::Tensor& x, const Norm& norm) const;
    at::Tensor embed(const at::Tensor& ids, int64_t startPosition) const;
    at::Tensor splitHeads(const at::Tensor& x) const; // [B, L, H] -> [B, heads, L, headDim]
    at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias) const;
    at::Tensor selfAttention(const Layer& layer, const at::Tensor& x, DecoderState& state, size_t layerIndex,
        const at::Tensor& causalBias) const;
    at::Tensor crossAttention(const Layer& layer, const at::Tensor& x, DecoderState& state, size_t layerIndex) const;
    LayerKv crossKeysValues(const Layer& layer, const at::Tensor& encoderStates) const;

    DecoderConfig m_config;
    int64_t m_textHidden = 0;
    int64_t m_frameRate = 50;
    std::vector<std::string> m_names;
    std::vector<at::Tensor> m_tensors;
    std::unordered_map<std::string, int32_t> m_index;
    std::vector<int32_t> m_embedTokens; // per codebook, [V + 1, H]
    int32_t m_positions = -1; // [maxPositions, H]
    std::vector<Layer> m_layers;
    Norm m_finalNorm;
    std::vector<Linear> m_heads; // per codebook, [V, H]
    Linear m_encToDec; // weight -1 when T5 d_model == H
    const LinearLoraHook* m_lora = nullptr;
    bool m_checkpointLayers = false;
    bool m_autocast = false;
    at::ScalarType m_productDtype = at::kFloat;
};

} // namespace tmk
