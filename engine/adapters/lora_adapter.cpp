#include "adapters/lora_adapter.h"

#include <algorithm>
#include <map>
#include <regex>

#include <ATen/TensorOperators.h>
#include <ATen/ops/matmul.h>

#include "tastemaker/fileio.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kModelFile = "adapter_model.safetensors";
constexpr const char* kPickleFile = "adapter_model.bin";
constexpr const char* kPeftPrefix = "base_model.model.";

bool startsWith(const std::string& text, const std::string& prefix)
{
    return text.rfind(prefix, 0) == 0;
}

// The folder holding adapter_config.json: `dir`, or its only subfolder that holds one.
Expected<fs::path> resolveAdapterDir(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return Error::inFile(ErrorCode::NotFound, dir.string(), "is not an adapter folder (it does not exist)");
    if (fs::exists(dir / kConfigFile, ec)) return dir;
    std::vector<fs::path> named;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec))
        if (entry.is_directory(ec) && fs::exists(entry.path() / kConfigFile, ec)) named.push_back(entry.path());
    if (named.size() == 1) return named.front();
    if (named.empty())
        return Error::inFile(
            ErrorCode::NotFound, dir.string(), "has no adapter_config.json, so it is not a PEFT adapter folder");
    std::string list;
    for (const fs::path& path : named) list += (list.empty() ? "" : ", ") + path.filename().string();
    return Error::inFile(
        ErrorCode::InvalidArgument, dir.string(), "holds several named adapters (" + list + "); pass one of them");
}

// What one tensor key of an adapter file is: the module (path inside the wrapped model) and which factor.
struct KeyParts {
    std::string module;
    LoraKind kind = LoraKind::Linear;
    bool isA = true;
};

Error refuseKey(const std::string& file, const std::string& key, const std::string& why)
{
    return Error::inFile(ErrorCode::Unsupported, file, "tensor '" + key + "' " + why);
}

Expected<KeyParts> classifyKey(const std::string& key, const std::string& file)
{
    const std::string rest = startsWith(key, kPeftPrefix) ? key.substr(std::string(kPeftPrefix).size()) : key;
    static const std::pair<const char*, KeyParts> factors[] = {
        { ".lora_A.weight", { "", LoraKind::Linear, true } },
        { ".lora_B.weight", { "", LoraKind::Linear, false } },
        { ".lora_embedding_A", { "", LoraKind::Embedding, true } },
        { ".lora_embedding_B", { "", LoraKind::Embedding, false } },
    };
    for (const auto& [suffix, parts] : factors) {
        if (rest.ends_with(suffix) && rest.size() > std::string(suffix).size()) {
            KeyParts found = parts;
            found.module = rest.substr(0, rest.size() - std::string(suffix).size());
            return found;
        }
    }
    if (rest.find("lora_magnitude_vector") != std::string::npos)
        return refuseKey(file, key, "is a DoRA magnitude vector; DoRA adapters cannot be blended as a sum of deltas");
    if (rest.ends_with(".lora_B.bias"))
        return refuseKey(file, key, "is a LoRA bias (lora_bias=True), which this merge does not support");
    if (rest.find("modules_to_save") != std::string::npos || rest.find("original_module") != std::string::npos)
        return refuseKey(file, key, "is a modules_to_save copy of a whole module, which cannot be blended");
    if (rest.find("trainable_tokens") != std::string::npos)
        return refuseKey(file, key, "holds trainable token embeddings, which this merge does not support");
    if (rest.find("base_layer") != std::string::npos)
        return refuseKey(file, key, "is a base-layer weight, not a LoRA factor");
    if (rest.find(".lora_") != std::string::npos) {
        static const std::regex named(R"(.*\.lora_(A|B|embedding_A|embedding_B)\.[^.]+(\.weight)?)");
        if (std::regex_match(rest, named) && !rest.ends_with(".bias"))
            return refuseKey(
                file, key, "carries an adapter name inside its key, which PEFT's save_pretrained never writes");
        return refuseKey(file, key, "is not a LoRA factor this merge can represent");
    }
    if (rest.ends_with(".bias"))
        return refuseKey(
            file, key, "is a trained bias (bias=\"all\" or \"lora_only\"): full values, not deltas, cannot be blended");
    if (rest.ends_with(".weight"))
        return refuseKey(file, key, "is a full module weight (a modules_to_save copy), which cannot be blended");
    return refuseKey(file, key, "is not a LoRA factor this merge can represent");
}

// The wrapped model, from auto_mapping or else from the module paths (ADAPTERS.md §4).
Expected<PeftWrap> detectWrap(PeftWrap fromConfig, const std::vector<std::string>& modules, const std::string& file)
{
    if (fromConfig != PeftWrap::Unknown) return fromConfig;
    bool full = false, decoderOnly = false;
    for (const std::string& module : modules) {
        full = full || startsWith(module, "decoder.") || startsWith(module, "enc_to_dec_proj")
            || startsWith(module, "text_encoder.") || startsWith(module, "audio_encoder.");
        decoderOnly = decoderOnly || startsWith(module, "model.decoder.") || startsWith(module, "lm_heads.");
    }
    if (full != decoderOnly) return full ? PeftWrap::FullModel : PeftWrap::DecoderOnly;
    return Error::inFile(ErrorCode::Format, file,
        full ? "mixes module paths of the full MusicGen model and of its decoder alone"
             : "has module paths that are neither MusicGen's full model nor its decoder (first: '"
                + (modules.empty() ? std::string() : modules.front()) + "')");
}

struct FactorPair {
    const TensorInfo* a = nullptr;
    const TensorInfo* b = nullptr;
    LoraKind kind = LoraKind::Linear;
};

Expected<at::Tensor> readFactor(const SafetensorsFile& file, const TensorInfo& info)
{
    if (info.dtype != DType::F32 && info.dtype != DType::F16 && info.dtype != DType::BF16)
        return Error::inFile(ErrorCode::Unsupported, file.name(),
            "tensor '" + info.name + "' is " + dtypeName(info.dtype) + "; LoRA factors must be F32, F16 or BF16");
    if (info.shape.size() != 2 || info.shape[0] <= 0 || info.shape[1] <= 0)
        return Error::inFile(ErrorCode::Format, file.name(),
            "tensor '" + info.name + "' has shape " + shapeString(info.shape)
                + "; a LoRA factor is a non-empty matrix");
    // Upcast to float32 before any product (exact for F16 and BF16).
    return toTensor(file.data(info), info.dtype, info.shape).to(at::kFloat);
}

Expected<LoraModule> makeModule(
    const SafetensorsFile& file, const std::string& peftPath, const FactorPair& pair, PeftWrap wrap)
{
    if (!pair.a || !pair.b) {
        const std::string present = pair.a ? pair.a->name : pair.b->name;
        return Error::inFile(ErrorCode::Format, file.name(),
            "tensor '" + present + "' has no matching " + (pair.a ? "B" : "A") + " factor for module '" + peftPath
                + "'");
    }
    Expected<at::Tensor> a = readFactor(file, *pair.a);
    if (!a) return a.error();
    Expected<at::Tensor> b = readFactor(file, *pair.b);
    if (!b) return b.error();
    if (a->size(0) != b->size(1))
        return Error::inFile(ErrorCode::Format, file.name(),
            "tensors '" + pair.a->name + "' " + shapeString(a->sizes()) + " and '" + pair.b->name + "' "
                + shapeString(b->sizes()) + " disagree on the rank (the file is corrupt)");
    LoraModule module;
    module.peftPath = peftPath;
    module.path = wrap == PeftWrap::DecoderOnly ? "decoder." + peftPath : peftPath;
    module.keyA = pair.a->name;
    module.keyB = pair.b->name;
    module.kind = pair.kind;
    module.a = *a;
    module.b = *b;
    module.storedDtype = pair.a->dtype;
    return module;
}

// Groups the file's tensors by module, refusing any key the merge cannot represent.
Expected<std::map<std::string, FactorPair>> groupFactors(const SafetensorsFile& file)
{
    std::map<std::string, FactorPair> pairs;
    for (const TensorInfo& info : file.tensors()) {
        Expected<KeyParts> parts = classifyKey(info.name, file.name());
        if (!parts) return parts.error();
        FactorPair& pair = pairs[parts->module];
        if ((pair.a || pair.b) && pair.kind != parts->kind)
            return Error::inFile(ErrorCode::Format, file.name(),
                "tensor '" + info.name + "' mixes Linear and Embedding LoRA factors for module '" + parts->module
                    + "'");
        pair.kind = parts->kind;
        const TensorInfo*& slot = parts->isA ? pair.a : pair.b;
        if (slot)
            return Error::inFile(ErrorCode::Format, file.name(),
                "tensors '" + slot->name + "' and '" + info.name + "' are the same factor of module '" + parts->module
                    + "'");
        slot = &info;
    }
    if (pairs.empty()) return Error::inFile(ErrorCode::Format, file.name(), "holds no LoRA tensors");
    return pairs;
}

} // namespace

std::vector<int64_t> LoraModule::deltaShape() const
{
    return kind == LoraKind::Linear ? std::vector<int64_t> { b.size(0), a.size(1) }
                                    : std::vector<int64_t> { a.size(1), b.size(0) };
}

at::Tensor LoraModule::delta() const
{
    at::Tensor product = at::matmul(b.to(at::kFloat), a.to(at::kFloat)).mul_(scale); // [out, in] or [dim, num]
    return kind == LoraKind::Linear ? product : product.t().contiguous();
}

Expected<LoraAdapter> LoraAdapter::load(const fs::path& dir)
{
    Expected<fs::path> resolved = resolveAdapterDir(dir);
    if (!resolved) return resolved.error();
    LoraAdapter adapter;
    adapter.m_dir = *resolved;
    std::error_code ec;
    if (!fs::exists(adapter.m_dir / kModelFile, ec)) {
        if (fs::exists(adapter.m_dir / kPickleFile, ec))
            return Error::inFile(ErrorCode::Unsupported, (adapter.m_dir / kPickleFile).string(),
                "is a Python pickle, which is never loaded; re-save the adapter with PEFT's "
                "save_pretrained(..., safe_serialization=True) to get adapter_model.safetensors");
        return Error::inFile(ErrorCode::NotFound, adapter.modelFile(), "does not exist");
    }
    Expected<std::string> text = readFileText(adapter.m_dir / kConfigFile);
    if (!text) return text.error();
    Expected<LoraConfig> config = LoraConfig::parse(*text, adapter.configFile());
    if (!config) return config.error();
    adapter.m_config = std::move(*config);

    Expected<SafetensorsFile> file = SafetensorsFile::open(adapter.m_dir / kModelFile);
    if (!file) return file.error();
    Expected<std::map<std::string, FactorPair>> pairs = groupFactors(*file);
    if (!pairs) return pairs.error();
    TMK_TRY(adapter.m_config.checkSupported(adapter.configFile()));
    std::vector<std::string> paths;
    for (const auto& [path, pair] : *pairs) paths.push_back(path);
    Expected<PeftWrap> wrap = detectWrap(adapter.m_config.wrap, paths, file->name());
    if (!wrap) return wrap.error();
    adapter.m_config.wrap = *wrap;
    for (const auto& [path, pair] : *pairs) {
        Expected<LoraModule> module = makeModule(*file, path, pair, *wrap);
        if (!module) return module.error();
        adapter.m_modules.push_back(std::move(*module));
    }
    TMK_TRY(adapter.finishModules(file->name()));
    return adapter;
}

Expected<void> LoraAdapter::finishModules(const std::string& file)
{
    std::sort(
        m_modules.begin(), m_modules.end(), [](const LoraModule& x, const LoraModule& y) { return x.path < y.path; });
    for (LoraModule& module : m_modules) {
        const int64_t configRank = m_config.rankFor(module.peftPath);
        if (configRank != module.rank())
            return Error::inFile(ErrorCode::Mismatch, file,
                "tensor '" + module.keyA + "' has rank " + std::to_string(module.rank()) + " but " + kConfigFile
                    + " gives module '" + module.peftPath + "' r = " + std::to_string(configRank)
                    + " (r or rank_pattern)");
        module.alpha = m_config.alphaFor(module.peftPath);
        module.scale = loraScale(module.alpha, module.rank(), m_config.useRslora);
    }
    return {};
}

Expected<LoraAdapter> LoraAdapter::fromModules(LoraConfig config, std::vector<LoraModule> modules)
{
    LoraAdapter adapter;
    config.wrap = PeftWrap::FullModel;
    adapter.m_config = std::move(config);
    for (LoraModule& module : modules) {
        if (!module.a.defined() || !module.b.defined() || module.a.dim() != 2 || module.b.dim() != 2
            || module.a.size(0) != module.b.size(1) || module.a.size(0) <= 0)
            return Error { ErrorCode::InvalidArgument,
                "LoRA module '" + module.path + "' needs matrices A [r, in] and B [out, r] of one rank r > 0." };
        const std::string base = kPeftPrefix + module.path;
        module.peftPath = module.path;
        module.keyA = base + (module.kind == LoraKind::Linear ? ".lora_A.weight" : ".lora_embedding_A");
        module.keyB = base + (module.kind == LoraKind::Linear ? ".lora_B.weight" : ".lora_embedding_B");
        module.a = module.a.detach().to(at::kCPU, at::kFloat).contiguous();
        module.b = module.b.detach().to(at::kCPU, at::kFloat).contiguous();
    }
    adapter.m_modules = std::move(modules);
    TMK_TRY(adapter.finishModules("the adapter being made"));
    return adapter;
}

void LoraAdapter::setStoredDtype(DType dtype)
{
    for (LoraModule& module : m_modules) module.storedDtype = dtype;
}

Expected<void> LoraAdapter::save(const fs::path& dir) const
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, dir.string(), "could not be created: " + ec.message());
    LoraConfig config = m_config;
    config.wrap = PeftWrap::FullModel; // keys are written with full-model paths
    std::map<std::string, at::Tensor> tensors;
    for (const LoraModule& module : m_modules) {
        const std::string base = kPeftPrefix + module.path;
        const bool linear = module.kind == LoraKind::Linear;
        const at::ScalarType type = toScalarType(module.storedDtype);
        tensors[base + (linear ? ".lora_A.weight" : ".lora_embedding_A")] = module.a.to(type);
        tensors[base + (linear ? ".lora_B.weight" : ".lora_embedding_B")] = module.b.to(type);
    }
    TMK_TRY(saveTensors(dir / kModelFile, tensors, { { "format", "pt" } }));
    return writeFileAtomic(dir / kConfigFile, config.toJson());
}

Expected<void> LoraAdapter::checkAgainst(const ParameterLookup& model) const
{
    for (const LoraModule& module : m_modules) {
        if (startsWith(module.path, "text_encoder.") || startsWith(module.path, "audio_encoder."))
            return Error::inFile(ErrorCode::Unsupported, modelFile(),
                "tensor '" + module.keyA + "' changes '" + module.path
                    + "' outside the MusicGen decoder; only decoder adapters can be merged");
        const at::Tensor* weight = model(module.weightName());
        if (!weight || !weight->defined())
            return Error::inFile(ErrorCode::Mismatch, modelFile(),
                "tensor '" + module.keyA + "' targets module '" + module.path
                    + "', which the base model does not have (no tensor '" + module.weightName() + "')");
        const std::vector<int64_t> shape = module.deltaShape();
        if (weight->sizes().vec() != shape)
            return Error::inFile(ErrorCode::Mismatch, modelFile(),
                "tensors '" + module.keyB + "' " + shapeString(module.b.sizes()) + " and '" + module.keyA + "' "
                    + shapeString(module.a.sizes()) + " give a delta of " + shapeString(shape)
                    + ", but the base weight '" + module.weightName() + "' is " + shapeString(weight->sizes()));
    }
    return {};
}

const LoraModule* LoraAdapter::findModule(const std::string& path) const
{
    for (const LoraModule& module : m_modules)
        if (module.path == path) return &module;
    return nullptr;
}

std::string LoraAdapter::modelFile() const
{
    return (m_dir / kModelFile).string();
}

std::string LoraAdapter::configFile() const
{
    return (m_dir / kConfigFile).string();
}

int64_t LoraAdapter::parameterCount() const
{
    int64_t count = 0;
    for (const LoraModule& module : m_modules) count += module.a.numel() + module.b.numel();
    return count;
}

} // namespace tmk
