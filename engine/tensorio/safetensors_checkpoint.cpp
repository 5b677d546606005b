// A checkpoint: one safetensors file, or the shards listed by a Hugging Face
// model.safetensors.index.json ({"metadata": {...}, "weight_map": {tensor: shard file name}}).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>

#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "tensorio/tensor_math.h"

namespace tmk {

namespace fs = std::filesystem;
using nlohmann::json;
using tensorio::quoted;

namespace {

constexpr const char* kSingleFileName = "model.safetensors";
constexpr const char* kIndexFileName = "model.safetensors.index.json";
constexpr const char* kConvertAdvice
    = "Tastemaker never unpickles files. Convert it to safetensors (e.g. with Hugging Face's "
      "`save_pretrained(..., safe_serialization=True)`)";

bool isPickleCheckpoint(const fs::path& path)
{
    const std::string extension = path.extension().string();
    return extension == ".bin" || extension == ".pt" || extension == ".pth" || extension == ".ckpt";
}

// The file names in `folder` (not recursive), sorted; empty when it cannot be listed.
std::vector<std::string> fileNamesIn(const fs::path& folder)
{
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec)) names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string joined(const std::vector<std::string>& names)
{
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
    return text;
}

// The error for a folder that has no safetensors checkpoint, naming what it does hold.
Error noCheckpointError(const fs::path& folder)
{
    std::vector<std::string> pickles;
    std::vector<std::string> safetensors;
    for (const std::string& name : fileNamesIn(folder)) {
        if (isPickleCheckpoint(name)) pickles.push_back(name);
        if (fs::path(name).extension() == ".safetensors") safetensors.push_back(name);
    }
    if (!pickles.empty() && safetensors.empty())
        return Error::inFile(ErrorCode::Unsupported, folder.string(),
            "holds only PyTorch pickle checkpoints (" + joined(pickles) + "); " + kConvertAdvice);
    std::string problem = "holds neither " + std::string(kSingleFileName) + " nor " + kIndexFileName;
    if (!safetensors.empty()) problem += " (it has " + joined(safetensors) + ")";
    return Error::inFile(ErrorCode::NotFound, folder.string(), problem);
}

// A shard must be a plain file name in the index's folder: no folders, no "..", no absolute paths.
bool isPlainFileName(const std::string& name)
{
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos
        && name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

Expected<std::map<std::string, std::string>> readWeightMap(const fs::path& indexPath)
{
    const std::string file = indexPath.string();
    Expected<std::string> text = readFileText(indexPath);
    if (!text) return text.error();
    json index;
    try {
        index = json::parse(*text);
    } catch (const json::exception&) {
        return Error::inFile(ErrorCode::Format, file, "is not valid JSON");
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        return Error::inFile(ErrorCode::Format, file, "has no \"weight_map\" object");
    std::map<std::string, std::string> weightMap;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
        if (!shard.is_string())
            return Error::inFile(ErrorCode::Format, file, "maps tensor " + quoted(tensor) + " to a non-string shard");
        const std::string& shardName = shard.get_ref<const std::string&>();
        if (!isPlainFileName(shardName))
            return Error::inFile(ErrorCode::Format, file,
                "maps tensor " + quoted(tensor) + " to shard " + quoted(shardName)
                    + ", which is not a plain file name in the same folder");
        weightMap[tensor] = shardName;
    }
    return weightMap;
}

} // namespace

SafetensorsCheckpoint::Entry SafetensorsCheckpoint::find(const std::string& tensorName) const
{
    const auto found = m_index.find(tensorName);
    if (found == m_index.end()) return {};
    const SafetensorsFile& file = m_files[found->second.first];
    return { &file, &file.tensors()[found->second.second] };
}

std::vector<std::string> SafetensorsCheckpoint::names() const
{
    std::vector<std::string> result;
    result.reserve(m_index.size());
    for (const auto& entry : m_index) result.push_back(entry.first);
    return result; // std::map keeps them sorted
}

Expected<SafetensorsCheckpoint> SafetensorsCheckpoint::open(const fs::path& path)
{
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        if (fs::exists(path / kIndexFileName, ec)) return open(path / kIndexFileName);
        if (fs::exists(path / kSingleFileName, ec)) return open(path / kSingleFileName);
        return noCheckpointError(path);
    }
    if (!fs::exists(path, ec)) return Error::inFile(ErrorCode::NotFound, path.string(), "does not exist");
    if (isPickleCheckpoint(path))
        return Error::inFile(
            ErrorCode::Unsupported, path.string(), "is a PyTorch pickle checkpoint; " + std::string(kConvertAdvice));

    SafetensorsCheckpoint checkpoint;
    if (path.extension() == ".json") {
        Expected<std::map<std::string, std::string>> weightMap = readWeightMap(path);
        if (!weightMap) return weightMap.error();
        TMK_TRY(checkpoint.loadShards(path, *weightMap));
        checkpoint.m_description = path.string();
        return checkpoint;
    }
    Expected<SafetensorsFile> file = SafetensorsFile::open(path);
    if (!file) return file.error();
    checkpoint.m_files.push_back(std::move(*file));
    const std::vector<TensorInfo>& tensors = checkpoint.m_files[0].tensors();
    for (size_t i = 0; i < tensors.size(); ++i) checkpoint.m_index[tensors[i].name] = { 0, i };
    checkpoint.m_description = path.string();
    return checkpoint;
}

Expected<void> SafetensorsCheckpoint::loadShards(
    const fs::path& indexPath, const std::map<std::string, std::string>& weightMap)
{
    const std::string indexFile = indexPath.string();
    std::map<std::string, size_t> shardIndex; // shard file name -> position in m_files
    for (const auto& [tensor, shard] : weightMap) {
        auto found = shardIndex.find(shard);
        if (found == shardIndex.end()) {
            const fs::path shardPath = indexPath.parent_path() / shard;
            std::error_code ec;
            if (!fs::exists(shardPath, ec))
                return Error::inFile(ErrorCode::NotFound, indexFile,
                    "lists shard " + quoted(shard) + " (for tensor " + quoted(tensor) + "), which does not exist");
            Expected<SafetensorsFile> file = SafetensorsFile::open(shardPath);
            if (!file) return file.error();
            m_files.push_back(std::move(*file));
            found = shardIndex.emplace(shard, m_files.size() - 1).first;
        }
        const SafetensorsFile& file = m_files[found->second];
        const TensorInfo* info = file.find(tensor);
        if (!info)
            return Error::inFile(ErrorCode::Format, indexFile,
                "puts tensor " + quoted(tensor) + " in shard " + quoted(shard) + ", but that shard does not hold it");
        m_index[tensor] = { found->second, static_cast<size_t>(info - file.tensors().data()) };
    }
    return {};
}

} // namespace tmk
