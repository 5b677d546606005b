// .npy: our writer against numpy's exact bytes, reading the header variants numpy has written over the
// years, and every malformed file giving a sentence that names it.
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>

#include "tastemaker/tensorio.h"
#include "testsupport.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

template <typename T> std::span<const std::byte> bytesOf(const std::vector<T>& values)
{
    return std::as_bytes(std::span<const T>(values));
}

std::vector<std::byte> bytesOf(const std::string& text)
{
    const auto* begin = reinterpret_cast<const std::byte*>(text.data());
    return { begin, begin + text.size() };
}

// A .npy file of the given version around a header dict (padded with spaces and '\n' to `align` bytes,
// as numpy does) followed by `data`.
std::vector<std::byte> npyFile(
    const std::string& dict, std::span<const std::byte> data, int major = 1, size_t align = 64)
{
    const size_t lengthBytes = major == 1 ? 2 : 4;
    std::string header = dict;
    const size_t used = 8 + lengthBytes + header.size() + 1;
    header.append((align - used % align) % align, ' ');
    header += '\n';
    std::string prefix = std::string("\x93NUMPY", 6) + char(major) + char(0);
    for (size_t i = 0; i < lengthBytes; ++i) prefix += char((header.size() >> (8 * i)) & 0xff);
    std::vector<std::byte> file = bytesOf(prefix + header);
    file.insert(file.end(), data.begin(), data.end());
    return file;
}

std::string parseError(const std::vector<std::byte>& bytes)
{
    Expected<NpyArray> array = parseNpy(bytes, "bad.npy");
    return array ? "(no error)" : array.error().message;
}

void expectError(const std::vector<std::byte>& bytes, const std::string& problem)
{
    const std::string message = parseError(bytes);
    EXPECT_EQ(message.rfind("bad.npy: ", 0), 0u) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << "expected '" << problem << "' in: " << message;
}

const std::vector<float> kSixFloats = { 0.f, 1.f, 2.f, 3.f, 4.f, 5.f };

// --- writing ------------------------------------------------------------------------------------------

TEST(Npy, EncodesExactlyLikeNumpy)
{
    // np.save of np.array([1, 2, 3], dtype='<f4') with numpy >= 1.23: header length 118 ('v').
    const std::vector<float> values = { 1.f, 2.f, 3.f };
    const std::vector<std::byte> bytes = encodeNpy(DType::F32, { 3 }, bytesOf(values));
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    const std::string expected
        = std::string("\x93NUMPY\x01\x00v\x00", 10) + dict + std::string(127 - 10 - dict.size(), ' ') + "\n";
    ASSERT_EQ(bytes.size(), 128u + 12u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()), 128), expected);
    EXPECT_EQ(std::memcmp(bytes.data() + 128, values.data(), 12), 0);
}

TEST(Npy, HeaderLayoutForEveryRank)
{
    const std::vector<int64_t> codes(2 * 4 * 17, 7);
    struct Case {
        DType dtype;
        std::vector<int64_t> shape;
        std::span<const std::byte> data;
        std::string dict;
    };
    const std::vector<Case> cases = {
        { DType::I64, { 2, 4, 17 }, bytesOf(codes), "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 4, 17), }" },
        { DType::F32, { 6 }, bytesOf(kSixFloats), "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }" },
        { DType::F32, {}, bytesOf(kSixFloats).first(4), "{'descr': '<f4', 'fortran_order': False, 'shape': (), }" },
        { DType::F32, { 0, 3 }, {}, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }" },
    };
    for (const Case& c : cases) {
        const std::vector<std::byte> bytes = encodeNpy(c.dtype, c.shape, c.data);
        ASSERT_FALSE(bytes.empty());
        const size_t headerBytes = static_cast<size_t>(bytes[8]) | (static_cast<size_t>(bytes[9]) << 8);
        const std::string header(reinterpret_cast<const char*>(bytes.data()) + 10, headerBytes);
        EXPECT_EQ((10 + headerBytes) % 64, 0u) << c.dict;
        EXPECT_EQ(header.rfind(c.dict, 0), 0u) << header;
        EXPECT_EQ(header.back(), '\n');
        EXPECT_EQ(header.find_first_not_of(' ', c.dict.size()), header.size() - 1) << header;
        EXPECT_EQ(bytes.size(), 10 + headerBytes + c.data.size());
    }
}

TEST(Npy, RoundTripsThroughFiles)
{
    const fs::path dir = test::freshOutDir("npy_roundtrip");
    std::vector<int64_t> codes(2 * 4 * 17);
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<int64_t>(i) * 1000003 - 5;
    ASSERT_TRUE(writeNpy(dir / "codes.npy", DType::I64, { 2, 4, 17 }, bytesOf(codes)));
    Expected<NpyArray> read = readNpy(dir / "codes.npy");
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(read->dtype, DType::I64);
    EXPECT_EQ(read->shape, (std::vector<int64_t> { 2, 4, 17 }));
    EXPECT_EQ(read->numel(), 136);
    const std::span<const int64_t> readCodes = read->as<int64_t>();
    EXPECT_TRUE(std::equal(readCodes.begin(), readCodes.end(), codes.begin(), codes.end()));

    const std::vector<std::vector<int64_t>> shapes = { { 6 }, { 2, 3 }, { 1, 2, 3 }, {}, { 0 }, { 3, 0, 2 } };
    for (const std::vector<int64_t>& shape : shapes) {
        int64_t numel = 1;
        for (int64_t d : shape) numel *= d;
        const std::vector<float> values(kSixFloats.begin(), kSixFloats.begin() + numel);
        ASSERT_TRUE(writeNpy(dir / "f.npy", DType::F32, shape, bytesOf(values)));
        Expected<NpyArray> floats = readNpy(dir / "f.npy");
        ASSERT_TRUE(floats) << floats.error().message;
        EXPECT_EQ(floats->dtype, DType::F32);
        EXPECT_EQ(floats->shape, shape);
        EXPECT_TRUE(std::ranges::equal(floats->as<float>(), values));
    }
}

TEST(Npy, OtherDTypesRoundTrip)
{
    const std::vector<int32_t> i32 = { -7, 8 };
    const std::vector<uint8_t> u8 = { 0, 255, 3 };
    const std::vector<uint16_t> f16 = { 0x3c00 };
    for (const auto& [dtype, shape, data] :
        std::vector<std::tuple<DType, std::vector<int64_t>, std::span<const std::byte>>> {
            { DType::I32, { 2 }, bytesOf(i32) }, { DType::U8, { 3 }, bytesOf(u8) },
            { DType::Bool, { 1, 3 }, bytesOf(u8) }, { DType::F16, { 1 }, bytesOf(f16) } }) {
        Expected<NpyArray> array = parseNpy(encodeNpy(dtype, shape, data), "x.npy");
        ASSERT_TRUE(array) << array.error().message;
        EXPECT_EQ(array->dtype, dtype);
        EXPECT_EQ(array->shape, shape);
        EXPECT_TRUE(std::ranges::equal(array->data, data));
    }
}

TEST(Npy, WriterRefusesWhatItCannotWrite)
{
    const fs::path dir = test::freshOutDir("npy_refuse");
    EXPECT_TRUE(encodeNpy(DType::F32, { 2, 3 }, bytesOf(kSixFloats).first(8)).empty());
    EXPECT_TRUE(encodeNpy(DType::BF16, { 1 }, bytesOf(kSixFloats).first(2)).empty());
    Expected<void> mismatch = writeNpy(dir / "m.npy", DType::F32, { 2, 3 }, bytesOf(kSixFloats).first(8));
    ASSERT_FALSE(mismatch);
    EXPECT_EQ(mismatch.error().message,
        (dir / "m.npy").string() + ": cannot be written: 8 bytes of data do not match shape [2, 3] of F32");
    Expected<void> bf16 = writeNpy(dir / "b.npy", DType::BF16, { 1 }, bytesOf(kSixFloats).first(2));
    ASSERT_FALSE(bf16);
    EXPECT_NE(bf16.error().message.find(".npy has no dtype for BF16"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "m.npy"));
}

// --- reading what numpy writes ------------------------------------------------------------------------

TEST(Npy, ReadsNumpyHeaderVariants)
{
    const std::span<const std::byte> data = bytesOf(kSixFloats);
    const std::vector<std::vector<std::byte>> files = {
        // numpy < 1.23 (no growth padding), and numpy < 1.14 (16-byte alignment).
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data),
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 1, 16),
        // Versions 2.0 and 3.0 have a 4-byte header length.
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 2),
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 3),
        // Python 2 longs, other key order, double quotes, no trailing comma, odd spacing.
        npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", data),
        npyFile("{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", data),
        npyFile("{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3,)}", data),
        npyFile("  {\t'descr' : '<f4' ,\n'fortran_order': False, 'shape': ( 2 , 3 ) , }  ", data),
    };
    for (const std::vector<std::byte>& file : files) {
        Expected<NpyArray> array = parseNpy(file, "numpy.npy");
        ASSERT_TRUE(array) << array.error().message;
        EXPECT_EQ(array->dtype, DType::F32);
        EXPECT_EQ(array->shape, (std::vector<int64_t> { 2, 3 }));
        EXPECT_TRUE(std::ranges::equal(array->as<float>(), kSixFloats));
    }
    // Fortran order is the same as C order in one dimension.
    Expected<NpyArray> oneD
        = parseNpy(npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }", data), "f.npy");
    EXPECT_TRUE(oneD) << oneD.error().message;
}

// --- malformed files ----------------------------------------------------------------------------------

TEST(NpyMalformed, BadMagicAndVersion)
{
    expectError(bytesOf(std::string("\x93NUMPZ\x01\x00", 8)), "is not a .npy file");
    expectError(bytesOf(std::string("PK\x03\x04 zip", 8)), "is not a .npy file");
    expectError({}, "is not a .npy file");
    std::vector<std::byte> v4
        = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", bytesOf(kSixFloats).first(4));
    v4[6] = std::byte { 4 };
    expectError(v4, "is a .npy file of version 4.0, which Tastemaker does not read");
}

TEST(NpyMalformed, Truncated)
{
    const std::vector<std::byte> good = encodeNpy(DType::F32, { 2, 3 }, bytesOf(kSixFloats));
    expectError({ good.begin(), good.begin() + 9 }, "is truncated inside its .npy header length");
    expectError({ good.begin(), good.begin() + 60 }, "has a .npy header of 118 bytes but only 50 bytes follow");
    expectError({ good.begin(), good.end() - 1 }, "has 23 bytes of data but shape (2, 3) of '<f4' needs 24 bytes");
    std::vector<std::byte> longer = good;
    longer.push_back(std::byte { 0 });
    expectError(longer, "has 25 bytes of data but shape (2, 3) of '<f4' needs 24 bytes");
    const std::vector<std::byte> v2 = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", {}, 2);
    expectError({ v2.begin(), v2.begin() + 11 }, "is truncated inside its .npy header length");
}

TEST(NpyMalformed, RefusedLayouts)
{
    const std::span<const std::byte> data = bytesOf(kSixFloats);
    expectError(
        npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data), "is stored in Fortran order");
    expectError(npyFile("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", data),
        "holds an object array ('|O'), which would need unpickling; Tastemaker never unpickles files");
    expectError(
        npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data), "holds big-endian data ('>f4')");
    expectError(npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data),
        "holds dtype '<f8', which Tastemaker does not read");
    expectError(npyFile("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (6,), }", data),
        "holds a structured array");
}

TEST(NpyMalformed, BadHeaderDicts)
{
    const std::span<const std::byte> data = bytesOf(kSixFloats);
    auto error
        = [&](const std::string& dict, const std::string& problem) { expectError(npyFile(dict, data), problem); };
    error("['descr', '<f4']", "has a .npy header that does not start with '{'");
    error("{'descr': '<f4', 'fortran_order': False}", "lacks one of 'descr', 'fortran_order' and 'shape'");
    error("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'extra': 1}", "has the unknown key 'extra'");
    error("{'descr': '<f4', 'descr': '<f4', 'shape': (6,)}", "repeats the key 'descr'");
    error("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }", "neither True nor False");
    error("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", "negative dimension");
    error("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", "'shape' that is an int, not a tuple");
    error("{'descr': '<f4', 'fortran_order': False, 'shape': [6], }", "'shape' that is not a tuple");
    error("{'descr': '<f4', 'fortran_order': False, 'shape': (6.0,), }", "unexpected character");
    error("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "too large for 64 bits");
    error("{'descr' '<f4', 'fortran_order': False, 'shape': (6,), }", "has no ':' after a key");
    error("{'descr': '<f4", "unterminated string");
    error("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } extra", "text after the closing '}'");
    error("{'descr': '<f4' 'fortran_order': False, 'shape': (6,), }", "where ',' or '}' should be");
    error("{'de\\scr': '<f4', 'fortran_order': False, 'shape': (6,), }", "escape sequence");
    error("{descr: '<f4'}", "where a quoted string should be");
    expectError(npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data),
        "overflows 64 bits");
}

TEST(NpyMalformed, FilesAreNamed)
{
    const fs::path dir = test::freshOutDir("npy_files");
    Expected<NpyArray> missing = readNpy(dir / "missing.npy");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, (dir / "missing.npy").string() + ": does not exist");
    {
        std::ofstream out(dir / "junk.npy", std::ios::binary);
        out << "not numpy";
    }
    Expected<NpyArray> junk = readNpy(dir / "junk.npy");
    ASSERT_FALSE(junk);
    EXPECT_EQ(junk.error().message.rfind((dir / "junk.npy").string() + ": is not a .npy file", 0), 0u);
    std::ofstream(dir / "empty.npy").close();
    EXPECT_FALSE(readNpy(dir / "empty.npy"));
}

} // namespace
} // namespace tmk
