#include "core/model_config.h"

#include <cmath>

#include "core/json.h"
#include "tastemaker/fileio.h"

namespace tmk {

namespace fs = std::filesystem;
using nlohmann::json;

int64_t EncodecConfig::hopLength() const
{
    int64_t hop = 1;
    for (int64_t ratio : upsamplingRatios) hop *= ratio;
    return hop;
}

int64_t EncodecConfig::frameRate() const
{
    const int64_t hop = hopLength();
    return hop > 0 ? (samplingRate + hop - 1) / hop : 0;
}

int64_t EncodecConfig::numQuantizers() const
{
    if (targetBandwidths.empty() || frameRate() == 0) return 0;
    return static_cast<int64_t>(
        std::floor(1000.0 * targetBandwidths.back() / (static_cast<double>(frameRate()) * 10.0)));
}

int64_t EncodecConfig::quantizersForBandwidth(double kbps) const
{
    const double bitsPerCode = std::log2(static_cast<double>(codebookSize));
    const auto wanted
        = static_cast<int64_t>(std::floor(kbps * 1000.0 / (bitsPerCode * static_cast<double>(frameRate()))));
    return std::min(numQuantizers(), std::max<int64_t>(1, wanted));
}

namespace {

// Reads the fields of one sub-config. Each reader reports the first missing or mistyped key.
#define TMK_FIELD(target, obj, key, where)                                                                             \
    do {                                                                                                               \
        auto v_ = jsonField<decltype(target)>(obj, key, where);                                                        \
        if (!v_) return v_.error();                                                                                    \
        target = *v_;                                                                                                  \
    } while (0)
#define TMK_FIELD_OR(target, obj, key, where)                                                                          \
    do {                                                                                                               \
        auto v_ = jsonFieldOr<decltype(target)>(obj, key, target, where);                                              \
        if (!v_) return v_.error();                                                                                    \
        target = *v_;                                                                                                  \
    } while (0)

Expected<T5Config> parseT5(const json& j, const std::string& where)
{
    T5Config c;
    TMK_FIELD(c.vocabSize, j, "vocab_size", where);
    TMK_FIELD(c.dModel, j, "d_model", where);
    TMK_FIELD(c.dKv, j, "d_kv", where);
    TMK_FIELD(c.dFf, j, "d_ff", where);
    TMK_FIELD(c.numLayers, j, "num_layers", where);
    TMK_FIELD(c.numHeads, j, "num_heads", where);
    TMK_FIELD_OR(c.numBuckets, j, "relative_attention_num_buckets", where);
    TMK_FIELD_OR(c.maxDistance, j, "relative_attention_max_distance", where);
    TMK_FIELD_OR(c.layerNormEps, j, "layer_norm_epsilon", where);
    std::string proj = "relu";
    TMK_FIELD_OR(proj, j, "feed_forward_proj", where);
    if (proj == "gated-gelu")
        c.gatedGelu = true;
    else if (proj != "relu")
        return Error::inFile(
            ErrorCode::Unsupported, where, "feed_forward_proj \"" + proj + "\" is not supported (relu or gated-gelu)");
    return c;
}

Expected<DecoderConfig> parseDecoder(const json& j, const std::string& where)
{
    DecoderConfig c;
    TMK_FIELD(c.vocabSize, j, "vocab_size", where);
    TMK_FIELD(c.hiddenSize, j, "hidden_size", where);
    TMK_FIELD(c.numLayers, j, "num_hidden_layers", where);
    TMK_FIELD(c.numHeads, j, "num_attention_heads", where);
    TMK_FIELD(c.ffnDim, j, "ffn_dim", where);
    TMK_FIELD(c.numCodebooks, j, "num_codebooks", where);
    TMK_FIELD_OR(c.maxPositions, j, "max_position_embeddings", where);
    c.padTokenId = c.vocabSize;
    TMK_FIELD_OR(c.padTokenId, j, "pad_token_id", where);
    TMK_FIELD_OR(c.scaleEmbedding, j, "scale_embedding", where);
    int64_t channels = 1;
    TMK_FIELD_OR(channels, j, "audio_channels", where);
    if (channels != 1)
        return Error::inFile(ErrorCode::Unsupported, where,
            "is a stereo MusicGen (audio_channels " + std::to_string(channels)
                + "); Tastemaker supports the mono checkpoints (small, medium, large, melody-free)");
    std::string activation = "gelu";
    TMK_FIELD_OR(activation, j, "activation_function", where);
    if (activation != "gelu")
        return Error::inFile(ErrorCode::Unsupported, where,
            "decoder activation_function \"" + activation + "\" is not supported (gelu)");
    return c;
}

Expected<EncodecConfig> parseEncodec(const json& j, const std::string& where)
{
    EncodecConfig c;
    TMK_FIELD_OR(c.samplingRate, j, "sampling_rate", where);
    TMK_FIELD_OR(c.audioChannels, j, "audio_channels", where);
    TMK_FIELD(c.numFilters, j, "num_filters", where);
    TMK_FIELD(c.hiddenSize, j, "hidden_size", where);
    TMK_FIELD(c.codebookSize, j, "codebook_size", where);
    c.codebookDim = c.hiddenSize;
    TMK_FIELD_OR(c.codebookDim, j, "codebook_dim", where);
    TMK_FIELD_OR(c.kernelSize, j, "kernel_size", where);
    TMK_FIELD_OR(c.lastKernelSize, j, "last_kernel_size", where);
    TMK_FIELD_OR(c.residualKernelSize, j, "residual_kernel_size", where);
    TMK_FIELD_OR(c.numResidualLayers, j, "num_residual_layers", where);
    TMK_FIELD_OR(c.dilationGrowthRate, j, "dilation_growth_rate", where);
    TMK_FIELD_OR(c.compress, j, "compress", where);
    TMK_FIELD_OR(c.numLstmLayers, j, "num_lstm_layers", where);
    TMK_FIELD(c.upsamplingRatios, j, "upsampling_ratios", where);
    TMK_FIELD(c.targetBandwidths, j, "target_bandwidths", where);
    TMK_FIELD_OR(c.useCausalConv, j, "use_causal_conv", where);
    TMK_FIELD_OR(c.useConvShortcut, j, "use_conv_shortcut", where);
    TMK_FIELD_OR(c.normalize, j, "normalize", where);
    TMK_FIELD_OR(c.padMode, j, "pad_mode", where);
    std::string norm = "weight_norm";
    TMK_FIELD_OR(norm, j, "norm_type", where);
    if (norm != "weight_norm")
        return Error::inFile(
            ErrorCode::Unsupported, where, "EnCodec norm_type \"" + norm + "\" is not supported (weight_norm)");
    if (c.useCausalConv || c.useConvShortcut || c.normalize || c.audioChannels != 1 || c.padMode != "reflect")
        return Error::inFile(ErrorCode::Unsupported, where,
            "describes an EnCodec variant (causal, conv shortcut, normalised, stereo or non-reflect padding) "
            "that MusicGen does not use");
    return c;
}

Expected<GenerationDefaults> parseGeneration(const json& j, const DecoderConfig& decoder, const std::string& where)
{
    GenerationDefaults g;
    g.decoderStartTokenId = decoder.padTokenId;
    g.padTokenId = decoder.padTokenId;
    bool doSample = !g.sampling.greedy;
    TMK_FIELD_OR(doSample, j, "do_sample", where);
    g.sampling.greedy = !doSample;
    TMK_FIELD_OR(g.sampling.guidanceScale, j, "guidance_scale", where);
    TMK_FIELD_OR(g.maxLength, j, "max_length", where);
    TMK_FIELD_OR(g.sampling.topK, j, "top_k", where);
    TMK_FIELD_OR(g.sampling.topP, j, "top_p", where);
    TMK_FIELD_OR(g.sampling.temperature, j, "temperature", where);
    TMK_FIELD_OR(g.decoderStartTokenId, j, "decoder_start_token_id", where);
    TMK_FIELD_OR(g.padTokenId, j, "pad_token_id", where);
    return g;
}

#undef TMK_FIELD
#undef TMK_FIELD_OR

Error mismatch(const std::string& where, const std::string& what)
{
    return Error::inFile(ErrorCode::Mismatch, where, what);
}

} // namespace

Expected<MusicgenConfig> MusicgenConfig::parse(const std::string& configJson, const std::string& where)
{
    json root;
    try {
        root = json::parse(configJson);
    } catch (const json::parse_error& e) {
        return Error::inFile(ErrorCode::Format, where, "is not valid JSON (at byte " + std::to_string(e.byte) + ")");
    } catch (const json::exception& e) {
        return Error::inFile(ErrorCode::Format, where, std::string("is not valid JSON (") + e.what() + ")");
    }
    if (!root.is_object()) return Error::inFile(ErrorCode::Format, where, "is not a JSON object");
    for (const char* section : { "text_encoder", "decoder", "audio_encoder" })
        if (!root.contains(section) || !root.at(section).is_object())
            return Error::inFile(ErrorCode::Format, where,
                std::string("has no \"") + section
                    + "\" section; is this a MusicGen (MusicgenForConditionalGeneration) config?");
    MusicgenConfig config;
    auto text = parseT5(root.at("text_encoder"), where + " [text_encoder]");
    if (!text) return text.error();
    auto decoder = parseDecoder(root.at("decoder"), where + " [decoder]");
    if (!decoder) return decoder.error();
    auto codec = parseEncodec(root.at("audio_encoder"), where + " [audio_encoder]");
    if (!codec) return codec.error();
    config.text = *text;
    config.decoder = *decoder;
    config.codec = *codec;
    config.generation.decoderStartTokenId = config.decoder.padTokenId;
    config.generation.padTokenId = config.decoder.padTokenId;
    TMK_TRY(config.validate(where));
    return config;
}

Expected<MusicgenConfig> MusicgenConfig::load(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return Error::inFile(
            ErrorCode::NotFound, dir.string(), "is not a folder; point to a Hugging Face MusicGen checkpoint folder");
    const fs::path configPath = dir / "config.json";
    Expected<std::string> text = readFileText(configPath);
    if (!text) return text.error();
    Expected<MusicgenConfig> config = parse(*text, configPath.string());
    if (!config) return config.error();
    config->dir = dir;
    const fs::path genPath = dir / "generation_config.json";
    if (fs::exists(genPath, ec)) {
        Expected<json> gen = readJsonFile(genPath);
        if (!gen) return gen.error();
        auto defaults = parseGeneration(*gen, config->decoder, genPath.string());
        if (!defaults) return defaults.error();
        config->generation = *defaults;
    }
    return config;
}

Expected<void> MusicgenConfig::validate(const std::string& where) const
{
    auto positive = [&](int64_t value, const char* name) -> Expected<void> {
        if (value <= 0) return mismatch(where, std::string(name) + " must be positive, not " + std::to_string(value));
        return {};
    };
    for (auto [value, name] :
        { std::pair { text.vocabSize, "text_encoder.vocab_size" }, { text.dModel, "text_encoder.d_model" },
            { text.dKv, "text_encoder.d_kv" }, { text.dFf, "text_encoder.d_ff" },
            { text.numLayers, "text_encoder.num_layers" }, { text.numHeads, "text_encoder.num_heads" },
            { text.numBuckets, "text_encoder.relative_attention_num_buckets" },
            { decoder.vocabSize, "decoder.vocab_size" }, { decoder.hiddenSize, "decoder.hidden_size" },
            { decoder.numLayers, "decoder.num_hidden_layers" }, { decoder.numHeads, "decoder.num_attention_heads" },
            { decoder.ffnDim, "decoder.ffn_dim" }, { decoder.numCodebooks, "decoder.num_codebooks" },
            { decoder.maxPositions, "decoder.max_position_embeddings" },
            { codec.numFilters, "audio_encoder.num_filters" }, { codec.hiddenSize, "audio_encoder.hidden_size" },
            { codec.codebookSize, "audio_encoder.codebook_size" },
            { codec.samplingRate, "audio_encoder.sampling_rate" } })
        TMK_TRY(positive(value, name));
    if (decoder.hiddenSize % decoder.numHeads != 0)
        return mismatch(where,
            "decoder.hidden_size " + std::to_string(decoder.hiddenSize) + " is not divisible by num_attention_heads "
                + std::to_string(decoder.numHeads));
    if (decoder.hiddenSize % 2 != 0)
        return mismatch(where, "decoder.hidden_size must be even for the sinusoidal positions");
    if (decoder.vocabSize != codec.codebookSize)
        return mismatch(where,
            "decoder.vocab_size " + std::to_string(decoder.vocabSize) + " differs from audio_encoder.codebook_size "
                + std::to_string(codec.codebookSize));
    if (codec.upsamplingRatios.empty()) return mismatch(where, "audio_encoder.upsampling_ratios is empty");
    for (int64_t ratio : codec.upsamplingRatios)
        if (ratio <= 0) return mismatch(where, "audio_encoder.upsampling_ratios must be positive");
    if (codec.targetBandwidths.empty()) return mismatch(where, "audio_encoder.target_bandwidths is empty");
    if (codec.numQuantizers() < decoder.numCodebooks)
        return mismatch(where,
            "decoder.num_codebooks " + std::to_string(decoder.numCodebooks) + " exceeds the "
                + std::to_string(codec.numQuantizers()) + " quantizers of the audio encoder");
    if (codec.codebookDim != codec.hiddenSize)
        return mismatch(
            where, "audio_encoder.codebook_dim differs from hidden_size, which MusicGen's EnCodec never does");
    if (decoder.padTokenId != decoder.vocabSize)
        return mismatch(where,
            "decoder.pad_token_id " + std::to_string(decoder.padTokenId) + " should equal vocab_size "
                + std::to_string(decoder.vocabSize) + " (the extra embedding row)");
    return {};
}

} // namespace tmk
