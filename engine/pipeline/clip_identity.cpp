// Identities recorded in clip sidecars (model, adapter bank, build) and regeneration from a sidecar.
// See tastemaker/clip_library.h for what a fingerprint covers.
#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>

#include "core/json.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/runtime.h"
#include "tastemaker/steering.h"

#ifndef TM_VERSION_STRING
#define TM_VERSION_STRING "0.1.0"
#endif

namespace tmk {

namespace fs = std::filesystem;

namespace {

// SHA-256 (FIPS 180-4), streaming.
class Sha256 {
public:
    void update(const void* data, size_t size)
    {
        const auto* bytes = static_cast<const uint8_t*>(data);
        m_length += size;
        while (size > 0) {
            const size_t n = std::min(size, m_block.size() - m_used);
            std::memcpy(m_block.data() + m_used, bytes, n);
            m_used += n;
            bytes += n;
            size -= n;
            if (m_used == m_block.size()) {
                compress();
                m_used = 0;
            }
        }
    }

    std::string hexDigest()
    {
        const uint64_t bits = m_length * 8;
        const uint8_t pad = 0x80;
        update(&pad, 1);
        const uint8_t zero = 0;
        while (m_used != 56) update(&zero, 1);
        uint8_t length[8];
        for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
        update(length, 8);
        static const char* digits = "0123456789abcdef";
        std::string text;
        for (uint32_t word : m_state)
            for (int shift = 28; shift >= 0; shift -= 4) text += digits[(word >> shift) & 0xf];
        return text;
    }

private:
    static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

    void compress()
    {
        static constexpr std::array<uint32_t, 64> k = { 0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
            0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc,
            0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1,
            0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
            0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814,
            0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2 };
        std::array<uint32_t, 64> w {};
        for (int i = 0; i < 16; ++i)
            w[i] = (uint32_t(m_block[4 * i]) << 24) | (uint32_t(m_block[4 * i + 1]) << 16)
                | (uint32_t(m_block[4 * i + 2]) << 8) | uint32_t(m_block[4 * i + 3]);
        for (int i = 16; i < 64; ++i) {
            const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::array<uint32_t, 8> v = m_state;
        for (int i = 0; i < 64; ++i) {
            const uint32_t s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
            const uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
            const uint32_t t1 = v[7] + s1 + ch + k[i] + w[i];
            const uint32_t s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
            const uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            const uint32_t t2 = s0 + maj;
            v = { t1 + t2, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6] };
        }
        for (int i = 0; i < 8; ++i) m_state[i] += v[i];
    }

    std::array<uint32_t, 8> m_state
        = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    std::array<uint8_t, 64> m_block {};
    size_t m_used = 0;
    uint64_t m_length = 0;
};

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

// The adapter folders bank.json lists, absolute, sorted, duplicates removed.
Expected<std::vector<fs::path>> bankAdapterDirs(const fs::path& bankDir)
{
    const fs::path bankFile = bankDir / "bank.json";
    Expected<nlohmann::json> bank = readJsonFile(bankFile);
    if (!bank) return bank.error();
    if (!bank->is_object() || !bank->contains("metrics") || !(*bank)["metrics"].is_object())
        return Error::inFile(ErrorCode::Format, bankFile.string(), "has no \"metrics\" object");
    std::vector<fs::path> dirs;
    for (const auto& [metric, sides] : (*bank)["metrics"].items()) {
        if (!sides.is_object())
            return Error::inFile(ErrorCode::Format, bankFile.string(), "entry \"" + metric + "\" is not an object");
        for (const auto& [side, dir] : sides.items()) {
            if (!dir.is_string())
                return Error::inFile(ErrorCode::Format, bankFile.string(),
                    "entry \"" + metric + "\" side \"" + side + "\" is not a folder name");
            const fs::path path = dir.get<std::string>();
            dirs.push_back((path.is_absolute() ? path : bankDir / path).lexically_normal());
        }
    }
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

Expected<std::vector<ClipRecord>> clipRecordsFor(
    const ModelInfo& model, const GenerationRequest& request, const SliderValues& sliders, const fs::path& bankDir)
{
    ClipRecord base;
    base.batchPrompts = request.prompts;
    for (const auto& [id, value] : sliders)
        if (value != 0.0) base.sliders[id] = value;
    base.seed = request.seed;
    base.greedy = request.greedy;
    base.topK = request.topK;
    base.topP = request.topP;
    base.temperature = request.temperature;
    base.guidanceScale = request.guidanceScale;
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
    request.greedy = record.greedy;
    request.topK = record.topK;
    request.topP = record.topP;
    request.temperature = record.temperature;
    request.guidanceScale = record.guidanceScale;
    request.seed = record.seed;
    request.decodeAudio = true;
    return request;
}

Expected<std::vector<ClipEntry>> saveGeneration(ClipLibrary& library, const ModelInfo& model,
    const GenerationRequest& request, const GenerationResult& result, const SliderValues& sliders,
    const fs::path& bankDir)
{
    if (result.audio.size() != request.prompts.size())
        return Error { ErrorCode::InvalidArgument, "the generation has no audio to save (decodeAudio was off)" };
    Expected<std::vector<ClipRecord>> records = clipRecordsFor(model, request, sliders, bankDir);
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
        Expected<SteeringMergeInfo> merged = steering->apply(record.sliders);
        if (!merged) return merged.error();
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
