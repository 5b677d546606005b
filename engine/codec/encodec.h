// EnCodec as MusicGen uses it (Hugging Face `EncodecModel`, 32 kHz mono, weight-norm SEANet, residual
// vector quantizer): audio <-> latent <-> codes. Numerics follow CONVENTIONS.md §4.
//
// The codec always computes in float32 on the device of the load options, whatever their dtype: the
// LSTM and the RVQ nearest-code search are sensitive, and the codec is a small share of the work.
// Inputs may be on any device and of any floating type; they are moved and converted. Outputs are on
// the codec's device. Methods throw c10::Error for malformed arguments (wrong rank, out-of-range codes);
// the job boundary turns that into an Error. A loaded Encodec is immutable and cheap to copy (shared).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/model_config.h"
#include "core/tensor_spec.h"
#include "tastemaker/error.h"

namespace tmk {

class WeightStore;

class Encodec {
public:
    // Loads `audio_encoder.*` (both weight-norm namings) and precomputes the effective conv weights.
    // Errors name the missing or misshapen tensor.
    static Expected<Encodec> load(WeightStore& weights, const MusicgenConfig& config, const at::TensorOptions& options);

    // audio [B, 1, L] -> codes [B, nq, ceil(L / hop)] int64. 1 <= numQuantizers <= codebookCount().
    at::Tensor encode(const at::Tensor& audio, int64_t numQuantizers) const;
    // audio [B, 1, L] -> encoder output before the RVQ [B, D, ceil(L / hop)].
    at::Tensor encodeLatent(const at::Tensor& audio) const;
    // latent [B, D, T] -> codes [B, nq, T] int64 (greedy residual nearest-code search).
    at::Tensor quantize(const at::Tensor& latent, int64_t numQuantizers) const;
    // codes [B, K, T] (integer, K <= codebookCount()) -> latent [B, D, T] = Σ_k codebook_k[codes[:, k]].
    at::Tensor dequantize(const at::Tensor& codes) const;
    // latent [B, D, T] -> audio [B, 1, T * hop] float32, for any T >= 1. The latent may be any slice
    // [t0, t1) of a longer one: a streaming caller decodes a window with context frames on both sides
    // and keeps the middle (every layer but the LSTM sees only a few frames around each position; the
    // LSTM needs enough left context to forget its zero initial state).
    at::Tensor decodeLatent(const at::Tensor& latent) const;
    // codes [B, K, T] -> audio [B, 1, T * hop]: dequantize + decodeLatent (not trimmed to any input length).
    at::Tensor decode(const at::Tensor& codes) const;

    int64_t hopLength() const; // samples per frame (640)
    int64_t sampleRate() const; // 32000
    int64_t codebookCount() const; // quantizers in the checkpoint (config numQuantizers())
    int64_t codebookSize() const; // codes per codebook (V)
    int64_t latentDim() const; // D = hidden_size = codebook_dim
    int64_t defaultQuantizers() const; // quantizersForBandwidth(target_bandwidths[0])
    at::Device device() const;

    // Every tensor load() reads, under its canonical Hugging Face name (weight_g / weight_v).
    static std::vector<TensorSpec> tensorSpecs(const MusicgenConfig& config);

private:
    struct Impl;
    explicit Encodec(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

inline std::vector<TensorSpec> encodecTensorSpecs(const MusicgenConfig& config)
{
    return Encodec::tensorSpecs(config);
}

} // namespace tmk
