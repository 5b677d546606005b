// A trainable EnCodec: the same SEANet encoder/decoder as encodec_layers.h (same layouts, same Hugging Face
// tensor names, same forward math), but holding weight_g / weight_v / bias / LSTM tensors as autograd leaves,
// plus a residual vector quantizer with EMA codebooks (k-means initialisation, dead-code restarts) under HF's
// buffer names. What it saves, Encodec::load reads: what is trained is what runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "codec/encodec.h"
#include "codec/encodec_layers.h"
#include "core/model_config.h"
#include "tastemaker/error.h"

namespace tmk::encodec {

struct NamedTensor {
    std::string name; // the Hugging Face name, e.g. "audio_encoder.encoder.layers.0.conv.weight_v"
    at::Tensor value;
};
// The values, and the names, of `tensors` in their order.
std::vector<at::Tensor> tensorValues(const std::vector<NamedTensor>& tensors);
std::vector<std::string> tensorNames(const std::vector<NamedTensor>& tensors);

struct QuantizerOptions {
    double decay = 0.99; // EMA decay of the codebooks
    double epsilon = 1e-5; // Laplace smoothing of the cluster sizes (HF's epsilon)
    double deadCodeFraction = 0.1; // a code is dead when its EMA cluster size < fraction * (rows / codebook size)
    int64_t kmeansIterations = 10;
};

struct QuantizeResult {
    at::Tensor quantized; // [B, D, T], straight-through: forward = Σ codebook vectors, gradient = identity
    at::Tensor codes; // [B, nq, T] int64
    at::Tensor commitment; // scalar: Σ_q mean((residual_q - quantized_q.detach())²)
    int64_t restartedCodes = 0;
};

class TrainableEncodec {
public:
    // Fresh weights (PyTorch's default Conv1d / LSTM initialisation, g = ||v||), codebooks not yet initialised.
    TrainableEncodec(const EncodecConfig& config, uint64_t seed);

    const EncodecConfig& config() const { return m_config; }
    // The trainable leaves (conv g/v/bias, LSTM weights and biases), in a fixed order.
    std::vector<NamedTensor>& parameters() { return m_params; }
    const std::vector<NamedTensor>& parameters() const { return m_params; }
    std::vector<at::Tensor> parameterTensors() const;
    // The quantizer buffers: layers.N.codebook.{embed, embed_avg, cluster_size, inited}, in a fixed order.
    std::vector<NamedTensor>& buffers() { return m_buffers; }
    const std::vector<NamedTensor>& buffers() const { return m_buffers; }

    // audio [B, 1, L] -> latent [B, D, ceil(L / hop)], differentiable.
    at::Tensor encode(const at::Tensor& audio) const;
    // latent [B, D, T] -> audio [B, 1, T * hop], differentiable.
    at::Tensor decode(const at::Tensor& latent) const;
    // Data-dependent initialisation for weight norm (Salimans & Kingma, 2016): `audio` [B, 1, L] runs through
    // the encoder and, unquantized, the decoder; layer by layer each convolution's g is divided by the standard
    // deviation of its output on this batch and its bias shifted so that every output channel has zero mean,
    // and the decoder's last convolution is scaled so that the output has the input's RMS. Without it the
    // default initialisation shrinks the signal by about 5 dB per convolution, and a run spent its first
    // thousands of steps only growing the decoder's output level. The LSTMs are left as they are.
    void dataDependentInit(const at::Tensor& audio);

    // The residual quantizer over all codebooks. When `train`, uninitialised codebooks are k-means
    // initialised from this batch, the EMA statistics are updated and dead codes restarted from `generator`.
    QuantizeResult quantize(const at::Tensor& latent, bool train, at::Generator& generator);

    // Parameters (optionally replaced by `weightsOverride`, same order) and buffers by HF name.
    std::map<std::string, at::Tensor> stateDict(const std::vector<at::Tensor>* weightsOverride = nullptr) const;
    // Copies every parameter and buffer present in `tensors` (by HF name, shapes checked).
    Expected<void> loadStateDict(const std::map<std::string, at::Tensor>& tensors, const std::string& where);

    QuantizerOptions quantizerOptions;

private:
    double m_initTargetStd = 0.0; // > 0 while dataDependentInit runs: the output RMS the last layer gets
    // convForward, and while dataDependentInit runs, this layer's initialisation from its output.
    at::Tensor conv(const ConvLayout& layout, const at::Tensor& input) const;
    at::Tensor convForward(const ConvLayout& layout, const at::Tensor& input) const;
    at::Tensor resBlocks(const StageLayout& stage, at::Tensor x) const;
    at::Tensor lstm(const LstmLayout& layout, const at::Tensor& input) const;
    void addParameters(const NetLayout& layout, at::Generator& generator);
    const at::Tensor& param(const std::string& name) const;
    void initCodebook(int64_t q, const at::Tensor& residual, at::Generator& generator);
    void updateCodebook(int64_t q, const at::Tensor& residual, const at::Tensor& index);
    int64_t restartDeadCodes(int64_t q, const at::Tensor& residual, at::Generator& generator);

    EncodecConfig m_config;
    NetLayout m_encoder;
    NetLayout m_decoder;
    std::vector<NamedTensor> m_params;
    std::map<std::string, size_t> m_paramIndex;
    std::vector<NamedTensor> m_buffers; // 4 per codebook: embed, embed_avg, cluster_size, inited
};

// The Hugging Face EncodecConfig fields of `config` (what MusicGen's config.json has under "audio_encoder").
std::string encodecConfigJson(const EncodecConfig& config);
// Reads DIR/config.json: its "audio_encoder" section, or the whole file when it is a bare EncodecConfig.
Expected<EncodecConfig> loadEncodecConfig(const std::filesystem::path& dir);
// The same from a config's text (a checkpoint's "encodec_config" metadata); `where` names it in errors.
Expected<EncodecConfig> parseEncodecConfig(const std::string& text, const std::string& where);
// Writes `dir`/config.json ({"audio_encoder": <EncodecConfig>}) and `dir`/model.safetensors (every audio_encoder.*
// tensor, f32: the parameters, or `weightsOverride` in their place, and the quantizer buffers), atomically.
Expected<void> saveEncodecFolder(const TrainableEncodec& codec, const std::filesystem::path& dir,
    const std::vector<at::Tensor>* weightsOverride = nullptr);
// The inference Encodec of a trained codec folder (config.json + model.safetensors with audio_encoder.*).
Expected<Encodec> loadEncodecFolder(const std::filesystem::path& dir, const at::TensorOptions& options);

} // namespace tmk::encodec
