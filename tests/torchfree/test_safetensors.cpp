// safetensors: our writer read back, every malformed-header rule with its message, sharded checkpoints,
// pickle-only folders, and the Hugging Face fixture checkpoint.
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/test_hooks.h"
#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "testsupport.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

template <typename T> std::span<const std::byte> bytesOf(const std::vector<T>& values)
{
    return std::as_bytes(std::span<const T>(values));
}

std::vector<std::byte> withLength(uint64_t headerBytes, const std::string& header, size_t dataBytes)
{
    std::vector<std::byte> file(8 + header.size() + dataBytes, std::byte { 0 });
    for (int i = 0; i < 8; ++i) file[static_cast<size_t>(i)] = static_cast<std::byte>((headerBytes >> (8 * i)) & 0xff);
    std::memcpy(file.data() + 8, header.data(), header.size());
    return file;
}

// A file with the given header JSON and `dataBytes` zero bytes of data.
std::vector<std::byte> rawFile(const std::string& header, size_t dataBytes)
{
    return withLength(header.size(), header, dataBytes);
}

std::string parseError(const std::vector<std::byte>& bytes)
{
    Expected<SafetensorsFile> file = SafetensorsFile::fromBuffer(bytes, "bad.safetensors");
    if (file) return "(no error)";
    return file.error().message;
}

// The error for a header, which must name the file and contain `problem`.
void expectHeaderError(const std::string& header, size_t dataBytes, const std::string& problem)
{
    const std::string message = parseError(rawFile(header, dataBytes));
    EXPECT_EQ(message.rfind("bad.safetensors: ", 0), 0u) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << "expected '" << problem << "' in: " << message;
}

void writeBytes(const fs::path& path, std::span<const std::byte> bytes)
{
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// --- good files ---------------------------------------------------------------------------------------

TEST(Safetensors, WriterRoundTripsEveryDTypeWithMetadata)
{
    const std::vector<float> f32 = { 1.5f, -2.f, 3.f, 4.f, 5.f, 6.f };
    const std::vector<uint16_t> f16 = { 0x3c00, 0xc000, 0x7bff, 0x0001 };
    const std::vector<uint16_t> bf16 = { 0x3f80, 0xbf80, 0x4049, 0x0000 };
    const std::vector<int64_t> i64 = { -1, 1LL << 40, 7 };
    const std::vector<int32_t> i32 = { -5, 5 };
    const std::vector<uint8_t> u8 = { 0, 1, 2, 254, 255 };
    const std::vector<uint8_t> boolean = { 1, 0, 1 };
    const std::vector<float> scalar = { 42.f };
    const std::vector<TensorView> tensors = {
        { "w.f32", DType::F32, { 2, 3 }, bytesOf(f32) },
        { "w.f16", DType::F16, { 4 }, bytesOf(f16) },
        { "w.bf16", DType::BF16, { 2, 2 }, bytesOf(bf16) },
        { "a.i64", DType::I64, { 3 }, bytesOf(i64) },
        { "b.i32", DType::I32, { 1, 2 }, bytesOf(i32) },
        { "c.u8", DType::U8, { 5 }, bytesOf(u8) },
        { "d.bool", DType::Bool, { 3 }, bytesOf(boolean) },
        { "empty", DType::F32, { 0, 4 }, {} },
        { "scalar", DType::F32, {}, bytesOf(scalar) },
    };
    const fs::path path = test::freshOutDir("safetensors_roundtrip") / "all.safetensors";
    ASSERT_TRUE(writeSafetensors(path, tensors, { { "format", "pt" }, { "note", "ünïcode ok" } }));

    Expected<SafetensorsFile> file = SafetensorsFile::open(path);
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->name(), path.string());
    EXPECT_EQ(file->metadata().at("format"), "pt");
    EXPECT_EQ(file->metadata().at("note"), "ünïcode ok");
    ASSERT_EQ(file->tensors().size(), tensors.size());
    for (const TensorView& expected : tensors) {
        const TensorInfo* info = file->find(expected.name);
        ASSERT_NE(info, nullptr) << expected.name;
        EXPECT_EQ(info->dtype, expected.dtype) << expected.name;
        EXPECT_EQ(info->shape, expected.shape) << expected.name;
        const std::span<const std::byte> data = file->data(*info);
        ASSERT_EQ(data.size(), expected.data.size()) << expected.name;
        EXPECT_TRUE(std::equal(data.begin(), data.end(), expected.data.begin())) << expected.name;
    }
    EXPECT_EQ(file->find("scalar")->numel(), 1);
    EXPECT_EQ(file->find("empty")->numel(), 0);
    EXPECT_EQ(file->find("missing"), nullptr);
    for (size_t i = 1; i < file->tensors().size(); ++i)
        EXPECT_LE(file->tensors()[i - 1].offset, file->tensors()[i].offset);
}

TEST(Safetensors, WriterSortsByNameAlignsDataAndOmitsEmptyMetadata)
{
    const std::vector<float> values = { 1.f, 2.f, 3.f };
    Expected<std::vector<std::byte>> bytes = encodeSafetensors(
        { { "zeta", DType::F32, { 3 }, bytesOf(values) }, { "alpha", DType::F32, { 1 }, bytesOf(values).first(4) } });
    ASSERT_TRUE(bytes) << bytes.error().message;
    uint64_t headerBytes = 0;
    std::memcpy(&headerBytes, bytes->data(), 8);
    EXPECT_EQ((8 + headerBytes) % 8, 0u);
    const std::string header(reinterpret_cast<const char*>(bytes->data()) + 8, headerBytes);
    EXPECT_EQ(header.find("__metadata__"), std::string::npos);
    EXPECT_EQ(header.rfind("{\"alpha\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                           "\"zeta\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,16]}}",
                  0),
        0u)
        << header;
    EXPECT_EQ(header.find_first_not_of(' ', header.find_last_of('}') + 1), std::string::npos);
}

TEST(Safetensors, WriterLayoutMatchesHuggingFace)
{
    // The tensor part of a header written by Hugging Face's safetensors must come out identical.
    const fs::path path = test::dataDir() / "musicgen-tiny-public/cases/tokenizer.safetensors";
    Expected<SafetensorsFile> original = SafetensorsFile::open(path);
    ASSERT_TRUE(original) << original.error().message;
    std::vector<TensorView> views;
    for (const TensorInfo& info : original->tensors())
        views.push_back({ info.name, info.dtype, info.shape, original->data(info) });
    Expected<std::vector<std::byte>> ours = encodeSafetensors(views, original->metadata());
    ASSERT_TRUE(ours);
    const std::string text(reinterpret_cast<const char*>(ours->data()), ours->size());
    EXPECT_NE(text.find("},\"attention_mask\":{\"dtype\":\"I64\",\"shape\":[4,26],\"data_offsets\":[0,832]},"
                        "\"input_ids\":{\"dtype\":\"I64\",\"shape\":[4,26],\"data_offsets\":[832,1664]}} "),
        std::string::npos);
    const std::span<const std::byte> data = original->data(original->tensors()[0]);
    EXPECT_EQ(std::memcmp(ours->data() + ours->size() - 1664, data.data(), 832), 0);
}

TEST(Safetensors, WriterRefusesBadTensors)
{
    const std::vector<float> values = { 1.f, 2.f, 3.f, 4.f };
    auto error = [](const std::vector<TensorView>& tensors) {
        Expected<std::vector<std::byte>> bytes = encodeSafetensors(tensors);
        return bytes ? std::string("(no error)") : bytes.error().message;
    };
    EXPECT_NE(error({ { "x", DType::F32, { 3, 2 }, bytesOf(values) } })
                  .find("tensor 'x' has 16 bytes of data but shape [3, 2] of F32 needs 24 bytes"),
        std::string::npos);
    EXPECT_NE(error({ { "x", DType::F32, { 4 }, bytesOf(values) }, { "x", DType::F32, { 4 }, bytesOf(values) } })
                  .find("'x' is given twice"),
        std::string::npos);
    EXPECT_NE(error({ { "__metadata__", DType::F32, { 4 }, bytesOf(values) } }).find("reserved"), std::string::npos);
    EXPECT_NE(error({ { "x", DType::F32, { -1 }, {} } }).find("invalid shape [-1]"), std::string::npos);
    EXPECT_NE(error({ { std::string("bad\xff"), DType::F32, { 4 }, bytesOf(values) } }).find("not valid UTF-8"),
        std::string::npos);

    const fs::path path = test::freshOutDir("safetensors_refuse") / "x.safetensors";
    Expected<void> written = writeSafetensors(path, { { "x", DType::F32, { 5 }, bytesOf(values) } });
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error().message.rfind(path.string() + ": cannot be written", 0), 0u) << written.error().message;
    EXPECT_FALSE(fs::exists(path));
}

TEST(Safetensors, FailedWriteKeepsTheOldFile)
{
    const std::vector<float> oldValues = { 1.f }, newValues(1000, 2.f);
    const fs::path path = test::freshOutDir("safetensors_atomic") / "keep.safetensors";
    ASSERT_TRUE(writeSafetensors(path, { { "x", DType::F32, { 1 }, bytesOf(oldValues) } }));
    setSimulatedWriteFailureAfterBytes(100);
    Expected<void> written = writeSafetensors(path, { { "x", DType::F32, { 1000 }, bytesOf(newValues) } });
    setSimulatedWriteFailureAfterBytes(-1);
    EXPECT_FALSE(written);
    Expected<SafetensorsFile> file = SafetensorsFile::open(path);
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->find("x")->shape, std::vector<int64_t> { 1 });
}

TEST(Safetensors, AcceptsEmptyHeaderAndUnalignedData)
{
    Expected<SafetensorsFile> empty = SafetensorsFile::fromBuffer(rawFile("{}", 0), "empty.safetensors");
    ASSERT_TRUE(empty) << empty.error().message;
    EXPECT_TRUE(empty->tensors().empty());
    // A 3-byte header puts the data at an odd address; the span is still right.
    Expected<SafetensorsFile> odd = SafetensorsFile::fromBuffer(
        rawFile(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 2), "odd.safetensors");
    ASSERT_TRUE(odd) << odd.error().message;
    EXPECT_EQ(odd->data(*odd->find("a")).size(), 2u);
}

// --- malformed files ----------------------------------------------------------------------------------

TEST(SafetensorsMalformed, TruncatedFiles)
{
    EXPECT_NE(parseError(std::vector<std::byte>(5)).find("is 5 bytes long, too short"), std::string::npos);
    EXPECT_NE(parseError(withLength(500, "{}", 90)).find("header length of 500 bytes but only 92 bytes follow"),
        std::string::npos);
    // The data section ends before the tensor does.
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}})", 16,
        "tensor 'x' has data_offsets [0, 24] beyond the end of the 16-byte data section");

    const fs::path path = test::freshOutDir("safetensors_truncated") / "short.safetensors";
    writeBytes(path, std::vector<std::byte>(3));
    Expected<SafetensorsFile> file = SafetensorsFile::open(path);
    ASSERT_FALSE(file);
    EXPECT_EQ(file.error().message,
        path.string()
            + ": is 3 bytes long, too short for a safetensors file "
              "(it needs an 8-byte header length)");
}

TEST(SafetensorsMalformed, HeaderLengths)
{
    EXPECT_NE(parseError(withLength(1ULL << 60, "{}", 0))
                  .find("header length of 1152921504606846976 bytes, over the 100 MB limit"),
        std::string::npos);
    EXPECT_NE(parseError(withLength(~0ULL, "{}", 0)).find("over the 100 MB limit"), std::string::npos);
    EXPECT_NE(parseError(withLength(1, "{}", 0)).find("header length of 1 bytes, too small"), std::string::npos);
}

TEST(SafetensorsMalformed, JsonProblems)
{
    expectHeaderError(R"({"x": {"dtype": )", 0, "header that is not valid JSON");
    expectHeaderError("{\"x\": \"\xff\"}", 0, "not valid JSON");
    // Found by fuzzing: nlohmann throws out_of_range, not parse_error, for a number beyond double.
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[744E737095516156],"data_offsets":[0,4]}})", 4,
        "header that is not valid JSON (a number is out of range)");
    expectHeaderError("[1, 2]", 0, "header that is a JSON array, not an object");
    expectHeaderError("\"text\"", 0, "header that is a JSON string, not an object");
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[[[[[1]]]]],"data_offsets":[0,4]}})", 4, "nested deeper");
    expectHeaderError(std::string(100000, '[') + std::string(100000, ']'), 0, "nested deeper");
    expectHeaderError(
        R"({"__metadata__":{"a":1}})", 0, "\"__metadata__\" entry 'a' that is a JSON number, not a string");
    expectHeaderError(R"({"__metadata__":[]})", 0, "\"__metadata__\" that is a JSON array");
    expectHeaderError(R"({"x":[]})", 0, "tensor 'x' is a JSON array, not an object");
}

TEST(SafetensorsMalformed, DTypes)
{
    expectHeaderError(R"({"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8,
        "tensor 'x' has dtype 'F64', which Tastemaker does not read");
    expectHeaderError(R"({"x":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})", 4,
        "tensor 'x' has a dtype that is a JSON number, not a string");
    expectHeaderError(R"({"x":{"shape":[1],"data_offsets":[0,4]}})", 4, "tensor 'x' has no dtype");
}

TEST(SafetensorsMalformed, Shapes)
{
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,4]}})", 4,
        "tensor 'x' has a negative dimension (-3) in its shape");
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[2.5],"data_offsets":[0,4]}})", 4, "not a non-negative integer");
    expectHeaderError(R"({"x":{"dtype":"F32","shape":"2","data_offsets":[0,4]}})", 4, "shape that is not a list");
    expectHeaderError(R"({"x":{"dtype":"F32","data_offsets":[0,4]}})", 4, "tensor 'x' has no shape");
    expectHeaderError(
        R"({"x":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}})", 4, "dimension too large");
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}})", 4,
        "not a non-negative integer");
}

TEST(SafetensorsMalformed, NumelOverflow)
{
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})", 0,
        "tensor 'x' has shape [4294967296, 4294967296, 16] whose size in bytes overflows 64 bits");
    // numel fits in int64 but numel * 8 bytes does not fit in uint64.
    expectHeaderError(R"({"x":{"dtype":"I64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0, "overflows");
    // A zero dimension makes the others harmless.
    Expected<SafetensorsFile> zero = SafetensorsFile::fromBuffer(
        rawFile(R"({"x":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}})", 0), "zero");
    EXPECT_TRUE(zero) << zero.error().message;
}

TEST(SafetensorsMalformed, Offsets)
{
    EXPECT_EQ(parseError(rawFile(R"({"decoder.x":{"dtype":"F32","shape":[3,2],"data_offsets":[10,20]}})", 64)),
        "bad.safetensors: tensor 'decoder.x' has data_offsets [10, 20] but shape [3, 2] of F32 needs 24 bytes");
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8,
        "tensor 'x' has data_offsets [8, 0] that end before they begin");
    expectHeaderError(
        R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8, "not a pair of non-negative integers");
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", 8, "not a pair");
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[2]}})", 8, "tensor 'x' has no data_offsets");
    expectHeaderError(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,18446744073709551616]}})",
        8, "not a pair");
    expectHeaderError(R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[18446744073709551607,18446744073709551615]}})",
        8, "beyond the end of the 8-byte data section");
}

TEST(SafetensorsMalformed, OverlappingRanges)
{
    expectHeaderError(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},
                          "b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
        24, "tensors 'a' [0, 16] and 'b' [8, 24] have overlapping data_offsets");
    // Contained in an earlier, longer range.
    expectHeaderError(R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},
                          "b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},
                          "c":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}})",
        32, "overlapping");
    // Empty tensors overlap nothing; touching ranges are fine.
    Expected<SafetensorsFile> fine
        = SafetensorsFile::fromBuffer(rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                    "b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},
                    "c":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                                          16),
            "fine");
    EXPECT_TRUE(fine) << fine.error().message;
}

TEST(SafetensorsMalformed, MissingFileAndFolder)
{
    const fs::path dir = test::freshOutDir("safetensors_missing");
    Expected<SafetensorsFile> missing = SafetensorsFile::open(dir / "nope.safetensors");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_EQ(missing.error().message, (dir / "nope.safetensors").string() + ": does not exist");
    Expected<SafetensorsFile> folder = SafetensorsFile::open(dir);
    ASSERT_FALSE(folder);
    EXPECT_NE(folder.error().message.find("is a folder, not a file"), std::string::npos);
}

// --- checkpoints --------------------------------------------------------------------------------------

class SafetensorsCheckpointTest : public ::testing::Test {
protected:
    void SetUp() override { m_dir = test::freshOutDir(std::string("checkpoint_") + testName()); }

    static std::string testName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

    void writeShard(const std::string& file, const std::vector<std::string>& names)
    {
        std::vector<TensorView> views;
        for (const std::string& name : names) views.push_back({ name, DType::F32, { 2 }, bytesOf(m_values) });
        ASSERT_TRUE(writeSafetensors(m_dir / file, views));
    }

    void writeIndex(const nlohmann::json& weightMap)
    {
        const nlohmann::json index = { { "metadata", { { "total_size", 48 } } }, { "weight_map", weightMap } };
        ASSERT_TRUE(writeFileAtomic(m_dir / "model.safetensors.index.json", index.dump(2)));
    }

    std::string openError()
    {
        Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(m_dir);
        return checkpoint ? "(no error)" : checkpoint.error().message;
    }

    fs::path m_dir;
    std::vector<float> m_values = { 0.5f, -0.5f };
};

TEST_F(SafetensorsCheckpointTest, SingleFileInFolder)
{
    writeShard("model.safetensors", { "b", "a" });
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(m_dir);
    ASSERT_TRUE(checkpoint) << checkpoint.error().message;
    EXPECT_EQ(checkpoint->names(), (std::vector<std::string> { "a", "b" }));
    EXPECT_EQ(checkpoint->description(), (m_dir / "model.safetensors").string());
    ASSERT_TRUE(checkpoint->contains("a"));
    EXPECT_FALSE(checkpoint->contains("c"));
    EXPECT_EQ(checkpoint->find("c").file, nullptr);
    EXPECT_EQ(std::memcmp(checkpoint->find("a").data().data(), m_values.data(), 8), 0);
    // The file itself opens the same way.
    EXPECT_TRUE(SafetensorsCheckpoint::open(m_dir / "model.safetensors"));
}

TEST_F(SafetensorsCheckpointTest, ShardedThroughIndex)
{
    writeShard("model-00001-of-00002.safetensors", { "a", "b" });
    writeShard("model-00002-of-00002.safetensors", { "c" });
    writeIndex({ { "a", "model-00001-of-00002.safetensors" }, { "b", "model-00001-of-00002.safetensors" },
        { "c", "model-00002-of-00002.safetensors" } });
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(m_dir);
    ASSERT_TRUE(checkpoint) << checkpoint.error().message;
    EXPECT_EQ(checkpoint->files().size(), 2u); // each shard opened once
    EXPECT_EQ(checkpoint->names(), (std::vector<std::string> { "a", "b", "c" }));
    const SafetensorsCheckpoint::Entry c = checkpoint->find("c");
    ASSERT_NE(c.file, nullptr);
    EXPECT_NE(c.file->name().find("model-00002-of-00002"), std::string::npos);
    EXPECT_EQ(c.info->shape, std::vector<int64_t> { 2 });
    EXPECT_EQ(std::memcmp(c.data().data(), m_values.data(), 8), 0);
    // Moving the checkpoint keeps entries valid.
    SafetensorsCheckpoint moved = std::move(*checkpoint);
    EXPECT_EQ(moved.find("a").info->name, "a");
}

TEST_F(SafetensorsCheckpointTest, MissingShard)
{
    writeShard("model-00001-of-00002.safetensors", { "a" });
    writeIndex({ { "a", "model-00001-of-00002.safetensors" }, { "c", "model-00002-of-00002.safetensors" } });
    const std::string message = openError();
    EXPECT_EQ(message.rfind((m_dir / "model.safetensors.index.json").string() + ": ", 0), 0u) << message;
    EXPECT_NE(message.find("lists shard 'model-00002-of-00002.safetensors' (for tensor 'c'), which does not exist"),
        std::string::npos)
        << message;
}

TEST_F(SafetensorsCheckpointTest, TensorNotInItsShard)
{
    writeShard("model-00001-of-00002.safetensors", { "a" });
    writeShard("model-00002-of-00002.safetensors", { "c" });
    writeIndex({ { "a", "model-00001-of-00002.safetensors" }, { "b", "model-00002-of-00002.safetensors" } });
    EXPECT_NE(openError().find(
                  "puts tensor 'b' in shard 'model-00002-of-00002.safetensors', but that shard does not hold it"),
        std::string::npos)
        << openError();
}

TEST_F(SafetensorsCheckpointTest, ShardNamesMustStayInTheFolder)
{
    writeShard("model.safetensors", { "a" });
    for (const std::string shard : { "../model.safetensors", "/etc/passwd", "sub/model.safetensors", "..", "" }) {
        writeIndex({ { "a", shard } });
        EXPECT_NE(openError().find("which is not a plain file name in the same folder"), std::string::npos)
            << shard << ": " << openError();
    }
    writeIndex({ { "a", 3 } });
    EXPECT_NE(openError().find("maps tensor 'a' to a non-string shard"), std::string::npos);
    ASSERT_TRUE(writeFileAtomic(m_dir / "model.safetensors.index.json", std::string_view("{\"weight_map\": [")));
    EXPECT_NE(openError().find("is not valid JSON"), std::string::npos);
    ASSERT_TRUE(writeFileAtomic(m_dir / "model.safetensors.index.json", std::string_view("{\"weight_map\": 1e999}")));
    EXPECT_NE(openError().find("is not valid JSON"), std::string::npos);
    ASSERT_TRUE(writeFileAtomic(m_dir / "model.safetensors.index.json", std::string_view("{\"metadata\": {}}")));
    EXPECT_NE(openError().find("has no \"weight_map\" object"), std::string::npos);
}

TEST_F(SafetensorsCheckpointTest, BadShardIsNamed)
{
    writeBytes(m_dir / "shard.safetensors", rawFile("[]", 0));
    writeIndex({ { "a", "shard.safetensors" } });
    EXPECT_EQ(
        openError(), (m_dir / "shard.safetensors").string() + ": has a header that is a JSON array, not an object");
}

TEST_F(SafetensorsCheckpointTest, PickleOnlyFolderIsRefused)
{
    writeBytes(m_dir / "pytorch_model.bin", std::vector<std::byte>(16, std::byte { 0x80 }));
    ASSERT_TRUE(writeFileAtomic(m_dir / "config.json", std::string_view("{}")));
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(m_dir);
    ASSERT_FALSE(checkpoint);
    EXPECT_EQ(checkpoint.error().code, ErrorCode::Unsupported);
    EXPECT_EQ(checkpoint.error().message,
        m_dir.string()
            + ": holds only PyTorch pickle checkpoints (pytorch_model.bin); Tastemaker never unpickles "
              "files. Convert it to safetensors (e.g. with Hugging Face's "
              "`save_pretrained(..., safe_serialization=True)`)");
    Expected<SafetensorsCheckpoint> direct = SafetensorsCheckpoint::open(m_dir / "pytorch_model.bin");
    ASSERT_FALSE(direct);
    EXPECT_NE(
        direct.error().message.find("is a PyTorch pickle checkpoint; Tastemaker never unpickles"), std::string::npos);
}

TEST_F(SafetensorsCheckpointTest, FolderWithoutCheckpoint)
{
    const std::string empty = openError();
    EXPECT_NE(empty.find("holds neither model.safetensors nor model.safetensors.index.json"), std::string::npos)
        << empty;
    writeShard("other.safetensors", { "a" });
    EXPECT_NE(openError().find("(it has other.safetensors)"), std::string::npos) << openError();
    Expected<SafetensorsCheckpoint> missing = SafetensorsCheckpoint::open(m_dir / "nothing-here");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

// --- the Hugging Face fixture -------------------------------------------------------------------------

TEST(SafetensorsFixture, MusicgenTinyOpens)
{
    const fs::path folder = test::dataDir() / "musicgen-tiny-public";
    if (!fs::exists(folder / "model.safetensors")) GTEST_SKIP() << "fixture missing: " << folder;
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(folder);
    ASSERT_TRUE(checkpoint) << checkpoint.error().message;
    ASSERT_EQ(checkpoint->files().size(), 1u);
    EXPECT_EQ(checkpoint->files()[0].metadata().at("format"), "pt");
    EXPECT_EQ(checkpoint->names().size(), 180u);

    const std::map<std::string, std::vector<int64_t>> known = {
        { "text_encoder.shared.weight", { 384, 32 } },
        { "decoder.model.decoder.embed_positions.weights", { 2048, 64 } },
        { "decoder.model.decoder.embed_tokens.0.weight", { 65, 64 } },
        { "audio_encoder.quantizer.layers.0.codebook.embed", { 64, 16 } },
        { "audio_encoder.decoder.layers.1.lstm.weight_hh_l0", { 256, 64 } },
        { "enc_to_dec_proj.weight", { 64, 32 } },
    };
    for (const auto& [name, shape] : known) {
        const SafetensorsCheckpoint::Entry entry = checkpoint->find(name);
        ASSERT_NE(entry.file, nullptr) << name;
        EXPECT_EQ(entry.info->dtype, DType::F32) << name;
        EXPECT_EQ(entry.info->shape, shape) << name;
    }
    for (const std::string& name : checkpoint->names()) {
        const SafetensorsCheckpoint::Entry entry = checkpoint->find(name);
        EXPECT_EQ(entry.data().size(), static_cast<size_t>(entry.info->numel()) * 4) << name;
    }

    Expected<SafetensorsFile> tokenizerCase = SafetensorsFile::open(folder / "cases/tokenizer.safetensors");
    ASSERT_TRUE(tokenizerCase) << tokenizerCase.error().message;
    EXPECT_EQ(tokenizerCase->find("input_ids")->dtype, DType::I64);
    EXPECT_EQ(tokenizerCase->find("input_ids")->shape, (std::vector<int64_t> { 4, 26 }));
    EXPECT_EQ(tokenizerCase->metadata().at("case"), "tokenizer");
}

} // namespace
} // namespace tmk
