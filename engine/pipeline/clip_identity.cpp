// Identities recorded in clip sidecars (model, adapter bank, build) and regeneration from a sidecar.
// See tastemaker/clip_library.h for what a fingerprint covers.
#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>

#include "adapters/bank_file.h"
#include "core/json.h"
#include "core/sha256.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/runtime.h"
#include "tastemaker/steering.h"
#include "tastemaker/tensorio.h"

#ifndef TM_VERSION_STRING
#define TM_VERSION_STRING "0.1.0"
#endif

namespace tmk {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kWholeFileLimit = 8ull << 20; // files up to 8 MiB are hashed whole
constexpr uint64_t kHeadBytes = 1ull << 20; // larger ones: the first 1 MiB,
constexpr uint64_t kBlockBytes = 64ull << 10; // and 32 blocks of 64 KiB spread evenly
constexpr int kBlocks = 32;

// Hashes `length` bytes of `in` from `offset` into `hash`.
bool hashRange(std::ifstream& in, uint64_t offset, uint64_t length, Sha256& hash)
{
    std::vector<char> buffer(static_cast<size_t>(std::min<uint64_t>(length, 1ull << 20)));
    in.seekg(static_cast<std::streamoff>(offset));
    while (length > 0 && in) {
        const auto n = static_cast<std::streamsize>(std::min<uint64_t>(length, buffer.size()));
        in.read(buffer.data(), n);
        if (in.gcount() != n) return false;
        hash.update(buffer.data(), static_cast<size_t>(n));
        length -= static_cast<uint64_t>(n);
    }
    return static_cast<bool>(in);
}

// Adds a file's name (relative to `base`) and fingerprint to `hash`.
Expected<void> addFile(Sha256& hash, const fs::path& file, const fs::path& base)
{
    Expected<std::string> print = fileFingerprint(file);
    if (!print) return print.error();
    const std::string line = file.lexically_relative(base).generic_string() + "=" + *print + "\n";
    hash.update(line.data(), line.size());
    return {};
}

std::vector<fs::path> sortedFiles(const fs::path& dir)
{
    std::vector<fs::path> files;
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec))
        if (entry.is_regular_file(ec)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

// The adapter folders bank.json lists (readBankFile: absolute, existing), sorted, duplicates removed.
Expected<std::vector<fs::path>> bankAdapterDirs(const fs::path& bankDir)
{
    Expected<BankFile> bank = readBankFile(bankDir, nullptr);
    if (!bank) return bank.error();
    std::vector<fs::path> dirs;
    for (const BankMetric& metric : bank->listed)
        for (const fs::path& dir : { metric.positiveDir, metric.negativeDir })
            if (!dir.empty()) dirs.push_back(dir);
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    return dirs;
}

fs::path absoluteFolder(const fs::path& dir)
{
    std::error_code ec;
    fs::path absolute = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    if (ec) absolute = fs::absolute(dir).lexically_normal();
    return absolute;
}

std::string folderName(const fs::path& absolute)
{
    return absolute.filename().empty() ? absolute.parent_path().filename().string() : absolute.filename().string();
}

} // namespace

Expected<std::string> fileFingerprint(const fs::path& path)
{
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec)
        return Error::inFile(
            ErrorCode::NotFound, path.string(), "cannot be read for its fingerprint (" + ec.message() + ")");
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error::inFile(ErrorCode::Io, path.string(), "cannot be opened for its fingerprint");
    Sha256 hash;
    const std::string header = "size=" + std::to_string(size) + "\n";
    hash.update(header.data(), header.size());
    bool ok = true;
    if (size <= kWholeFileLimit) {
        ok = hashRange(in, 0, size, hash);
    } else {
        ok = hashRange(in, 0, kHeadBytes, hash);
        for (int i = 0; ok && i < kBlocks; ++i)
            ok = hashRange(in, (size - kBlockBytes) * static_cast<uint64_t>(i) / (kBlocks - 1), kBlockBytes, hash);
    }
    if (!ok) return Error::inFile(ErrorCode::Io, path.string(), "could not be read for its fingerprint");
    return "sha256:" + hash.hexDigest();
}

Expected<ContentIdentity> modelIdentity(const fs::path& modelDir)
{
    ContentIdentity identity;
    identity.path = absoluteFolder(modelDir);
    identity.name = folderName(identity.path);
    std::error_code ec;
    if (!fs::is_directory(identity.path, ec))
        return Error::inFile(ErrorCode::NotFound, identity.path.string(), "is not a model folder (it does not exist)");
    Sha256 hash;
    TMK_TRY(addFile(hash, identity.path / "config.json", identity.path));
    if (fs::exists(identity.path / "spiece.model", ec))
        TMK_TRY(addFile(hash, identity.path / "spiece.model", identity.path));
    int weightFiles = 0;
    for (const fs::path& file : sortedFiles(identity.path)) {
        if (file.extension() != ".safetensors") continue;
        TMK_TRY(addFile(hash, file, identity.path));
        ++weightFiles;
    }
    if (weightFiles == 0)
        return Error::inFile(ErrorCode::NotFound, identity.path.string(), "holds no .safetensors weights");
    identity.fingerprint = "sha256:" + hash.hexDigest();
    return identity;
}

Expected<ContentIdentity> codecIdentity(const fs::path& modelDir)
{
    ContentIdentity identity;
    identity.path = absoluteFolder(modelDir);
    identity.name = folderName(identity.path);
    Expected<nlohmann::json> config = readJsonFile(identity.path / "config.json");
    if (!config) return config.error();
    if (!config->is_object() || !config->contains("audio_encoder"))
        return Error::inFile(
            ErrorCode::Format, (identity.path / "config.json").string(), "has no \"audio_encoder\" section");
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(identity.path);
    if (!checkpoint) return checkpoint.error();
    Sha256 hash;
    const std::string codecConfig = (*config)["audio_encoder"].dump(); // keys sorted: a canonical text
    hash.update(codecConfig.data(), codecConfig.size() + 1);
    int tensors = 0;
    for (const std::string& name : checkpoint->names()) { // sorted
        if (!name.starts_with("audio_encoder.")) continue;
        const SafetensorsCheckpoint::Entry entry = checkpoint->find(name);
        std::string header = name + '\0' + dtypeName(entry.info->dtype);
        for (int64_t d : entry.info->shape) header += ',' + std::to_string(d);
        hash.update(header.data(), header.size() + 1);
        const auto bytes = entry.data();
        hash.update(bytes.data(), bytes.size());
        ++tensors;
    }
    if (tensors == 0)
        return Error::inFile(ErrorCode::Format, checkpoint->description(), "has no EnCodec (audio_encoder.*) tensors");
    identity.fingerprint = "sha256:" + hash.hexDigest();
    return identity;
}

Expected<ContentIdentity> bankIdentity(const fs::path& bankDir)
{
    ContentIdentity identity;
    identity.path = absoluteFolder(bankDir);
    identity.name = folderName(identity.path);
    Expected<std::vector<fs::path>> dirs = bankAdapterDirs(identity.path);
    if (!dirs) return dirs.error();
    Sha256 hash;
    TMK_TRY(addFile(hash, identity.path / "bank.json", identity.path));
    for (const fs::path& dir : *dirs) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec))
            return Error::inFile(ErrorCode::NotFound, dir.string(), "(an adapter folder of the bank) does not exist");
        for (const fs::path& file : sortedFiles(dir)) TMK_TRY(addFile(hash, file, identity.path));
    }
    identity.fingerprint = "sha256:" + hash.hexDigest();
    return identity;
}

std::string buildIdentity()
{
    std::string text = std::string("tastemaker ") + TM_VERSION_STRING + "; libtorch " + runtimeInfo().torchVersion;
#if defined(__clang__)
    text += "; clang " __clang_version__;
#elif defined(__GNUC__)
    text += "; gcc " __VERSION__;
#endif
    return text;
}

Expected<std::vector<ClipRecord>> clipRecordsFor(const ModelInfo& model, const GenerationRequest& request,
    const SliderValues& sliders, const fs::path& bankDir, const std::optional<SliderValues>& mergedSliders)
{
    ClipRecord base;
    base.batchPrompts = request.prompts;
    base.sliders = nonZeroSliders(sliders);
    if (mergedSliders) base.mergedSliders = nonZeroSliders(*mergedSliders);
    base.sampling = request.sampling;
    base.frames = request.frames;
    base.durationSeconds
        = static_cast<double>(request.frames) / static_cast<double>(std::max<int64_t>(1, model.frameRate));
    base.sampleRate = model.sampleRate;
    Expected<ContentIdentity> modelId = modelIdentity(model.dir);
    if (!modelId) return modelId.error();
    base.model = *modelId;
    if (!bankDir.empty()) {
        Expected<ContentIdentity> bankId = bankIdentity(bankDir);
        if (!bankId) return bankId.error();
        base.bank = *bankId;
    } else if (!base.sliders.empty()) {
        return Error { ErrorCode::InvalidArgument, "slider values were given without an adapter bank" };
    }
    base.device = deviceKindName(model.options.device);
    base.dtype = computeDTypeName(model.options.dtype);
    base.build = buildIdentity();
    std::vector<ClipRecord> records;
    for (size_t i = 0; i < request.prompts.size(); ++i) {
        ClipRecord record = base;
        record.prompt = request.prompts[i];
        record.batchIndex = static_cast<int64_t>(i);
        records.push_back(std::move(record));
    }
    return records;
}

GenerationRequest requestForRecord(const ClipRecord& record)
{
    GenerationRequest request;
    request.prompts = record.batchPrompts.empty() ? std::vector<std::string> { record.prompt } : record.batchPrompts;
    request.frames = record.frames;
    request.sampling = record.sampling;
    request.decodeAudio = true;
    return request;
}

Expected<std::vector<ClipEntry>> saveGeneration(ClipLibrary& library, const ModelInfo& model,
    const GenerationRequest& request, const GenerationResult& result, const SliderValues& sliders,
    const fs::path& bankDir, const std::optional<SliderValues>& mergedSliders)
{
    if (result.audio.size() != request.prompts.size())
        return Error { ErrorCode::InvalidArgument, "the generation has no audio to save (decodeAudio was off)" };
    Expected<std::vector<ClipRecord>> records = clipRecordsFor(model, request, sliders, bankDir, mergedSliders);
    if (!records) return records.error();
    std::vector<ClipEntry> entries;
    for (size_t i = 0; i < records->size(); ++i) {
        Expected<ClipEntry> entry = library.save((*records)[i], result.audio[i]);
        if (!entry) return entry.error();
        entries.push_back(std::move(*entry));
    }
    return entries;
}

namespace {

// The recorded folder still holds the recorded content; the error says what moved or changed.
Expected<void> checkIdentity(
    const ContentIdentity& recorded, const Expected<ContentIdentity>& now, const std::string& what)
{
    if (!now) {
        if (now.error().code == ErrorCode::NotFound)
            return Error { ErrorCode::NotFound,
                "the " + what + " recorded in the sidecar, " + recorded.path.string()
                    + ", is missing or incomplete (was it moved?): " + now.error().message };
        return now.error();
    }
    if (now->fingerprint != recorded.fingerprint)
        return Error { ErrorCode::Mismatch,
            "the " + what + " " + recorded.path.string() + " has changed since the clip was made (fingerprint "
                + now->fingerprint + ", recorded " + recorded.fingerprint + ")" };
    return {};
}

Expected<ModelOptions> optionsForRecord(const ClipRecord& record)
{
    Expected<DeviceKind> device = parseDeviceKind(record.device);
    if (!device) return device.error();
    Expected<ComputeDType> dtype = parseComputeDType(record.dtype);
    if (!dtype) return dtype.error();
    return ModelOptions { *device, *dtype };
}

} // namespace

Expected<RegeneratedClip> regenerateClip(const ClipRecord& record, const GenerationCallbacks& callbacks)
{
    const GenerationRequest request = requestForRecord(record);
    if (record.batchIndex < 0 || record.batchIndex >= static_cast<int64_t>(request.prompts.size()))
        return Error { ErrorCode::Format,
            "the sidecar's batch index " + std::to_string(record.batchIndex) + " is outside its batch" };
    TMK_TRY(checkIdentity(record.model, modelIdentity(record.model.path), "model folder"));
    if (!record.bank.empty()) TMK_TRY(checkIdentity(record.bank, bankIdentity(record.bank.path), "adapter bank"));
    if (record.bank.empty() && !record.sliders.empty())
        return Error { ErrorCode::Format, "the sidecar records slider values but no adapter bank" };
    Expected<ModelOptions> options = optionsForRecord(record);
    if (!options) return options.error();
    auto model = MusicgenModel::load(record.model.path, *options, callbacks.onProgress);
    if (!model) return model.error();
    std::unique_ptr<Steering> steering;
    if (!record.bank.empty()) {
        Expected<std::vector<MetricInfo>> metrics = loadMetrics();
        if (!metrics) return metrics.error();
        auto loaded = Steering::load(*model, record.bank.path, *metrics);
        if (!loaded) return loaded.error();
        steering = std::move(*loaded);
        // As the job did: a plain merge, or the recorded merge plus the rest at run time.
        Expected<SteeringMergeInfo> merged = steering->apply(record.mergedSliders.value_or(record.sliders));
        if (!merged) return merged.error();
        if (record.mergedSliders) {
            Expected<SteeringMergeInfo> runtime = steering->applyAtRuntime(record.sliders);
            if (!runtime) return runtime.error();
        }
    }
    Expected<GenerationResult> result = generate(**model, request, callbacks);
    if (!result) return result.error();
    RegeneratedClip clip;
    clip.audio = std::move(result->audio[static_cast<size_t>(record.batchIndex)]);
    clip.sampleRate = result->sampleRate;
    if (record.build != buildIdentity())
        clip.warnings.push_back("the clip was made by a different build (" + record.build + "; this is "
            + buildIdentity() + "), so the audio may differ slightly");
    return clip;
}

} // namespace tmk
