// core: Expected, atomic writes (including a simulated full disk), JSON helpers, the log sink, SHA-256.
#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>

#include "core/json.h"
#include "core/sha256.h"
#include "core/test_hooks.h"
#include "tastemaker/cancel.h"
#include "tastemaker/fileio.h"
#include "tastemaker/log.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace tmk;

namespace {
Expected<int> half(int x)
{
    if (x % 2) return Error { ErrorCode::InvalidArgument, std::to_string(x) + " is odd" };
    return x / 2;
}
Expected<int> quarter(int x)
{
    Expected<int> h = half(x);
    TMK_TRY(h);
    return half(*h);
}
size_t filesIn(const fs::path& dir)
{
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}
} // namespace

TEST(Expected, CarriesValueOrError)
{
    EXPECT_EQ(*quarter(8), 2);
    Expected<int> bad = quarter(6);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(bad.error().message, "3 is odd");
}

TEST(FileIo, AtomicWriteReplacesContentAndLeavesNoTemporaryFile)
{
    fs::path dir = test::freshOutDir("core_atomic");
    fs::path file = dir / "clip.json";
    ASSERT_TRUE(writeFileAtomic(file, std::string_view("first")));
    ASSERT_TRUE(writeFileAtomic(file, std::string_view("second")));
    EXPECT_EQ(*readFileText(file), "second");
    EXPECT_EQ(filesIn(dir), 1u);
}

TEST(FileIo, SimulatedFullDiskKeepsTheOldFile)
{
    fs::path dir = test::freshOutDir("core_full_disk");
    fs::path file = dir / "take.wav";
    ASSERT_TRUE(writeFileAtomic(file, std::string_view("precious original")));
    setSimulatedWriteFailureAfterBytes(4);
    Expected<void> result = writeFileAtomic(file, std::string(1000, 'x'));
    setSimulatedWriteFailureAfterBytes(-1);
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("take.wav"), std::string::npos);
    EXPECT_NE(result.error().message.find("No space left"), std::string::npos);
    EXPECT_EQ(*readFileText(file), "precious original");
    EXPECT_EQ(filesIn(dir), 1u) << "the temporary file must be removed";
}

TEST(FileIo, BadFolderIsAClearError)
{
    Expected<void> result = writeFileAtomic("/nonexistent-folder-tastemaker/x.txt", std::string_view("x"));
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("does not exist"), std::string::npos);
    Expected<std::string> missing = readFileText("/nonexistent-folder-tastemaker/x.txt");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST(Json, ErrorsNameTheFileAndKey)
{
    fs::path dir = test::freshOutDir("core_json");
    ASSERT_TRUE(writeFileAtomic(dir / "bad.json", std::string_view("{\"a\": 1,")));
    Expected<nlohmann::json> bad = readJsonFile(dir / "bad.json");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("bad.json"), std::string::npos);
    EXPECT_NE(bad.error().message.find("not valid JSON"), std::string::npos);

    nlohmann::json object = { { "rate", "fast" }, { "n", 3 } };
    EXPECT_EQ(*jsonField<int>(object, "n", "x.json"), 3);
    Expected<int> wrongType = jsonField<int>(object, "rate", "x.json");
    ASSERT_FALSE(wrongType);
    EXPECT_NE(wrongType.error().message.find("\"rate\""), std::string::npos);
    Expected<int> missing = jsonField<int>(object, "other", "x.json");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("x.json"), std::string::npos);
    EXPECT_EQ(*jsonFieldOr<int>(object, "other", 7, "x.json"), 7);
}

TEST(Log, SinkReceivesMessagesAndCanBeRemoved)
{
    std::vector<std::string> seen;
    setLogSink([&](LogLevel level, std::string_view message) {
        seen.push_back(std::string(logLevelName(level)) + ":" + std::string(message));
    });
    logMessage(LogLevel::Warning, "careful");
    setLogSink(nullptr);
    logMessage(LogLevel::Error, "dropped");
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], "warning:careful");
}

TEST(Cancel, TokenIsSharedAcrossThreads)
{
    CancelToken token;
    EXPECT_FALSE(token.isCancelled());
    std::thread([&] { token.requestCancel(); }).join();
    EXPECT_TRUE(token.isCancelled());
    token.reset();
    EXPECT_FALSE(token.isCancelled());
}

namespace {

std::string sha256Hex(const std::string& text, size_t chunk)
{
    Sha256 hash;
    for (size_t at = 0; at < text.size(); at += chunk) hash.update(text.data() + at, std::min(chunk, text.size() - at));
    return hash.hexDigest();
}

} // namespace

TEST(Sha256, NistVectorsInAnyChunking)
{
    // FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
    const std::string twoBlocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    for (size_t chunk : { size_t(1), size_t(3), size_t(64), size_t(1000) }) {
        EXPECT_EQ(sha256Hex("", chunk), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        EXPECT_EQ(sha256Hex("abc", chunk), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        EXPECT_EQ(sha256Hex(twoBlocks, chunk), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
    EXPECT_EQ(
        sha256Hex(std::string(1000000, 'a'), 4096), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
