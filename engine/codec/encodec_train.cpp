#include "codec/encodec_train.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/argmin.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv1d.h>
#include <ATen/ops/conv_transpose1d.h>
#include <ATen/ops/elu.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full_like.h>
#include <ATen/ops/lstm.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/minimum.h>
#include <ATen/ops/mse_loss.h>
#include <ATen/ops/multinomial.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/reflection_pad1d.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>

#include "tastemaker/fileio.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"

namespace tmk::encodec {

namespace {

const at::TensorOptions kF32 = at::TensorOptions().dtype(at::kFloat);

at::Tensor uniform(const std::vector<int64_t>& shape, double bound, at::Generator& generator)
{
    return at::empty(shape, kF32).uniform_(-bound, bound, generator);
}

std::string codebookPrefix(int64_t q)
{
    return "audio_encoder.quantizer.layers." + std::to_string(q) + ".codebook.";
}

at::Tensor squaredDistance(const at::Tensor& rows, const at::Tensor& embed) // [N, D], [V, D] -> [N, V]
{
    return rows.pow(2).sum(1, true) - at::matmul(2 * rows, embed.t()) + embed.pow(2).sum(1).unsqueeze(0);
}

} // namespace

TrainableEncodec::TrainableEncodec(const EncodecConfig& config, uint64_t seed)
    : m_config(config)
    , m_encoder(encoderLayout(config))
    , m_decoder(decoderLayout(config))
{
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    at::NoGradGuard noGrad;
    addParameters(m_encoder, generator);
    addParameters(m_decoder, generator);
    for (int64_t q = 0; q < config.numQuantizers(); ++q) {
        const std::string prefix = codebookPrefix(q);
        m_buffers.push_back({ prefix + "embed", at::zeros({ config.codebookSize, config.codebookDim }, kF32) });
        m_buffers.push_back({ prefix + "embed_avg", at::zeros({ config.codebookSize, config.codebookDim }, kF32) });
        m_buffers.push_back({ prefix + "cluster_size", at::zeros({ config.codebookSize }, kF32) });
        m_buffers.push_back({ prefix + "inited", at::zeros({ 1 }, kF32) });
    }
}

void TrainableEncodec::addParameters(const NetLayout& layout, at::Generator& generator)
{
    std::vector<TensorSpec> specs;
    appendTensorSpecs(layout, specs);
    for (const TensorSpec& spec : specs) {
        at::Tensor value;
        if (spec.init == TensorInit::WeightNormG) {
            value = at::ones(spec.shape, kF32); // replaced by ||v|| below, once v exists
        } else if (spec.name.find(".lstm.") != std::string::npos) {
            value = uniform(spec.shape, 1.0 / std::sqrt(static_cast<double>(spec.shape.back())), generator);
        } else if (spec.shape.size() == 3) { // weight_v: kaiming-uniform bound 1 / sqrt(fan_in), as PyTorch's conv
            // fan_in = size(1) * k for Conv1d [out, in, k] and ConvTranspose1d [in, out, k] alike (PyTorch's rule)
            value = uniform(spec.shape, 1.0 / std::sqrt(static_cast<double>(spec.shape[1] * spec.shape[2])), generator);
        } else {
            value = at::zeros(spec.shape, kF32); // conv bias
        }
        m_paramIndex[spec.name] = m_params.size();
        m_params.push_back({ spec.name, value });
    }
    for (const TensorSpec& spec : specs) {
        if (spec.init != TensorInit::WeightNormG) continue;
        const std::string base = spec.name.substr(0, spec.name.size() - std::string("_g").size());
        const at::Tensor& v = m_params[m_paramIndex.at(base + "_v")].value;
        m_params[m_paramIndex.at(spec.name)].value = v.pow(2).sum({ 1, 2 }, true).sqrt();
    }
    for (NamedTensor& p : m_params) p.value.requires_grad_(true);
}

std::vector<at::Tensor> tensorValues(const std::vector<NamedTensor>& tensors)
{
    std::vector<at::Tensor> out;
    for (const NamedTensor& t : tensors) out.push_back(t.value);
    return out;
}

std::vector<std::string> tensorNames(const std::vector<NamedTensor>& tensors)
{
    std::vector<std::string> out;
    for (const NamedTensor& t : tensors) out.push_back(t.name);
    return out;
}

std::vector<at::Tensor> TrainableEncodec::parameterTensors() const
{
    return tensorValues(m_params);
}

const at::Tensor& TrainableEncodec::param(const std::string& name) const
{
    return m_params[m_paramIndex.at(name)].value;
}

at::Tensor TrainableEncodec::conv(const ConvLayout& layout, const at::Tensor& input) const
{
    at::Tensor out = convForward(layout, input); // [B, C, T]
    if (m_initTargetStd <= 0.0) return out;
    // dataDependentInit: scale g and shift the bias so that this output has zero-mean channels and the target
    // standard deviation. The convolution is linear in (g, bias), so the new output follows from the old one
    // without running the layer again: a * (out - mean).
    at::NoGradGuard noGrad;
    const double target = layout.prefix == m_decoder.last.prefix ? m_initTargetStd : 1.0;
    const double scale = target / std::max(out.std().item<double>(), 1e-8);
    const at::Tensor mean = out.mean(at::IntArrayRef { 0, 2 }); // [C]
    param(layout.prefix + ".conv.weight_g").mul_(scale);
    param(layout.prefix + ".conv.bias").sub_(mean).mul_(scale);
    return (out - mean.view({ 1, -1, 1 })) * scale;
}

at::Tensor TrainableEncodec::convForward(const ConvLayout& layout, const at::Tensor& input) const
{
    const at::Tensor& g = param(layout.prefix + ".conv.weight_g");
    const at::Tensor& v = param(layout.prefix + ".conv.weight_v");
    const at::Tensor& bias = param(layout.prefix + ".conv.bias");
    const at::Tensor weight = g * v / v.pow(2).sum({ 1, 2 }, true).sqrt();
    const int64_t stride = layout.stride;
    if (layout.transposed) { // trimmed to exactly L * stride outputs
        at::Tensor full = at::conv_transpose1d(input, weight, bias, stride);
        const int64_t padTotal = layout.kernel - stride;
        const int64_t right = padTotal / 2;
        const int64_t left = padTotal - right;
        return full.narrow(-1, left, full.size(-1) - left - right);
    }
    const int64_t length = input.size(-1);
    const int64_t kernel = (layout.kernel - 1) * layout.dilation + 1;
    const int64_t padTotal = kernel - stride;
    const int64_t frames = (length + stride - 1) / stride;
    const int64_t extra = frames * stride - length;
    const int64_t right = padTotal / 2;
    const int64_t left = padTotal - right;
    at::Tensor padded = reflectPad(input, left, right + extra);
    const int64_t noPadding = 0;
    return at::conv1d(padded, weight, bias, stride, at::IntArrayRef(noPadding), layout.dilation);
}

at::Tensor TrainableEncodec::resBlocks(const StageLayout& stage, at::Tensor x) const
{
    for (const ResBlockLayout& block : stage.resBlocks)
        x = x + conv(block.expand, at::elu(conv(block.reduce, at::elu(x))));
    return x;
}

at::Tensor TrainableEncodec::lstm(const LstmLayout& layout, const at::Tensor& input) const // [B, C, T], y = LSTM(x) + x
{
    std::vector<at::Tensor> weights;
    for (int64_t n = 0; n < layout.numLayers; ++n) {
        const std::string suffix = "_l" + std::to_string(n);
        for (const char* kind : { "weight_ih", "weight_hh", "bias_ih", "bias_hh" })
            weights.push_back(param(layout.prefix + ".lstm." + kind + suffix));
    }
    at::Tensor sequence = input.permute({ 2, 0, 1 }); // [T, B, C]
    at::Tensor zeros = at::zeros({ layout.numLayers, input.size(0), layout.channels }, input.options());
    at::Tensor output = std::get<0>(at::lstm(sequence, { zeros, zeros }, weights, true, layout.numLayers, 0.0,
        /*train=*/true, /*bidirectional=*/false, /*batch_first=*/false));
    return (output + sequence).permute({ 1, 2, 0 });
}

at::Tensor TrainableEncodec::encode(const at::Tensor& audio) const
{
    at::Tensor x = conv(m_encoder.first, audio);
    for (const StageLayout& stage : m_encoder.stages) x = conv(stage.resample, at::elu(resBlocks(stage, x)));
    x = lstm(m_encoder.lstm, x);
    return conv(m_encoder.last, at::elu(x));
}

at::Tensor TrainableEncodec::decode(const at::Tensor& latent) const
{
    at::Tensor x = lstm(m_decoder.lstm, conv(m_decoder.first, latent));
    for (const StageLayout& stage : m_decoder.stages) x = resBlocks(stage, conv(stage.resample, at::elu(x)));
    return conv(m_decoder.last, at::elu(x));
}

void TrainableEncodec::dataDependentInit(const at::Tensor& audio)
{
    at::NoGradGuard noGrad;
    m_initTargetStd = std::max(audio.pow(2).mean().sqrt().item<double>(), 1e-4);
    try {
        (void)decode(encode(audio));
    } catch (...) {
        m_initTargetStd = 0.0;
        throw;
    }
    m_initTargetStd = 0.0;
}

// ---- residual vector quantizer --------------------------------------------------------------------

// k-means on this batch's residuals, seeded by k-means++ (each next centroid a row drawn with probability
// proportional to its squared distance from the nearest centroid so far; uniformly once every row is a
// centroid). Empty clusters keep their centroid. cluster_size = the final counts, embed_avg = embed * counts.
void TrainableEncodec::initCodebook(int64_t q, const at::Tensor& residual, at::Generator& generator)
{
    const int64_t rows = residual.size(0);
    const int64_t codes = m_config.codebookSize;
    const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong);
    std::vector<at::Tensor> picks = { at::randint(rows, { 1 }, generator, longs) };
    at::Tensor nearest = squaredDistance(residual, residual.index_select(0, picks[0])).squeeze(1).clamp_min(0); // [N]
    for (int64_t k = 1; k < codes; ++k) {
        const bool spread = nearest.sum().item<double>() > 0.0;
        picks.push_back(
            spread ? at::multinomial(nearest, 1, false, generator) : at::randint(rows, { 1 }, generator, longs));
        const at::Tensor distance = squaredDistance(residual, residual.index_select(0, picks.back())).squeeze(1);
        nearest = at::minimum(nearest, distance.clamp_min(0));
    }
    at::Tensor embed = residual.index_select(0, at::cat(picks)).clone(); // [V, D]
    at::Tensor counts = at::zeros({ codes }, kF32);
    for (int64_t it = 0; it < quantizerOptions.kmeansIterations; ++it) {
        at::Tensor index = at::argmin(squaredDistance(residual, embed), 1); // [N]
        counts = at::zeros({ codes }, kF32).index_add_(0, index, at::ones({ rows }, kF32));
        at::Tensor sums = at::zeros_like(embed).index_add_(0, index, residual);
        at::Tensor used = (counts > 0).unsqueeze(1);
        embed = at::where(used, sums / counts.clamp_min(1).unsqueeze(1), embed);
    }
    m_buffers[4 * q].value.copy_(embed);
    m_buffers[4 * q + 1].value.copy_(embed * counts.unsqueeze(1));
    m_buffers[4 * q + 2].value.copy_(counts);
    m_buffers[4 * q + 3].value.fill_(1.0);
}

void TrainableEncodec::updateCodebook(int64_t q, const at::Tensor& residual, const at::Tensor& index)
{
    const double decay = quantizerOptions.decay;
    const int64_t codes = m_config.codebookSize;
    at::Tensor& embed = m_buffers[4 * q].value;
    at::Tensor& embedAvg = m_buffers[4 * q + 1].value;
    at::Tensor& clusterSize = m_buffers[4 * q + 2].value;
    at::Tensor counts = at::zeros({ codes }, kF32).index_add_(0, index, at::ones({ residual.size(0) }, kF32));
    at::Tensor sums = at::zeros_like(embed).index_add_(0, index, residual);
    clusterSize.mul_(decay).add_(counts, 1.0 - decay);
    embedAvg.mul_(decay).add_(sums, 1.0 - decay);
    const double eps = quantizerOptions.epsilon;
    at::Tensor total = clusterSize.sum();
    at::Tensor smoothed = (clusterSize + eps) / (total + codes * eps) * total;
    embed.copy_(embedAvg / smoothed.unsqueeze(1));
}

// Codes whose EMA cluster size fell below the threshold take random rows of this batch's residual; their
// statistics restart at the average count (rows / codes, ten times the threshold), so that a restarted code
// has about 230 steps (ln 10 / 0.01 at decay 0.99) to be used before it can be restarted again.
int64_t TrainableEncodec::restartDeadCodes(int64_t q, const at::Tensor& residual, at::Generator& generator)
{
    const int64_t codes = m_config.codebookSize;
    const double threshold = quantizerOptions.deadCodeFraction * static_cast<double>(residual.size(0)) / codes;
    at::Tensor& clusterSize = m_buffers[4 * q + 2].value;
    at::Tensor dead = clusterSize < threshold; // [V]
    const int64_t count = dead.sum().item<int64_t>();
    if (count == 0) return 0;
    at::Tensor pick = at::randint(residual.size(0), { codes }, generator, at::TensorOptions().dtype(at::kLong));
    at::Tensor sampled = residual.index_select(0, pick); // [V, D]
    at::Tensor deadRows = dead.unsqueeze(1);
    m_buffers[4 * q].value.copy_(at::where(deadRows, sampled, m_buffers[4 * q].value));
    const double restartSize = static_cast<double>(residual.size(0)) / static_cast<double>(codes);
    m_buffers[4 * q + 1].value.copy_(at::where(deadRows, sampled * restartSize, m_buffers[4 * q + 1].value));
    clusterSize.copy_(at::where(dead, at::full_like(clusterSize, restartSize), clusterSize));
    return count;
}

QuantizeResult TrainableEncodec::quantize(const at::Tensor& latent, bool train, at::Generator& generator)
{
    const int64_t batch = latent.size(0);
    const int64_t frames = latent.size(2);
    at::Tensor flat = latent.permute({ 0, 2, 1 }).reshape({ -1, m_config.codebookDim }); // [B*T, D]
    QuantizeResult result;
    std::vector<at::Tensor> codes;
    at::Tensor residual = flat.detach();
    at::Tensor sum = at::zeros_like(residual);
    at::Tensor commitment = at::zeros({}, kF32);
    for (int64_t q = 0; q < m_config.numQuantizers(); ++q) {
        at::Tensor index;
        {
            at::NoGradGuard noGrad;
            if (train && m_buffers[4 * q + 3].value.item<float>() == 0.0f) initCodebook(q, residual, generator);
            index = at::argmin(squaredDistance(residual, m_buffers[4 * q].value), 1); // [N]
        }
        at::Tensor chosen = m_buffers[4 * q].value.index_select(0, index).clone(); // [N, D], no gradient
        // Commitment of the encoder output to the accumulated quantization so far (the gradient reaches
        // the encoder through `flat`; residual_q = flat - Σ_{j<q} chosen_j).
        commitment = commitment + at::mse_loss(flat - sum, chosen);
        {
            at::NoGradGuard noGrad;
            if (train) {
                updateCodebook(q, residual, index);
                result.restartedCodes += restartDeadCodes(q, residual, generator);
            }
            residual = residual - chosen;
            sum = sum + chosen;
        }
        codes.push_back(index.view({ batch, frames }));
    }
    result.quantized = (flat + (sum - flat).detach()).view({ batch, frames, -1 }).permute({ 0, 2, 1 });
    result.codes = at::stack(codes, 1);
    result.commitment = commitment;
    return result;
}

// ---- state --------------------------------------------------------------------------------------

std::map<std::string, at::Tensor> TrainableEncodec::stateDict(const std::vector<at::Tensor>* weightsOverride) const
{
    std::map<std::string, at::Tensor> out;
    for (size_t i = 0; i < m_params.size(); ++i)
        out[m_params[i].name] = (weightsOverride ? (*weightsOverride)[i] : m_params[i].value).detach();
    for (const NamedTensor& b : m_buffers) out[b.name] = b.value;
    return out;
}

Expected<void> TrainableEncodec::loadStateDict(
    const std::map<std::string, at::Tensor>& tensors, const std::string& where)
{
    at::NoGradGuard noGrad;
    auto copyInto = [&](NamedTensor& target) -> Expected<void> {
        auto it = tensors.find(target.name);
        if (it == tensors.end())
            return Error::inFile(ErrorCode::Mismatch, where, "has no tensor '" + target.name + "'");
        if (it->second.sizes() != target.value.sizes())
            return Error::inFile(ErrorCode::Mismatch, where, "tensor '" + target.name + "' has the wrong shape");
        target.value.copy_(it->second);
        return {};
    };
    for (NamedTensor& p : m_params) TMK_TRY(copyInto(p));
    for (NamedTensor& b : m_buffers) TMK_TRY(copyInto(b));
    return {};
}

std::string encodecConfigJson(const EncodecConfig& c)
{
    nlohmann::ordered_json j;
    j["architectures"] = { "EncodecModel" };
    j["audio_channels"] = c.audioChannels;
    j["chunk_length_s"] = nullptr;
    j["codebook_dim"] = c.codebookDim;
    j["codebook_size"] = c.codebookSize;
    j["compress"] = c.compress;
    j["dilation_growth_rate"] = c.dilationGrowthRate;
    j["hidden_size"] = c.hiddenSize;
    j["kernel_size"] = c.kernelSize;
    j["last_kernel_size"] = c.lastKernelSize;
    j["model_type"] = "encodec";
    j["norm_type"] = "weight_norm";
    j["normalize"] = c.normalize;
    j["num_filters"] = c.numFilters;
    j["num_lstm_layers"] = c.numLstmLayers;
    j["num_residual_layers"] = c.numResidualLayers;
    j["overlap"] = nullptr;
    j["pad_mode"] = c.padMode;
    j["residual_kernel_size"] = c.residualKernelSize;
    j["sampling_rate"] = c.samplingRate;
    j["target_bandwidths"] = c.targetBandwidths;
    j["torch_dtype"] = "float32";
    j["trim_right_ratio"] = 1.0;
    j["upsampling_ratios"] = c.upsamplingRatios;
    j["use_causal_conv"] = c.useCausalConv;
    j["use_conv_shortcut"] = c.useConvShortcut;
    return j.dump(2);
}

Expected<EncodecConfig> loadEncodecConfig(const std::filesystem::path& dir)
{
    const std::string path = (dir / "config.json").string();
    std::ifstream in(path);
    if (!in) return Error::inFile(ErrorCode::NotFound, path, "cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    return parseEncodecConfig(text.str(), path);
}

Expected<EncodecConfig> parseEncodecConfig(const std::string& text, const std::string& where)
{
    try {
        nlohmann::json root = nlohmann::json::parse(text);
        const nlohmann::json& j = root.contains("audio_encoder") ? root.at("audio_encoder") : root;
        EncodecConfig c;
        c.samplingRate = j.value("sampling_rate", c.samplingRate);
        c.audioChannels = j.value("audio_channels", c.audioChannels);
        c.numFilters = j.at("num_filters").get<int64_t>();
        c.hiddenSize = j.at("hidden_size").get<int64_t>();
        c.codebookSize = j.at("codebook_size").get<int64_t>();
        c.codebookDim = j.value("codebook_dim", c.hiddenSize);
        c.kernelSize = j.value("kernel_size", c.kernelSize);
        c.lastKernelSize = j.value("last_kernel_size", c.lastKernelSize);
        c.residualKernelSize = j.value("residual_kernel_size", c.residualKernelSize);
        c.numResidualLayers = j.value("num_residual_layers", c.numResidualLayers);
        c.dilationGrowthRate = j.value("dilation_growth_rate", c.dilationGrowthRate);
        c.compress = j.value("compress", c.compress);
        c.numLstmLayers = j.value("num_lstm_layers", c.numLstmLayers);
        c.upsamplingRatios = j.at("upsampling_ratios").get<std::vector<int64_t>>();
        c.targetBandwidths = j.at("target_bandwidths").get<std::vector<double>>();
        return c;
    } catch (const nlohmann::json::exception& error) {
        return Error::inFile(ErrorCode::Mismatch, where, std::string("is not an EnCodec config: ") + error.what());
    }
}

Expected<void> saveEncodecFolder(
    const TrainableEncodec& codec, const std::filesystem::path& dir, const std::vector<at::Tensor>* weightsOverride)
{
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) return Error::inFile(ErrorCode::Io, dir.string(), "cannot be created: " + error.message());
    TMK_TRY(saveTensors(dir / "model.safetensors", codec.stateDict(weightsOverride), { { "format", "pt" } }));
    nlohmann::ordered_json config;
    config["audio_encoder"] = nlohmann::ordered_json::parse(encodecConfigJson(codec.config()));
    return writeFileAtomic(dir / "config.json", config.dump(2) + "\n");
}

Expected<Encodec> loadEncodecFolder(const std::filesystem::path& dir, const at::TensorOptions& options)
{
    Expected<EncodecConfig> codec = loadEncodecConfig(dir);
    if (!codec) return codec.error();
    Expected<WeightStore> weights = WeightStore::open(dir);
    if (!weights) return weights.error();
    MusicgenConfig config;
    config.codec = *codec;
    return Encodec::load(*weights, config, options);
}

} // namespace tmk::encodec
