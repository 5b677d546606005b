#include "training/token_index.h"

#include <cmath>
#include <cstring>
#include <sys/stat.h>

#include "core/json.h"
#include "tastemaker/tensorio.h"

namespace tmk {

namespace fs = std::filesystem;
using nlohmann::json;

SourceStamp sourceStamp(const fs::path& path)
{
    struct stat info { };
    if (::stat(path.c_str(), &info) != 0) return {};
    return SourceStamp { path.string(), static_cast<int64_t>(info.st_size),
        static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
        static_cast<uint64_t>(info.st_ino) };
}

namespace {

constexpr const char* kFileFormat = "tastemaker-tokens";

Expected<TokenWindow> parseWindow(const json& object, const std::string& where)
{
    Expected<double> seconds = jsonField<double>(object, "seconds", where);
    if (!seconds) return seconds.error();
    Expected<double> start = jsonField<double>(object, "start_fraction", where);
    if (!start) return start.error();
    if (!(*seconds > 0.0) || !std::isfinite(*seconds))
        return Error::inFile(ErrorCode::Format, where, "has a window length that is not a positive number of seconds");
    if (!(*start >= 0.0 && *start <= 1.0))
        return Error::inFile(ErrorCode::Format, where, "has a window start fraction outside [0, 1]");
    return TokenWindow { *seconds, *start };
}

Expected<TokenEntry> parseEntry(const json& value, const std::string& where)
{
    Expected<std::string> hash = jsonField<std::string>(value, "hash", where);
    if (!hash) return hash.error();
    if (!isContentHash(*hash))
        return Error::inFile(ErrorCode::Format, where, "has a \"hash\" that is not 64 hex digits");
    Expected<int64_t> frames = jsonField<int64_t>(value, "frames", where);
    if (!frames) return frames.error();
    if (*frames <= 0) return Error::inFile(ErrorCode::Format, where, "has a \"frames\" count that is not positive");
    TokenEntry entry { *hash, *frames, {} };
    if (value.contains("source")) { // optional: indexes written before stamps have none
        const json& source = value["source"];
        if (!source.is_object() || !source.contains("path") || !source["path"].is_string() || !source.contains("size")
            || !source["size"].is_number_integer() || !source.contains("mtime_ns")
            || !source["mtime_ns"].is_number_integer() || !source.contains("inode")
            || !source["inode"].is_number_unsigned())
            return Error::inFile(
                ErrorCode::Format, where, "has a \"source\" that is not {path, size, mtime_ns, inode}");
        entry.source = SourceStamp { source["path"].get<std::string>(), source["size"].get<int64_t>(),
            source["mtime_ns"].get<int64_t>(), source["inode"].get<uint64_t>() };
    }
    return entry;
}

Expected<void> parseTracks(const json& root, const std::string& file, TokenIndex& index)
{
    if (!root.contains("tracks") || !root["tracks"].is_object())
        return Error::inFile(ErrorCode::Format, file, "has no \"tracks\" object");
    for (const auto& [trackId, value] : root["tracks"].items()) {
        Expected<TokenEntry> entry = parseEntry(value, file + " (track \"" + trackId + "\")");
        if (!entry) return entry.error();
        index.tracks[trackId] = std::move(*entry);
    }
    if (!root.contains("failed")) return {};
    if (!root["failed"].is_object())
        return Error::inFile(ErrorCode::Format, file, "has a \"failed\" entry that is not an object");
    for (const auto& [trackId, value] : root["failed"].items()) {
        if (!value.is_string())
            return Error::inFile(ErrorCode::Format, file, "failure of track \"" + trackId + "\" is not a sentence");
        index.failed[trackId] = value.get<std::string>();
    }
    return {};
}

std::string windowText(double value)
{
    return json(value).dump();
}

Expected<double> metadataNumber(const std::map<std::string, std::string>& metadata, const std::string& key)
{
    auto it = metadata.find(key);
    if (it == metadata.end()) return Error { ErrorCode::NotFound, key };
    char* end = nullptr;
    const double value = std::strtod(it->second.c_str(), &end);
    if (end == it->second.c_str() || *end != '\0') return Error { ErrorCode::Format, key };
    return value;
}

// Copies the int64 data of `info` into codes [1, K, T] and checks the values.
Expected<AudioCodes> codesFrom(const SafetensorsFile& file, const TensorInfo& info, const TokenFileExpectation& expect)
{
    const std::string& name = file.name();
    AudioCodes codes;
    codes.batch = 1;
    codes.codebooks = info.shape[0];
    codes.frames = info.shape[1];
    codes.values.resize(static_cast<size_t>(info.numel()));
    std::span<const std::byte> bytes = file.data(info);
    if (bytes.size() != codes.values.size() * sizeof(int64_t))
        return Error::inFile(ErrorCode::Format, name, "tensor \"codes\" has the wrong byte size");
    std::memcpy(codes.values.data(), bytes.data(), bytes.size());
    for (size_t i = 0; i < codes.values.size(); ++i) {
        const int64_t v = codes.values[i];
        if (v < 0 || (expect.codebookSize > 0 && v >= expect.codebookSize))
            return Error::inFile(ErrorCode::Format, name,
                "tensor \"codes\" holds " + std::to_string(v) + " at codebook "
                    + std::to_string(static_cast<int64_t>(i) / codes.frames) + ", outside the codebook [0, "
                    + (expect.codebookSize > 0 ? std::to_string(expect.codebookSize) : std::string("inf")) + ")");
    }
    return codes;
}

} // namespace

fs::path tokenIndexPath(const fs::path& cacheDir)
{
    return cacheDir / "index.json";
}

fs::path tokenFilePath(const fs::path& cacheDir, const std::string& hash)
{
    return cacheDir / (hash + ".safetensors");
}

bool isContentHash(const std::string& text)
{
    if (text.size() != 64) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

Expected<TokenIndex> readTokenIndex(const fs::path& path)
{
    const std::string file = path.string();
    Expected<json> root = readJsonFile(path);
    if (!root) return root.error();
    if (!root->is_object()) return Error::inFile(ErrorCode::Format, file, "is not a JSON object");
    Expected<int64_t> format = jsonField<int64_t>(*root, "format", file);
    if (!format) return format.error();
    if (*format != kTokenIndexFormat)
        return Error::inFile(
            ErrorCode::Unsupported, file, "has format " + std::to_string(*format) + " (this build reads format 1)");
    TokenIndex index;
    const json& model = root->contains("model") ? (*root)["model"] : json();
    Expected<std::string> name = jsonField<std::string>(model, "name", file + " (model)");
    if (!name) return name.error();
    Expected<std::string> fingerprint = jsonField<std::string>(model, "fingerprint", file + " (model)");
    if (!fingerprint) return fingerprint.error();
    index.modelName = *name;
    index.modelFingerprint = *fingerprint;
    Expected<TokenWindow> window
        = parseWindow(root->contains("window") ? (*root)["window"] : json(), file + " (window)");
    if (!window) return window.error();
    index.window = *window;
    TMK_TRY(parseTracks(*root, file, index));
    return index;
}

Expected<void> writeTokenIndex(const fs::path& path, const TokenIndex& index)
{
    json root = json::object();
    root["format"] = kTokenIndexFormat;
    root["model"] = { { "name", index.modelName }, { "fingerprint", index.modelFingerprint } };
    root["window"] = { { "seconds", index.window.seconds }, { "start_fraction", index.window.startFraction } };
    json tracks = json::object();
    for (const auto& [trackId, entry] : index.tracks) {
        tracks[trackId] = { { "hash", entry.hash }, { "frames", entry.frames } };
        if (entry.source.known())
            tracks[trackId]["source"] = { { "path", entry.source.path }, { "size", entry.source.size },
                { "mtime_ns", entry.source.mtimeNs }, { "inode", entry.source.inode } };
    }
    root["tracks"] = std::move(tracks);
    json failed = json::object();
    for (const auto& [trackId, reason] : index.failed) failed[trackId] = reason;
    root["failed"] = std::move(failed);
    return writeJsonFileAtomic(path, root);
}

Expected<void> checkCodesToStore(const AudioCodes& codes, const std::string& what)
{
    if (codes.batch != 1 || codes.codebooks <= 0 || codes.frames <= 0)
        return Error { ErrorCode::InvalidArgument,
            what + " must be shaped [1, K, T] with K, T > 0 (got [" + std::to_string(codes.batch) + ", "
                + std::to_string(codes.codebooks) + ", " + std::to_string(codes.frames) + "])" };
    if (codes.values.size() != static_cast<size_t>(codes.codebooks * codes.frames))
        return Error { ErrorCode::InvalidArgument,
            what + " hold " + std::to_string(codes.values.size()) + " values, not K * T" };
    for (int64_t v : codes.values)
        if (v < 0) return Error { ErrorCode::InvalidArgument, what + " hold a negative code" };
    return {};
}

Expected<void> writeTokenFile(
    const fs::path& path, const AudioCodes& codes, const std::string& modelFingerprint, const TokenWindow& window)
{
    TMK_TRY(checkCodesToStore(codes, "the codes for " + path.string()));
    const std::vector<TensorView> tensors = { { "codes", DType::I64, { codes.codebooks, codes.frames },
        std::as_bytes(std::span(codes.values)) } }; // [K, T]
    const std::map<std::string, std::string> metadata = { { "format", kFileFormat }, { "model", modelFingerprint },
        { "window_seconds", windowText(window.seconds) }, { "start_fraction", windowText(window.startFraction) } };
    return writeSafetensors(path, tensors, metadata);
}

Expected<TokenFile> readTokenFile(const fs::path& path, const TokenFileExpectation& expect)
{
    Expected<SafetensorsFile> file = SafetensorsFile::open(path);
    if (!file) return file.error();
    const std::string name = path.string();
    const TensorInfo* info = file->find("codes");
    if (!info) return Error::inFile(ErrorCode::Format, name, "has no tensor \"codes\"");
    if (info->dtype != DType::I64 || info->shape.size() != 2 || info->shape[0] <= 0 || info->shape[1] <= 0)
        return Error::inFile(ErrorCode::Format, name, "tensor \"codes\" must be int64 [K, T] with K, T > 0");
    if (expect.codebooks > 0 && info->shape[0] != expect.codebooks)
        return Error::inFile(ErrorCode::Mismatch, name,
            "holds " + std::to_string(info->shape[0]) + " codebooks, the model has "
                + std::to_string(expect.codebooks));
    if (expect.frames > 0 && info->shape[1] != expect.frames)
        return Error::inFile(ErrorCode::Mismatch, name,
            "holds " + std::to_string(info->shape[1]) + " frames, index.json records " + std::to_string(expect.frames));
    Expected<AudioCodes> codes = codesFrom(*file, *info, expect);
    if (!codes) return codes.error();
    TokenFile result;
    result.codes = std::move(*codes);
    const auto& metadata = file->metadata();
    if (auto it = metadata.find("model"); it != metadata.end()) result.modelFingerprint = it->second;
    Expected<double> seconds = metadataNumber(metadata, "window_seconds");
    Expected<double> start = metadataNumber(metadata, "start_fraction");
    if (seconds && start) {
        result.window = TokenWindow { *seconds, *start };
        result.hasWindow = true;
    }
    return result;
}

} // namespace tmk
