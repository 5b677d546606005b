#include "lmtrain/lm_model.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>

#include "core/json.h"
#include "core/model_config.h"
#include "lm/decoder.h"
#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "tensorio/torch/torch_tensor.h"
#include "text/t5_encoder.h"

namespace tmk::lmtrain {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kExtraIds = 100;
constexpr const char* kTransformersVersion = "4.40.2"; // the version the fixtures' layout was written by

// T5PreTrainedModel._init_weights with initializer_factor f: shared N(0, f), q N(0, f (d d_kv)^-1/2),
// k/v N(0, f d^-1/2), o N(0, f (H d_kv)^-1/2), relative bias N(0, f d^-1/2), wi N(0, f d^-1/2),
// wo N(0, f d_ff^-1/2), norms 1.
double t5Std(const std::string& name, const T5Config& c, double factor)
{
    const auto d = static_cast<double>(c.dModel);
    if (name.ends_with("shared.weight")) return factor;
    if (name.ends_with("SelfAttention.q.weight")) return factor / std::sqrt(d * static_cast<double>(c.dKv));
    if (name.ends_with("SelfAttention.o.weight")) return factor / std::sqrt(static_cast<double>(c.innerDim()));
    if (name.ends_with("wo.weight")) return factor / std::sqrt(static_cast<double>(c.dFf));
    return factor / std::sqrt(d); // k, v, relative_attention_bias, wi
}

} // namespace

nlohmann::json musicgenConfigJson(const nlohmann::json& audioEncoder, const LmShape& shape, int64_t pieces)
{
    const int64_t codebookSize = audioEncoder.value("codebook_size", int64_t { 0 });
    const int64_t frameRate = [&] {
        int64_t hop = 1;
        for (const auto& r : audioEncoder.value("upsampling_ratios", std::vector<int64_t> {})) hop *= r;
        const int64_t rate = audioEncoder.value("sampling_rate", int64_t { 16000 });
        return (rate + hop - 1) / std::max<int64_t>(hop, 1);
    }();
    const double bandwidth = audioEncoder.value("target_bandwidths", std::vector<double> { 0.0 }).back();
    const auto codebooks = static_cast<int64_t>(std::floor(1000.0 * bandwidth / static_cast<double>(frameRate * 10)));
    const int64_t t5Vocab = (pieces + kExtraIds + 127) / 128 * 128;
    nlohmann::json text = {
        { "_name_or_path", "" },
        { "architectures", { "T5EncoderModel" } },
        { "model_type", "t5" },
        { "vocab_size", t5Vocab },
        { "d_model", shape.textModel },
        { "d_kv", shape.textKv },
        { "d_ff", shape.textFf },
        { "num_layers", shape.textLayers },
        { "num_decoder_layers", shape.textLayers },
        { "num_heads", shape.textHeads },
        { "relative_attention_num_buckets", 32 },
        { "relative_attention_max_distance", 128 },
        { "dropout_rate", 0.1 },
        { "layer_norm_epsilon", 1e-6 },
        { "initializer_factor", 1.0 },
        { "feed_forward_proj", "relu" },
        { "dense_act_fn", "relu" },
        { "is_gated_act", false },
        { "is_encoder_decoder", true },
        { "use_cache", true },
        { "pad_token_id", 0 },
        { "eos_token_id", 1 },
        { "decoder_start_token_id", 0 },
        { "tie_word_embeddings", true },
        { "n_positions", 512 },
    };
    nlohmann::json decoder = {
        { "_name_or_path", "" },
        { "model_type", "musicgen_decoder" },
        { "vocab_size", codebookSize },
        { "max_position_embeddings", 2048 },
        { "num_hidden_layers", shape.layers },
        { "ffn_dim", shape.ffn },
        { "num_attention_heads", shape.heads },
        { "layerdrop", 0.0 },
        { "use_cache", true },
        { "activation_function", "gelu" },
        { "hidden_size", shape.hidden },
        { "dropout", 0.1 },
        { "attention_dropout", 0.0 },
        { "activation_dropout", 0.0 },
        { "initializer_factor", 0.02 },
        { "scale_embedding", false },
        { "num_codebooks", codebooks },
        { "audio_channels", 1 },
        { "pad_token_id", codebookSize },
        { "bos_token_id", codebookSize },
        { "tie_word_embeddings", false },
    };
    return {
        { "architectures", { "MusicgenForConditionalGeneration" } },
        { "model_type", "musicgen" },
        { "is_encoder_decoder", true },
        { "torch_dtype", "float32" },
        { "transformers_version", kTransformersVersion },
        { "audio_encoder", audioEncoder },
        { "text_encoder", text },
        { "decoder", decoder },
    };
}

nlohmann::json generationConfigJson(int64_t padTokenId, int64_t maxLength)
{
    return { { "_from_model_config", false }, { "bos_token_id", padTokenId }, { "decoder_start_token_id", padTokenId },
        { "pad_token_id", padTokenId }, { "do_sample", true }, { "top_k", 250 }, { "guidance_scale", 3.0 },
        { "max_length", maxLength }, { "transformers_version", kTransformersVersion } };
}

Expected<std::map<std::string, at::Tensor>> initialWeights(const nlohmann::json& configJson, uint64_t seed)
{
    Expected<MusicgenConfig> config = MusicgenConfig::parse(configJson.dump(), "the new model's config.json");
    if (!config) return config.error();
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::map<std::string, at::Tensor> weights;
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    auto draw = [&](const TensorSpec& spec, double std) {
        switch (spec.init) {
        case TensorInit::Ones:
            return at::ones(spec.shape, f32);
        case TensorInit::Zeros:
            return at::zeros(spec.shape, f32);
        case TensorInit::Sinusoidal:
            return sinusoidalPositions(spec.shape.at(0), spec.shape.at(1));
        default:
            return at::empty(spec.shape, f32).normal_(0.0, std, generator);
        }
    };
    for (const TensorSpec& spec : T5Encoder::tensorSpecs(*config))
        weights[spec.name] = draw(spec, t5Std(spec.name, config->text, 1.0));
    for (const TensorSpec& spec : decoderTensorSpecs(*config)) weights[spec.name] = draw(spec, 0.02);
    return weights;
}

Expected<std::map<std::string, at::Tensor>> weightsFromModel(const nlohmann::json& configJson, const fs::path& modelDir)
{
    Expected<MusicgenConfig> config = MusicgenConfig::parse(configJson.dump(), "the new model's config.json");
    if (!config) return config.error();
    const fs::path file = modelDir / "model.safetensors";
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(file);
    if (!checkpoint) return checkpoint.error();
    auto shapeText = [](at::IntArrayRef shape) {
        std::string out;
        for (int64_t d : shape) out += (out.empty() ? "" : ", ") + std::to_string(d);
        return "[" + out + "]";
    };
    std::vector<TensorSpec> specs = T5Encoder::tensorSpecs(*config);
    for (TensorSpec& spec : decoderTensorSpecs(*config)) specs.push_back(std::move(spec));
    std::map<std::string, at::Tensor> weights;
    for (const TensorSpec& spec : specs) {
        if (!checkpoint->contains(spec.name))
            return Error::inFile(ErrorCode::Mismatch, file.string(),
                "has no tensor " + spec.name + ": is it a MusicGen of this run's shape (--layers, --hidden, ...)?");
        Expected<at::Tensor> tensor = loadTensor(*checkpoint, spec.name);
        if (!tensor) return tensor.error();
        if (tensor->sizes() != at::IntArrayRef(spec.shape))
            return Error::inFile(ErrorCode::Mismatch, file.string(),
                "holds " + spec.name + " as " + shapeText(tensor->sizes()) + ", but this run's shape needs "
                    + shapeText(spec.shape) + ": give train-lm the model's own shape options");
        weights[spec.name] = tensor->to(at::kFloat).contiguous().clone();
    }
    return weights;
}

Expected<void> writeTokenizerFiles(const fs::path& dir, const fs::path& spieceModel, int64_t pieces, int64_t sampleRate)
{
    Expected<std::string> model = readFileText(spieceModel);
    if (!model) return model.error();
    TMK_TRY(writeFileAtomic(dir / "spiece.model", *model));
    auto special = [](const std::string& content, bool strip) {
        return nlohmann::json { { "content", content }, { "lstrip", strip }, { "normalized", false },
            { "rstrip", strip }, { "single_word", false }, { "special", true } };
    };
    nlohmann::json decoderTable = nlohmann::json::object();
    decoderTable["0"] = special("<pad>", false);
    decoderTable["1"] = special("</s>", false);
    decoderTable["2"] = special("<unk>", false);
    nlohmann::json added = nlohmann::json::object();
    nlohmann::json extra = nlohmann::json::array();
    for (int64_t i = 0; i < kExtraIds; ++i) {
        const std::string token = "<extra_id_" + std::to_string(i) + ">";
        const int64_t id = pieces + kExtraIds - 1 - i; // T5: <extra_id_0> is the last id
        decoderTable[std::to_string(id)] = special(token, true);
        added[token] = id;
        extra.push_back(token);
    }
    nlohmann::json config = { { "add_prefix_space", true }, { "added_tokens_decoder", decoderTable },
        { "additional_special_tokens", extra }, { "clean_up_tokenization_spaces", true }, { "eos_token", "</s>" },
        { "extra_ids", kExtraIds }, { "legacy", true }, { "model_max_length", 512 }, { "pad_token", "<pad>" },
        { "processor_class", "MusicgenProcessor" }, { "sp_model_kwargs", nlohmann::json::object() },
        { "tokenizer_class", "T5Tokenizer" }, { "unk_token", "<unk>" } };
    auto plain = [](const std::string& content) {
        return nlohmann::json { { "content", content }, { "lstrip", false }, { "normalized", false },
            { "rstrip", false }, { "single_word", false } };
    };
    nlohmann::json specialMap = { { "additional_special_tokens", extra }, { "eos_token", plain("</s>") },
        { "pad_token", plain("<pad>") }, { "unk_token", plain("<unk>") } };
    nlohmann::json preprocessor = { { "chunk_length_s", nullptr },
        { "feature_extractor_type", "EncodecFeatureExtractor" }, { "feature_size", 1 }, { "overlap", nullptr },
        { "padding_side", "left" }, { "padding_value", 0.0 }, { "processor_class", "MusicgenProcessor" },
        { "return_attention_mask", true }, { "sampling_rate", sampleRate } };
    TMK_TRY(writeJsonFileAtomic(dir / "tokenizer_config.json", config));
    TMK_TRY(writeJsonFileAtomic(dir / "special_tokens_map.json", specialMap));
    TMK_TRY(writeJsonFileAtomic(dir / "added_tokens.json", added));
    return writeJsonFileAtomic(dir / "preprocessor_config.json", preprocessor);
}

} // namespace tmk::lmtrain
