// The safetensors writer, laid out like the Hugging Face one: tensors sorted by name, the JSON header
// padded with spaces so that the data section starts at a multiple of 8 bytes.
#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "tensorio/tensor_math.h"

namespace tmk {

namespace {

using nlohmann::json;
using tensorio::quoted;
using tensorio::shapeString;

constexpr size_t kDataAlignment = 8;

// Problems are sentence fragments ("tensor 'x' is given twice"); the public functions frame them.
Error invalid(const std::string& problem)
{
    return Error { ErrorCode::InvalidArgument, problem };
}

// A JSON string literal; invalid UTF-8 is refused (the reader would refuse the file).
Expected<std::string> jsonString(const std::string& text, const std::string& what)
{
    try {
        return json(text).dump();
    } catch (const json::exception&) {
        return invalid(what + " " + quoted(text) + " is not valid UTF-8");
    }
}

Expected<void> validateTensors(const std::vector<const TensorView*>& sorted)
{
    for (size_t i = 0; i < sorted.size(); ++i) {
        const TensorView& tensor = *sorted[i];
        if (tensor.name.empty()) return invalid("a tensor has an empty name");
        if (tensor.name == "__metadata__") return invalid("a tensor is named '__metadata__', which is reserved");
        if (i > 0 && sorted[i - 1]->name == tensor.name)
            return invalid("tensor " + quoted(tensor.name) + " is given twice");
        uint64_t needed = 0;
        if (!tensorio::checkedByteSize(tensor.shape, tensor.dtype, &needed))
            return invalid("tensor " + quoted(tensor.name) + " has an invalid shape " + shapeString(tensor.shape));
        if (tensor.data.size() != needed)
            return invalid("tensor " + quoted(tensor.name) + " has " + std::to_string(tensor.data.size())
                + " bytes of data but shape " + shapeString(tensor.shape) + " of " + dtypeName(tensor.dtype) + " needs "
                + std::to_string(needed) + " bytes");
    }
    return {};
}

Expected<std::string> metadataJson(const std::map<std::string, std::string>& metadata)
{
    std::string text = "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
        Expected<std::string> keyJson = jsonString(key, "metadata key");
        if (!keyJson) return keyJson.error();
        Expected<std::string> valueJson = jsonString(value, "the metadata value of " + quoted(key) + ",");
        if (!valueJson) return valueJson.error();
        text += (first ? "" : ",") + *keyJson + ":" + *valueJson;
        first = false;
    }
    return text + "}";
}

// The header JSON, unpadded: {"__metadata__":{...},"name":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},...}
Expected<std::string> headerJson(
    const std::vector<const TensorView*>& sorted, const std::map<std::string, std::string>& metadata)
{
    std::string header = "{";
    if (!metadata.empty()) {
        Expected<std::string> meta = metadataJson(metadata);
        if (!meta) return meta.error();
        header += *meta;
    }
    uint64_t offset = 0;
    for (const TensorView* tensor : sorted) {
        Expected<std::string> name = jsonString(tensor->name, "tensor name");
        if (!name) return name.error();
        std::string shape = "[";
        for (size_t i = 0; i < tensor->shape.size(); ++i) shape += (i ? "," : "") + std::to_string(tensor->shape[i]);
        shape += "]";
        const uint64_t end = offset + tensor->data.size();
        if (header.size() > 1) header += ",";
        header += *name + ":{\"dtype\":\"" + dtypeName(tensor->dtype) + "\",\"shape\":" + shape + ",\"data_offsets\":["
            + std::to_string(offset) + "," + std::to_string(end) + "]}";
        offset = end;
    }
    return header + "}";
}

Expected<std::vector<std::byte>> encode(
    const std::vector<TensorView>& tensors, const std::map<std::string, std::string>& metadata)
{
    std::vector<const TensorView*> sorted;
    sorted.reserve(tensors.size());
    for (const TensorView& tensor : tensors) sorted.push_back(&tensor);
    std::sort(sorted.begin(), sorted.end(), [](const TensorView* a, const TensorView* b) { return a->name < b->name; });
    TMK_TRY(validateTensors(sorted));

    Expected<std::string> header = headerJson(sorted, metadata);
    if (!header) return header.error();
    header->append((kDataAlignment - header->size() % kDataAlignment) % kDataAlignment, ' ');

    size_t dataBytes = 0;
    for (const TensorView* tensor : sorted) dataBytes += tensor->data.size();
    std::vector<std::byte> bytes(8 + header->size() + dataBytes);
    uint64_t headerBytes = header->size();
    for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<std::byte>((headerBytes >> (8 * i)) & 0xff);
    std::memcpy(bytes.data() + 8, header->data(), header->size());
    std::byte* out = bytes.data() + 8 + header->size();
    for (const TensorView* tensor : sorted) {
        if (!tensor->data.empty()) std::memcpy(out, tensor->data.data(), tensor->data.size());
        out += tensor->data.size();
    }
    return bytes;
}

} // namespace

Expected<std::vector<std::byte>> encodeSafetensors(
    const std::vector<TensorView>& tensors, const std::map<std::string, std::string>& metadata)
{
    Expected<std::vector<std::byte>> bytes = encode(tensors, metadata);
    if (!bytes) return Error { bytes.error().code, "Cannot write safetensors: " + bytes.error().message + "." };
    return bytes;
}

Expected<void> writeSafetensors(const std::filesystem::path& path, const std::vector<TensorView>& tensors,
    const std::map<std::string, std::string>& metadata)
{
    Expected<std::vector<std::byte>> bytes = encode(tensors, metadata);
    if (!bytes) return Error::inFile(bytes.error().code, path.string(), "cannot be written: " + bytes.error().message);
    return writeFileAtomic(path, std::span<const std::byte>(*bytes));
}

} // namespace tmk
