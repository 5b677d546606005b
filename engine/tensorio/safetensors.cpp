// The safetensors reader: <u64 little-endian header length><JSON header><data section>.
// The header is validated completely before any tensor is handed out; this code is fuzzed
// (tests/fuzz/fuzz_safetensors.cpp), so every check is on untrusted bytes and never trusts a size.
#include <algorithm>
#include <atomic>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tastemaker/tensorio.h"
#include "tensorio/mapped_file.h"
#include "tensorio/tensor_math.h"

namespace tmk {

namespace {

using nlohmann::json;
using tensorio::quoted;
using tensorio::shapeString;

constexpr uint64_t kMaxHeaderBytes = 100'000'000; // the limit of the Hugging Face reader
constexpr int kMaxJsonDepth = 3; // root -> tensor -> shape -> dimension

Error formatError(const std::string& file, const std::string& problem)
{
    return Error::inFile(ErrorCode::Format, file, problem);
}

uint64_t readLittleEndian64(std::span<const std::byte> bytes)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
    return value;
}

// Checks the 8-byte length prefix and returns the JSON text of the header.
Expected<std::string_view> headerText(std::span<const std::byte> bytes, const std::string& file)
{
    if (bytes.size() < 8)
        return formatError(file,
            "is " + std::to_string(bytes.size())
                + " bytes long, too short for a safetensors file (it needs an 8-byte header length)");
    const uint64_t headerBytes = readLittleEndian64(bytes.first(8));
    if (headerBytes < 2)
        return formatError(
            file, "has a header length of " + std::to_string(headerBytes) + " bytes, too small for a JSON object");
    if (headerBytes > kMaxHeaderBytes)
        return formatError(file,
            "has a header length of " + std::to_string(headerBytes)
                + " bytes, over the 100 MB limit, so it is not a valid safetensors file");
    if (headerBytes > bytes.size() - 8)
        return formatError(file,
            "has a header length of " + std::to_string(headerBytes) + " bytes but only "
                + std::to_string(bytes.size() - 8) + " bytes follow (is the file truncated?)");
    return std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8, static_cast<size_t>(headerBytes));
}

Expected<json> parseHeaderJson(std::string_view text, const std::string& file)
{
    bool tooDeep = false;
    // Values nested deeper than any valid header are discarded while parsing (so a hostile header
    // cannot build a deep tree) and reported as an error afterwards.
    json::parser_callback_t limitDepth = [&tooDeep](int depth, json::parse_event_t, json&) {
        if (depth > kMaxJsonDepth) tooDeep = true;
        return depth <= kMaxJsonDepth;
    };
    json header;
    try {
        header = json::parse(text.begin(), text.end(), limitDepth);
    } catch (const json::parse_error& error) {
        return formatError(file,
            "has a header that is not valid JSON (error at byte " + std::to_string(error.byte) + " of the header)");
    } catch (const json::exception&) { // e.g. out_of_range for a number like 1e400
        return formatError(file, "has a header that is not valid JSON (a number is out of range)");
    }
    if (tooDeep) return formatError(file, "has a header nested deeper than a safetensors header can be");
    if (!header.is_object())
        return formatError(file, "has a header that is a JSON " + std::string(header.type_name()) + ", not an object");
    return header;
}

Expected<std::map<std::string, std::string>> parseMetadata(const json& value, const std::string& file)
{
    if (!value.is_object())
        return formatError(file,
            "has \"__metadata__\" that is a JSON " + std::string(value.type_name()) + ", not an object of strings");
    std::map<std::string, std::string> metadata;
    for (const auto& [key, item] : value.items()) {
        if (!item.is_string())
            return formatError(file,
                "has \"__metadata__\" entry " + quoted(key) + " that is a JSON " + std::string(item.type_name())
                    + ", not a string");
        metadata[key] = item.get<std::string>();
    }
    return metadata;
}

Expected<std::vector<int64_t>> parseShape(const json& entry, const std::string& where, const std::string& file)
{
    const auto found = entry.find("shape");
    if (found == entry.end()) return formatError(file, where + " has no shape");
    if (!found->is_array()) return formatError(file, where + " has a shape that is not a list");
    std::vector<int64_t> shape;
    for (const json& dim : *found) {
        if (dim.is_number_integer() && !dim.is_number_unsigned())
            return formatError(
                file, where + " has a negative dimension (" + std::to_string(dim.get<int64_t>()) + ") in its shape");
        if (!dim.is_number_unsigned())
            return formatError(file, where + " has a shape entry that is not a non-negative integer");
        const uint64_t size = dim.get<uint64_t>();
        if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return formatError(file, where + " has a dimension too large (" + std::to_string(size) + ")");
        shape.push_back(static_cast<int64_t>(size));
    }
    return shape;
}

Expected<std::pair<uint64_t, uint64_t>> parseOffsets(
    const json& entry, const std::string& where, const std::string& file)
{
    const auto found = entry.find("data_offsets");
    if (found == entry.end()) return formatError(file, where + " has no data_offsets");
    if (!found->is_array() || found->size() != 2 || !(*found)[0].is_number_unsigned()
        || !(*found)[1].is_number_unsigned())
        return formatError(file, where + " has data_offsets that are not a pair of non-negative integers");
    const uint64_t begin = (*found)[0].get<uint64_t>();
    const uint64_t end = (*found)[1].get<uint64_t>();
    if (begin > end)
        return formatError(file,
            where + " has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end)
                + "] that end before they begin");
    return std::make_pair(begin, end);
}

Expected<DType> parseDTypeField(const json& entry, const std::string& where, const std::string& file)
{
    const auto found = entry.find("dtype");
    if (found == entry.end()) return formatError(file, where + " has no dtype");
    if (!found->is_string())
        return formatError(
            file, where + " has a dtype that is a JSON " + std::string(found->type_name()) + ", not a string");
    DType dtype = DType::F32;
    const std::string& name = found->get_ref<const std::string&>();
    if (!parseDType(name, &dtype))
        return Error::inFile(ErrorCode::Unsupported, file,
            where + " has dtype " + quoted(name)
                + ", which Tastemaker does not read (it reads F32, F16, BF16, I64, I32, U8 and BOOL)");
    return dtype;
}

Expected<TensorInfo> parseTensorEntry(
    const std::string& name, const json& entry, uint64_t dataBytes, const std::string& file)
{
    const std::string where = "tensor " + quoted(name);
    if (!entry.is_object())
        return formatError(file, where + " is a JSON " + std::string(entry.type_name()) + ", not an object");
    TensorInfo info;
    info.name = name;
    Expected<DType> dtype = parseDTypeField(entry, where, file);
    if (!dtype) return dtype.error();
    info.dtype = *dtype;
    Expected<std::vector<int64_t>> shape = parseShape(entry, where, file);
    if (!shape) return shape.error();
    info.shape = std::move(*shape);
    Expected<std::pair<uint64_t, uint64_t>> offsets = parseOffsets(entry, where, file);
    if (!offsets) return offsets.error();
    const auto [begin, end] = *offsets;
    const std::string range = "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";

    uint64_t needed = 0;
    if (!tensorio::checkedByteSize(info.shape, info.dtype, &needed))
        return formatError(
            file, where + " has shape " + shapeString(info.shape) + " whose size in bytes overflows 64 bits");
    if (end - begin != needed)
        return formatError(file,
            where + " has data_offsets " + range + " but shape " + shapeString(info.shape) + " of "
                + dtypeName(info.dtype) + " needs " + std::to_string(needed) + " bytes");
    if (end > dataBytes)
        return formatError(file,
            where + " has data_offsets " + range + " beyond the end of the " + std::to_string(dataBytes)
                + "-byte data section (is the file truncated?)");
    info.offset = begin;
    info.nbytes = needed;
    return info;
}

// Sorts by offset and refuses overlapping byte ranges (empty ranges overlap nothing).
Expected<void> sortAndCheckOverlaps(std::vector<TensorInfo>& tensors, const std::string& file)
{
    std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.offset != b.offset ? a.offset < b.offset : a.name < b.name;
    });
    const TensorInfo* furthest = nullptr; // the non-empty range that ends last so far
    for (const TensorInfo& info : tensors) {
        if (info.nbytes == 0) continue;
        if (furthest && info.offset < furthest->offset + furthest->nbytes) {
            auto range = [](const TensorInfo& t) {
                return "[" + std::to_string(t.offset) + ", " + std::to_string(t.offset + t.nbytes) + "]";
            };
            return formatError(file,
                "tensors " + quoted(furthest->name) + " " + range(*furthest) + " and " + quoted(info.name) + " "
                    + range(info) + " have overlapping data_offsets");
        }
        if (!furthest || info.offset + info.nbytes > furthest->offset + furthest->nbytes) furthest = &info;
    }
    return {};
}

} // namespace

// The mapping and a count of live leases per tensor, shared by the file and its leases.
struct SharedMapping {
    MappedFile file;
    size_t dataOffset = 0; // the data section's offset in the file
    std::unique_ptr<std::atomic<int>[]> leases; // per tensor, in tensors() order
};

struct SafetensorsFile::Impl {
    std::string name;
    std::shared_ptr<SharedMapping> mapping; // null for fromBuffer
    std::span<const std::byte> dataSection;
    std::vector<TensorInfo> tensors;
    std::unordered_map<std::string, size_t> byName;
    std::map<std::string, std::string> metadata;
};

Expected<SafetensorsFile> SafetensorsFile::fromBuffer(std::span<const std::byte> bytes, const std::string& name)
{
    Expected<std::string_view> text = headerText(bytes, name);
    if (!text) return text.error();
    Expected<json> header = parseHeaderJson(*text, name);
    if (!header) return header.error();

    auto impl = std::make_unique<Impl>();
    impl->name = name;
    impl->dataSection = bytes.subspan(8 + text->size());
    for (const auto& [key, value] : header->items()) {
        if (key == "__metadata__") {
            Expected<std::map<std::string, std::string>> metadata = parseMetadata(value, name);
            if (!metadata) return metadata.error();
            impl->metadata = std::move(*metadata);
            continue;
        }
        Expected<TensorInfo> info = parseTensorEntry(key, value, impl->dataSection.size(), name);
        if (!info) return info.error();
        impl->tensors.push_back(std::move(*info));
    }
    TMK_TRY(sortAndCheckOverlaps(impl->tensors, name));
    for (size_t i = 0; i < impl->tensors.size(); ++i) impl->byName.emplace(impl->tensors[i].name, i);
    return SafetensorsFile(std::move(impl));
}

Expected<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path)
{
    Expected<MappedFile> mapping = MappedFile::open(path);
    if (!mapping) return mapping.error();
    Expected<SafetensorsFile> file = fromBuffer(mapping->bytes(), path.string());
    if (!file) return file.error();
    auto shared = std::make_shared<SharedMapping>();
    shared->file = std::move(*mapping); // the mapped address, and so every span, stays the same
    Impl& impl = *file->m_impl;
    shared->dataOffset = static_cast<size_t>(impl.dataSection.data() - shared->file.bytes().data());
    shared->leases = std::make_unique<std::atomic<int>[]>(impl.tensors.size());
    impl.mapping = std::move(shared);
    return file;
}

std::shared_ptr<std::byte> SafetensorsFile::lease(const TensorInfo& info) const
{
    const std::shared_ptr<SharedMapping>& shared = m_impl->mapping;
    const auto index = static_cast<size_t>(&info - m_impl->tensors.data());
    if (!shared || index >= m_impl->tensors.size()) return nullptr;
    const size_t offset = shared->dataOffset + static_cast<size_t>(info.offset);
    const auto bytes = static_cast<size_t>(info.nbytes);
    shared->leases[index].fetch_add(1, std::memory_order_relaxed);
    return std::shared_ptr<std::byte>(shared->file.mutableData() + offset, [shared, index, offset, bytes](std::byte*) {
        if (shared->leases[index].fetch_sub(1, std::memory_order_acq_rel) == 1) shared->file.dropPages(offset, bytes);
    });
}

void SafetensorsFile::prefault(const TensorInfo& info) const
{
    if (const std::shared_ptr<SharedMapping>& shared = m_impl->mapping)
        shared->file.prefault(shared->dataOffset + static_cast<size_t>(info.offset), static_cast<size_t>(info.nbytes));
}

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{
}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::string& SafetensorsFile::name() const
{
    return m_impl->name;
}

const std::vector<TensorInfo>& SafetensorsFile::tensors() const
{
    return m_impl->tensors;
}

const TensorInfo* SafetensorsFile::find(const std::string& tensorName) const
{
    const auto found = m_impl->byName.find(tensorName);
    return found == m_impl->byName.end() ? nullptr : &m_impl->tensors[found->second];
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo& info) const
{
    return m_impl->dataSection.subspan(static_cast<size_t>(info.offset), static_cast<size_t>(info.nbytes));
}

const std::map<std::string, std::string>& SafetensorsFile::metadata() const
{
    return m_impl->metadata;
}

} // namespace tmk
