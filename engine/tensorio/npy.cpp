// NumPy .npy files: "\x93NUMPY", version, header length, a Python dict literal, raw C-order data.
// The header is parsed as a literal (a tiny tokenizer), never evaluated, and object arrays (which
// numpy stores pickled) are refused. This code is fuzzed (tests/fuzz/fuzz_npy.cpp).
#include <cstring>
#include <limits>
#include <set>

#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "tensorio/mapped_file.h"
#include "tensorio/tensor_math.h"

namespace tmk {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
constexpr size_t kArrayAlign = 64; // numpy aligns the data to 64 bytes
constexpr size_t kGrowthAxisMaxDigits = 21; // numpy >= 1.23 leaves room to grow the first axis

struct NpyDescr {
    const char* descr;
    DType dtype;
};

constexpr NpyDescr kDescrs[] = {
    { "<f4", DType::F32 },
    { "<f2", DType::F16 },
    { "<i8", DType::I64 },
    { "<i4", DType::I32 },
    { "|u1", DType::U8 },
    { "|b1", DType::Bool },
};

struct NpyHeader {
    std::string descr;
    bool fortranOrder = false;
    std::vector<int64_t> shape;
};

// Parses the header dict, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".
class HeaderParser {
public:
    HeaderParser(std::string_view text, const std::string& file)
        : m_text(text)
        , m_file(file)
    {
    }

    Expected<NpyHeader> parse()
    {
        NpyHeader header;
        std::set<std::string> seen;
        skipSpace();
        if (!consume('{')) return fail("does not start with '{'");
        while (true) {
            skipSpace();
            if (consume('}')) break;
            TMK_TRY(parseEntry(&header, &seen));
            skipSpace();
            if (consume(',')) continue;
            if (consume('}')) break;
            return fail("has an unexpected character where ',' or '}' should be");
        }
        skipSpace();
        if (m_pos != m_text.size()) return fail("has text after the closing '}'");
        if (seen.size() != 3) return fail("lacks one of 'descr', 'fortran_order' and 'shape'");
        return header;
    }

private:
    Error fail(const std::string& problem) const
    {
        return Error::inFile(ErrorCode::Format, m_file,
            "has a .npy header that " + problem + " (at byte " + std::to_string(m_pos) + ")");
    }

    void skipSpace()
    {
        while (m_pos < m_text.size()) {
            const char c = m_text[m_pos];
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
            ++m_pos;
        }
    }

    bool consume(char c)
    {
        if (m_pos >= m_text.size() || m_text[m_pos] != c) return false;
        ++m_pos;
        return true;
    }

    bool consumeWord(std::string_view word)
    {
        if (m_text.substr(m_pos, word.size()) != word) return false;
        m_pos += word.size();
        return true;
    }

    Expected<void> parseEntry(NpyHeader* header, std::set<std::string>* seen)
    {
        Expected<std::string> key = parseString();
        if (!key) return key.error();
        if (!seen->insert(*key).second) return fail("repeats the key " + tensorio::quoted(*key));
        skipSpace();
        if (!consume(':')) return fail("has no ':' after a key");
        skipSpace();
        if (*key == "descr") {
            if (m_pos < m_text.size() && m_text[m_pos] == '[')
                return Error::inFile(
                    ErrorCode::Unsupported, m_file, "holds a structured array, which Tastemaker does not read");
            Expected<std::string> descr = parseString();
            if (!descr) return descr.error();
            header->descr = *descr;
        } else if (*key == "fortran_order") {
            if (consumeWord("True"))
                header->fortranOrder = true;
            else if (consumeWord("False"))
                header->fortranOrder = false;
            else
                return fail("has a 'fortran_order' that is neither True nor False");
        } else if (*key == "shape") {
            Expected<std::vector<int64_t>> shape = parseShape();
            if (!shape) return shape.error();
            header->shape = std::move(*shape);
        } else {
            return fail("has the unknown key " + tensorio::quoted(*key));
        }
        return {};
    }

    Expected<std::string> parseString()
    {
        if (m_pos >= m_text.size() || (m_text[m_pos] != '\'' && m_text[m_pos] != '"'))
            return fail("has a value where a quoted string should be");
        const char quote = m_text[m_pos++];
        const size_t end = m_text.find(quote, m_pos);
        if (end == std::string_view::npos) return fail("has an unterminated string");
        std::string value(m_text.substr(m_pos, end - m_pos));
        if (value.find('\\') != std::string::npos) return fail("has an escape sequence in a string");
        m_pos = end + 1;
        return value;
    }

    Expected<int64_t> parseDimension()
    {
        if (consume('-')) return fail("has a negative dimension in 'shape'");
        if (m_pos >= m_text.size() || m_text[m_pos] < '0' || m_text[m_pos] > '9')
            return fail("has a 'shape' entry that is not an integer");
        int64_t value = 0;
        while (m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') {
            if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, m_text[m_pos] - '0', &value))
                return fail("has a dimension too large for 64 bits");
            ++m_pos;
        }
        consume('L'); // Python 2 long literals, e.g. (3L, 4L)
        return value;
    }

    // A tuple literal: "()", "(3,)", "(2, 3)" or "(2, 3,)". "(3)" is an int in Python, not a tuple.
    Expected<std::vector<int64_t>> parseShape()
    {
        if (!consume('(')) return fail("has a 'shape' that is not a tuple");
        std::vector<int64_t> shape;
        bool trailingComma = false;
        while (true) {
            skipSpace();
            if (consume(')')) break;
            Expected<int64_t> dim = parseDimension();
            if (!dim) return dim.error();
            shape.push_back(*dim);
            skipSpace();
            trailingComma = consume(',');
            if (!trailingComma) {
                skipSpace();
                if (!consume(')')) return fail("has a 'shape' tuple with an unexpected character");
                break;
            }
        }
        if (shape.size() == 1 && !trailingComma) return fail("has a 'shape' that is an int, not a tuple");
        return shape;
    }

    std::string_view m_text;
    const std::string& m_file;
    size_t m_pos = 0;
};

Expected<DType> dtypeOfDescr(const std::string& descr, const std::string& file)
{
    for (const NpyDescr& entry : kDescrs) {
        if (descr == entry.descr) return entry.dtype;
    }
    const std::string shown = tensorio::quoted(descr);
    if (descr.find('O') != std::string::npos)
        return Error::inFile(ErrorCode::Unsupported, file,
            "holds an object array (" + shown
                + "), which would need unpickling; "
                  "Tastemaker never unpickles files");
    if (!descr.empty() && descr[0] == '>')
        return Error::inFile(ErrorCode::Unsupported, file,
            "holds big-endian data (" + shown
                + "); save it little-endian, e.g. with "
                  "`np.save(path, array.astype(array.dtype.newbyteorder('<')))`");
    return Error::inFile(ErrorCode::Unsupported, file,
        "holds dtype " + shown
            + ", which Tastemaker does not read (it reads '<f4', '<f2', "
              "'<i8', '<i4', '|u1' and '|b1')");
}

const char* descrOf(DType dtype)
{
    for (const NpyDescr& entry : kDescrs) {
        if (entry.dtype == dtype) return entry.descr;
    }
    return nullptr;
}

// Python's repr of a shape tuple: "()", "(5,)", "(2, 4, 17)".
std::string shapeRepr(const std::vector<int64_t>& shape)
{
    std::string text = "(";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + (shape.size() == 1 ? ",)" : ")");
}

// The header's length and text, after the magic string and the version.
Expected<std::string_view> headerTextOf(std::span<const std::byte> bytes, const std::string& file, size_t* dataStart)
{
    if (bytes.size() < kMagicBytes + 2 || std::memcmp(bytes.data(), kMagic, kMagicBytes) != 0)
        return Error::inFile(ErrorCode::Format, file, "is not a .npy file (it does not start with \"\\x93NUMPY\")");
    const auto major = static_cast<uint8_t>(bytes[6]);
    const auto minor = static_cast<uint8_t>(bytes[7]);
    if (major < 1 || major > 3)
        return Error::inFile(ErrorCode::Unsupported, file,
            "is a .npy file of version " + std::to_string(major) + "." + std::to_string(minor)
                + ", which Tastemaker does not read (it reads 1.0 to 3.0)");
    const size_t lengthBytes = major == 1 ? 2 : 4;
    if (bytes.size() < 8 + lengthBytes)
        return Error::inFile(ErrorCode::Format, file, "is truncated inside its .npy header length");
    uint64_t headerBytes = 0;
    for (size_t i = 0; i < lengthBytes; ++i) headerBytes |= uint64_t(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    const size_t start = 8 + lengthBytes;
    if (headerBytes > bytes.size() - start)
        return Error::inFile(ErrorCode::Format, file,
            "has a .npy header of " + std::to_string(headerBytes) + " bytes but only "
                + std::to_string(bytes.size() - start) + " bytes follow (is the file truncated?)");
    *dataStart = start + static_cast<size_t>(headerBytes);
    return std::string_view(reinterpret_cast<const char*>(bytes.data()) + start, static_cast<size_t>(headerBytes));
}

} // namespace

Expected<NpyArray> parseNpy(std::span<const std::byte> bytes, const std::string& name)
{
    size_t dataStart = 0;
    Expected<std::string_view> text = headerTextOf(bytes, name, &dataStart);
    if (!text) return text.error();
    Expected<NpyHeader> header = HeaderParser(*text, name).parse();
    if (!header) return header.error();
    Expected<DType> dtype = dtypeOfDescr(header->descr, name);
    if (!dtype) return dtype.error();
    // Fortran and C order agree on arrays with at most one dimension.
    if (header->fortranOrder && header->shape.size() > 1)
        return Error::inFile(ErrorCode::Unsupported, name,
            "is stored in Fortran order; save it in C order, e.g. with "
            "`np.save(path, np.ascontiguousarray(array))`");
    uint64_t needed = 0;
    if (!tensorio::checkedByteSize(header->shape, *dtype, &needed))
        return Error::inFile(ErrorCode::Format, name,
            "has shape " + shapeRepr(header->shape) + " whose size in bytes overflows 64 bits");
    const std::span<const std::byte> data = bytes.subspan(dataStart);
    if (data.size() != needed)
        return Error::inFile(ErrorCode::Format, name,
            "has " + std::to_string(data.size()) + " bytes of data but shape " + shapeRepr(header->shape) + " of '"
                + header->descr + "' needs " + std::to_string(needed) + " bytes");
    NpyArray array;
    array.dtype = *dtype;
    array.shape = std::move(header->shape);
    array.data.assign(data.begin(), data.end());
    return array;
}

Expected<NpyArray> readNpy(const std::filesystem::path& path)
{
    Expected<MappedFile> mapping = MappedFile::open(path);
    if (!mapping) return mapping.error();
    return parseNpy(mapping->bytes(), path.string());
}

std::vector<std::byte> encodeNpy(DType dtype, const std::vector<int64_t>& shape, std::span<const std::byte> data)
{
    const char* descr = descrOf(dtype);
    uint64_t needed = 0;
    if (!descr || !tensorio::checkedByteSize(shape, dtype, &needed) || needed != data.size()) return {};

    // Byte for byte what numpy's np.save writes (format 1.0).
    std::string header
        = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': " + shapeRepr(shape) + ", }";
    if (!shape.empty()) header.append(kGrowthAxisMaxDigits - std::to_string(shape[0]).size(), ' ');
    const size_t prefixBytes = kMagicBytes + 2 + 2;
    const size_t padding = kArrayAlign - (prefixBytes + header.size() + 1) % kArrayAlign;
    header.append(padding, ' ');
    header += '\n';
    if (header.size() > std::numeric_limits<uint16_t>::max()) return {}; // needs format 2.0; never for a sane shape

    std::vector<std::byte> bytes(prefixBytes + header.size() + data.size());
    std::memcpy(bytes.data(), kMagic, kMagicBytes);
    bytes[6] = std::byte { 1 };
    bytes[7] = std::byte { 0 };
    bytes[8] = static_cast<std::byte>(header.size() & 0xff);
    bytes[9] = static_cast<std::byte>(header.size() >> 8);
    std::memcpy(bytes.data() + prefixBytes, header.data(), header.size());
    if (!data.empty()) std::memcpy(bytes.data() + prefixBytes + header.size(), data.data(), data.size());
    return bytes;
}

Expected<void> writeNpy(
    const std::filesystem::path& path, DType dtype, const std::vector<int64_t>& shape, std::span<const std::byte> data)
{
    if (!descrOf(dtype))
        return Error::inFile(ErrorCode::Unsupported, path.string(),
            std::string("cannot be written: .npy has no dtype for ") + dtypeName(dtype));
    uint64_t needed = 0;
    if (!tensorio::checkedByteSize(shape, dtype, &needed) || needed != data.size())
        return Error::inFile(ErrorCode::InvalidArgument, path.string(),
            "cannot be written: " + std::to_string(data.size()) + " bytes of data do not match shape "
                + tensorio::shapeString(shape) + " of " + dtypeName(dtype));
    const std::vector<std::byte> bytes = encodeNpy(dtype, shape, data);
    if (bytes.empty())
        return Error::inFile(ErrorCode::InvalidArgument, path.string(), "cannot be written: its header is too long");
    return writeFileAtomic(path, std::span<const std::byte>(bytes));
}

} // namespace tmk
