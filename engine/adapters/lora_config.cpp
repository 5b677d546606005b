#include "adapters/lora_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace tmk {

using OrderedJson = nlohmann::ordered_json;

namespace {

constexpr const char* kMusicgenLibrary = "transformers.models.musicgen.modeling_musicgen";

bool isNull(const OrderedJson& root, const char* key)
{
    return !root.contains(key) || root.at(key).is_null();
}

Error typeError(const std::string& file, const std::string& key, const char* expected)
{
    return Error::inFile(ErrorCode::Format, file, "entry \"" + key + "\" must be " + expected);
}

Expected<bool> boolOr(const OrderedJson& root, const char* key, bool fallback, const std::string& file)
{
    if (isNull(root, key)) return fallback;
    if (!root.at(key).is_boolean()) return typeError(file, key, "true or false");
    return root.at(key).get<bool>();
}

Expected<double> numberOr(const OrderedJson& root, const char* key, double fallback, const std::string& file)
{
    if (isNull(root, key)) return fallback;
    if (!root.at(key).is_number()) return typeError(file, key, "a number");
    return root.at(key).get<double>();
}

Expected<std::string> stringOr(
    const OrderedJson& root, const char* key, const std::string& fallback, const std::string& file)
{
    if (isNull(root, key)) return fallback;
    if (!root.at(key).is_string()) return typeError(file, key, "a string");
    return root.at(key).get<std::string>();
}

Expected<void> checkRegex(const std::string& pattern, const std::string& file, const std::string& key)
{
    try {
        std::regex compiled(pattern);
    } catch (const std::regex_error&) {
        return Error::inFile(
            ErrorCode::Format, file, "entry \"" + key + "\" holds the invalid regex \"" + pattern + "\"");
    }
    return {};
}

// rank_pattern (integers) or alpha_pattern (numbers) in file order.
template <typename T>
Expected<std::vector<std::pair<std::string, T>>> parsePattern(
    const OrderedJson& root, const char* key, const std::string& file)
{
    std::vector<std::pair<std::string, T>> pattern;
    if (isNull(root, key)) return pattern;
    if (!root.at(key).is_object()) return typeError(file, key, "an object {regex: value}");
    for (const auto& [regex, value] : root.at(key).items()) {
        const bool ok = std::is_integral_v<T> ? value.is_number_integer() : value.is_number();
        if (!ok)
            return typeError(file, std::string(key) + "." + regex, std::is_integral_v<T> ? "an integer" : "a number");
        TMK_TRY(checkRegex("(.*\\.)?(" + regex + ")", file, std::string(key) + "." + regex));
        pattern.emplace_back(regex, value.template get<T>());
    }
    return pattern;
}

Expected<void> parseTargets(const OrderedJson& root, LoraConfig& config, const std::string& file)
{
    if (isNull(root, "target_modules")) return {};
    const OrderedJson& targets = root.at("target_modules");
    if (targets.is_string()) {
        TMK_TRY(checkRegex(targets.get<std::string>(), file, "target_modules"));
        config.targetRegex = targets.get<std::string>();
        return {};
    }
    if (!targets.is_array()) return typeError(file, "target_modules", "a list of module names or a regex string");
    for (const OrderedJson& name : targets) {
        if (!name.is_string()) return typeError(file, "target_modules", "a list of module names or a regex string");
        config.targetModules.push_back(name.get<std::string>());
    }
    return {};
}

Expected<void> parseAutoMapping(const OrderedJson& root, LoraConfig& config, const std::string& file)
{
    if (isNull(root, "auto_mapping")) return {};
    const OrderedJson& mapping = root.at("auto_mapping");
    if (!mapping.is_object()) return typeError(file, "auto_mapping", "an object");
    Expected<std::string> cls = stringOr(mapping, "base_model_class", "", file);
    if (!cls) return cls.error();
    config.baseModelClass = *cls;
    if (*cls == "MusicgenForConditionalGeneration")
        config.wrap = PeftWrap::FullModel;
    else if (*cls == "MusicgenForCausalLM")
        config.wrap = PeftWrap::DecoderOnly;
    else if (!cls->empty())
        return Error::inFile(ErrorCode::Unsupported, file,
            "is an adapter for " + *cls
                + "; this build merges adapters made for "
                  "MusicgenForConditionalGeneration or MusicgenForCausalLM");
    return {};
}

bool isTrue(const OrderedJson& root, const char* key)
{
    return root.contains(key) && root.at(key).is_boolean() && root.at(key).get<bool>();
}

bool nonEmpty(const OrderedJson& root, const char* key)
{
    if (isNull(root, key)) return false;
    const OrderedJson& value = root.at(key);
    return !((value.is_array() || value.is_object() || value.is_string()) && value.empty());
}

// The first reason (in ADAPTERS.md's order) why the merge cannot represent this adapter, or "".
std::string unsupportedReason(const OrderedJson& root)
{
    if (isTrue(root, "use_dora"))
        return "\"use_dora\" is true: DoRA adapters rescale the whole weight and cannot be blended as a sum of deltas";
    if (isTrue(root, "lora_bias"))
        return "\"lora_bias\" is true: LoRA bias tensors are not supported (MusicGen's targets have no bias)";
    if (root.contains("bias") && root.at("bias").is_string() && root.at("bias") != "none")
        return "\"bias\" is \"" + root.at("bias").get<std::string>()
            + "\": the adapter stores trained biases (full values, not deltas); only \"none\" can be blended";
    if (nonEmpty(root, "modules_to_save"))
        return "\"modules_to_save\" is set: full copies of whole modules cannot be blended";
    if (nonEmpty(root, "layer_replication"))
        return "\"layer_replication\" is set: the adapter changes the model's layers";
    if (root.contains("init_lora_weights") && root.at("init_lora_weights").is_string()) {
        const std::string init = root.at("init_lora_weights").get<std::string>();
        for (const char* kind : { "pissa", "olora", "corda" })
            if (init.rfind(kind, 0) == 0)
                return "\"init_lora_weights\" is \"" + init
                    + "\": such adapters are only valid with the base weights "
                      "they changed; convert them with PEFT (path_initial_model_for_weight_conversion) first";
    }
    if (nonEmpty(root, "trainable_token_indices"))
        return "\"trainable_token_indices\" is set: trainable token embeddings are not supported";
    if (nonEmpty(root, "target_parameters"))
        return "\"target_parameters\" is set: parameter-targeted LoRA is not supported";
    return "";
}

bool regexMatches(const std::string& key, const std::string& module)
{
    return std::regex_match(module, std::regex("(.*\\.)?(" + key + ")"));
}

nlohmann::json numberJson(double value)
{
    if (value == std::floor(value) && std::fabs(value) < 9e15) return static_cast<int64_t>(value);
    return value;
}

} // namespace

double loraScale(double alpha, int64_t rank, bool useRslora)
{
    return useRslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / static_cast<double>(rank);
}

Expected<LoraConfig> LoraConfig::parse(const std::string& text, const std::string& file)
{
    OrderedJson root;
    try {
        root = OrderedJson::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        return Error::inFile(ErrorCode::Format, file, "is not valid JSON (at byte " + std::to_string(e.byte) + ")");
    }
    if (!root.is_object()) return Error::inFile(ErrorCode::Format, file, "is not a JSON object");
    Expected<std::string> peftType = stringOr(root, "peft_type", "", file);
    if (!peftType) return peftType.error();
    if (*peftType != "LORA")
        return Error::inFile(ErrorCode::Unsupported, file,
            peftType->empty() ? "has no \"peft_type\"; a LoRA adapter says \"LORA\""
                              : "is a " + *peftType + " adapter; only LoRA (peft_type \"LORA\") can be merged");
    LoraConfig config;
    if (!isNull(root, "r") && !root.at("r").is_number_integer()) return typeError(file, "r", "an integer");
    config.r = isNull(root, "r") ? 8 : root.at("r").get<int64_t>();
    Expected<double> alpha = numberOr(root, "lora_alpha", 8.0, file);
    Expected<bool> rslora = boolOr(root, "use_rslora", false, file);
    Expected<double> dropout = numberOr(root, "lora_dropout", 0.0, file);
    Expected<std::string> task = stringOr(root, "task_type", "", file);
    Expected<std::string> base = stringOr(root, "base_model_name_or_path", "", file);
    if (!alpha) return alpha.error();
    if (!rslora) return rslora.error();
    if (!dropout) return dropout.error();
    if (!task) return task.error();
    if (!base) return base.error();
    config.loraAlpha = *alpha;
    config.useRslora = *rslora;
    config.loraDropout = *dropout;
    config.taskType = *task;
    config.baseModelNameOrPath = *base;
    auto ranks = parsePattern<int64_t>(root, "rank_pattern", file);
    if (!ranks) return ranks.error();
    auto alphas = parsePattern<double>(root, "alpha_pattern", file);
    if (!alphas) return alphas.error();
    config.rankPattern = std::move(*ranks);
    config.alphaPattern = std::move(*alphas);
    TMK_TRY(parseTargets(root, config, file));
    TMK_TRY(parseAutoMapping(root, config, file));
    config.unsupported = unsupportedReason(root);
    return config;
}

Expected<void> LoraConfig::checkSupported(const std::string& file) const
{
    if (unsupported.empty()) return {};
    return Error::inFile(ErrorCode::Unsupported, file, "cannot be merged: " + unsupported);
}

int64_t LoraConfig::rankFor(const std::string& module) const
{
    for (const auto& [key, value] : rankPattern)
        if (regexMatches(key, module)) return value;
    return r;
}

double LoraConfig::alphaFor(const std::string& module) const
{
    for (const auto& [key, value] : alphaPattern)
        if (regexMatches(key, module)) return value;
    return loraAlpha;
}

bool LoraConfig::targets(const std::string& module) const
{
    if (targetRegex) return std::regex_match(module, std::regex(*targetRegex));
    if (targetModules.empty()) return true;
    for (const std::string& target : targetModules) {
        if (module == target) return true;
        if (module.size() > target.size() && module.compare(module.size() - target.size(), target.size(), target) == 0
            && module[module.size() - target.size() - 1] == '.')
            return true;
    }
    return false;
}

std::string LoraConfig::toJson() const
{
    nlohmann::json root; // std::map keys: sorted like Python's sort_keys
    nlohmann::json ranks = nlohmann::json::object(), alphas = nlohmann::json::object();
    for (const auto& [key, value] : rankPattern) ranks[key] = value;
    for (const auto& [key, value] : alphaPattern) alphas[key] = numberJson(value);
    root["alpha_pattern"] = alphas;
    root["auto_mapping"] = nullptr;
    if (wrap == PeftWrap::FullModel || (wrap == PeftWrap::DecoderOnly && taskType.empty()))
        root["auto_mapping"]
            = { { "base_model_class",
                    wrap == PeftWrap::FullModel ? "MusicgenForConditionalGeneration" : "MusicgenForCausalLM" },
                  { "parent_library", kMusicgenLibrary } };
    root["base_model_name_or_path"]
        = baseModelNameOrPath.empty() ? nlohmann::json() : nlohmann::json(baseModelNameOrPath);
    root["bias"] = "none";
    root["fan_in_fan_out"] = false;
    root["inference_mode"] = true;
    root["init_lora_weights"] = true;
    for (const char* key : { "layer_replication", "layers_pattern", "layers_to_transform", "megatron_config",
             "modules_to_save", "revision" })
        root[key] = nullptr;
    root["loftq_config"] = nlohmann::json::object();
    root["lora_alpha"] = numberJson(loraAlpha);
    root["lora_dropout"] = loraDropout;
    root["megatron_core"] = "megatron.core";
    root["peft_type"] = "LORA";
    root["r"] = r;
    root["rank_pattern"] = ranks;
    root["target_modules"] = targetRegex ? nlohmann::json(*targetRegex)
        : targetModules.empty()          ? nlohmann::json()
                                         : nlohmann::json(targetModules);
    root["task_type"] = taskType.empty() ? nlohmann::json() : nlohmann::json(taskType);
    root["use_dora"] = false;
    root["use_rslora"] = useRslora;
    return root.dump(2, ' ', /*ensure_ascii=*/true);
}

} // namespace tmk
