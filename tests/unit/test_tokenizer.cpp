// T5Tokenizer against the musicgen-tiny-public fixtures (Hugging Face's slow T5Tokenizer): every id exact.
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "tastemaker/tensorio.h"
#include "testsupport.h"
#include "text/tokenizer.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int64_t>;

fs::path fixtureDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

nlohmann::json caseParams(const std::string& name)
{
    std::ifstream in(fixtureDir() / "fixtures.json");
    const nlohmann::json fixtures = nlohmann::json::parse(in);
    for (const nlohmann::json& c : fixtures.at("cases"))
        if (c.at("name") == name) return c.at("params");
    throw std::runtime_error("fixtures.json has no case " + name);
}

const nlohmann::json& tokenizerCase()
{
    static const nlohmann::json params = caseParams("tokenizer");
    return params;
}

const T5Tokenizer& tokenizer()
{
    static const T5Tokenizer loaded = [] {
        Expected<T5Tokenizer> t = T5Tokenizer::load(fixtureDir() / "spiece.model");
        if (!t) throw std::runtime_error(t.error().message);
        return std::move(*t);
    }();
    return loaded;
}

// An int64 tensor of a fixture case file, as a flat vector, with its shape.
Ids readIds(const fs::path& file, const std::string& name, std::vector<int64_t>* shape)
{
    Expected<SafetensorsFile> st = SafetensorsFile::open(file);
    if (!st) throw std::runtime_error(st.error().message);
    const TensorInfo* info = st->find(name);
    if (!info || info->dtype != DType::I64) throw std::runtime_error("no int64 tensor " + name);
    *shape = info->shape;
    Ids values(static_cast<size_t>(info->numel()));
    std::memcpy(values.data(), st->data(*info).data(), values.size() * sizeof(int64_t));
    return values;
}

void writeBytes(const fs::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

TEST(Tokenizer, SizesMatchTheFixture)
{
    EXPECT_EQ(tokenizer().pieceCount(), tokenizerCase().at("sp_piece_count").get<int64_t>());
    EXPECT_EQ(tokenizer().vocabSize(), tokenizerCase().at("vocab_size_incl_extra_ids").get<int64_t>());
    EXPECT_EQ(tokenizer().extraId(0), 355);
    EXPECT_EQ(tokenizer().extraId(99), 256);
}

TEST(Tokenizer, PromptsMatchHuggingFaceExactly)
{
    const nlohmann::json& prompts = tokenizerCase().at("per_prompt");
    ASSERT_EQ(prompts.size(), 4u);
    for (const nlohmann::json& prompt : prompts) {
        const std::string text = prompt.at("text");
        EXPECT_EQ(tokenizer().encode(text), prompt.at("input_ids").get<Ids>()) << text;
    }
}

TEST(Tokenizer, ExtraTextsMatchHuggingFaceExactly)
{
    const nlohmann::json& extras = tokenizerCase().at("extra_unbatched_texts");
    ASSERT_GE(extras.size(), 4u);
    for (const nlohmann::json& extra : extras) {
        const std::string text = extra.at("text");
        EXPECT_EQ(tokenizer().encode(text), extra.at("input_ids").get<Ids>()) << text;
    }
}

TEST(Tokenizer, BatchMatchesTheFixtureTensors)
{
    std::vector<std::string> texts = tokenizerCase().at("prompts").get<std::vector<std::string>>();
    const TokenBatch batch = tokenizer().encodeBatch(texts);
    std::vector<int64_t> idsShape, maskShape;
    const fs::path file = fixtureDir() / "cases" / "tokenizer.safetensors";
    const Ids ids = readIds(file, "input_ids", &idsShape);
    const Ids mask = readIds(file, "attention_mask", &maskShape);
    ASSERT_EQ(idsShape, (std::vector<int64_t> { 4, 26 }));
    ASSERT_EQ(maskShape, idsShape);
    EXPECT_EQ(batch.batch, 4);
    EXPECT_EQ(batch.length, 26);
    EXPECT_EQ(batch.ids, ids);
    EXPECT_EQ(batch.mask, mask);
}

TEST(Tokenizer, LongPromptMatchesTheFixtureTensors)
{
    const nlohmann::json params = caseParams("t5_encoder_long");
    const TokenBatch batch = tokenizer().encodeBatch(params.at("texts").get<std::vector<std::string>>());
    std::vector<int64_t> idsShape, maskShape;
    const fs::path file = fixtureDir() / "cases" / "t5_encoder_long.safetensors";
    EXPECT_EQ(batch.ids, readIds(file, "input_ids", &idsShape));
    EXPECT_EQ(batch.mask, readIds(file, "attention_mask", &maskShape));
    EXPECT_EQ(idsShape, (std::vector<int64_t> { batch.batch, batch.length }));
}

TEST(Tokenizer, BatchPadsOnTheRight)
{
    const TokenBatch batch = tokenizer().encodeBatch({ "lofi", "", "lofi hip hop with soft piano" });
    const Ids longest = tokenizer().encode("lofi hip hop with soft piano");
    const Ids shortest = tokenizer().encode("lofi");
    ASSERT_EQ(batch.batch, 3);
    ASSERT_EQ(batch.length, static_cast<int64_t>(longest.size()));
    ASSERT_EQ(batch.ids.size(), static_cast<size_t>(3 * batch.length));
    ASSERT_EQ(batch.mask.size(), batch.ids.size());
    for (int64_t s = 0; s < batch.length; ++s) {
        const bool inShort = s < static_cast<int64_t>(shortest.size());
        EXPECT_EQ(batch.ids[s], inShort ? shortest[s] : 0);
        EXPECT_EQ(batch.mask[s], inShort ? 1 : 0);
        EXPECT_EQ(batch.ids[batch.length + s], s == 0 ? 1 : 0);
        EXPECT_EQ(batch.mask[batch.length + s], s == 0 ? 1 : 0);
        EXPECT_EQ(batch.ids[2 * batch.length + s], longest[s]);
        EXPECT_EQ(batch.mask[2 * batch.length + s], 1);
    }
    const TokenBatch empty = tokenizer().encodeBatch({});
    EXPECT_EQ(empty.batch, 0);
    EXPECT_EQ(empty.length, 0);
    EXPECT_TRUE(empty.ids.empty());
}

TEST(Tokenizer, EmptyAndWhitespaceGiveOnlyEos)
{
    EXPECT_EQ(tokenizer().encode(""), Ids { 1 });
    EXPECT_EQ(tokenizer().encode(" "), Ids { 1 });
    EXPECT_EQ(tokenizer().encode(" \t\n  \r "), Ids { 1 });
    EXPECT_EQ(tokenizer().encode("\xE3\x80\x80"), Ids { 1 }); // U+3000 ideographic space
}

TEST(Tokenizer, ExtraIdTokensMapToReversedIdsAndStripWhitespace)
{
    const T5Tokenizer& t = tokenizer();
    EXPECT_EQ(t.encode("<extra_id_0>"), (Ids { 355, 1 }));
    EXPECT_EQ(t.encode("<extra_id_99>"), (Ids { 256, 1 }));
    EXPECT_EQ(t.encode("<extra_id_0><extra_id_1>"), (Ids { 355, 354, 1 }));
    // Whitespace beside <extra_id_i> is stripped, so both sides look the same to sentencepiece.
    EXPECT_EQ(t.encode("jazz   <extra_id_3>\t piano"), t.encode("jazz<extra_id_3>piano"));
    Ids expected = t.encode("jazz");
    expected.back() = t.extraId(3); // replaces the eos
    const Ids piano = t.encode("piano");
    expected.insert(expected.end(), piano.begin(), piano.end());
    EXPECT_EQ(t.encode("jazz <extra_id_3> piano"), expected);
    // Not special: out of range, leading zeros, unterminated.
    for (const std::string text : { "<extra_id_100>", "<extra_id_05>", "<extra_id_1", "<extra_id_>" }) {
        const Ids ids = t.encode(text);
        for (int64_t id : ids) EXPECT_LT(id, t.pieceCount()) << text;
    }
}

TEST(Tokenizer, LiteralEosPadUnkAreSplitOut)
{
    const T5Tokenizer& t = tokenizer();
    EXPECT_EQ(t.encode("</s>"), Ids { 1 }); // no second eos
    EXPECT_EQ(t.encode("<pad>"), (Ids { 0, 1 }));
    EXPECT_EQ(t.encode("<unk>"), (Ids { 2, 1 }));
    Ids jazz = t.encode("jazz");
    EXPECT_EQ(t.encode("jazz</s>"), jazz);
    EXPECT_EQ(t.encode("jazz </s>"), jazz);
    // Each chunk gets its own dummy prefix: "a</s>b" is "a" + eos + "b" + eos.
    Ids twice = jazz;
    twice.insert(twice.end(), jazz.begin(), jazz.end());
    EXPECT_EQ(t.encode("jazz</s>jazz"), twice);
    EXPECT_EQ(t.encode("</s></s>"), (Ids { 1, 1 }));
}

TEST(Tokenizer, CopiesShareTheModelAcrossThreads)
{
    const T5Tokenizer copy = tokenizer();
    const std::string text = tokenizerCase().at("per_prompt")[3].at("text");
    const Ids expected = tokenizer().encode(text);
    std::vector<std::thread> threads;
    std::vector<Ids> results(4);
    for (size_t i = 0; i < results.size(); ++i)
        threads.emplace_back([&, i] { results[i] = (i % 2 ? copy : tokenizer()).encode(text); });
    for (std::thread& thread : threads) thread.join();
    for (const Ids& result : results) EXPECT_EQ(result, expected);
}

TEST(Tokenizer, MissingFileIsAnErrorNamingIt)
{
    const fs::path missing = test::freshOutDir("tokenizer_missing") / "nope" / "spiece.model";
    Expected<T5Tokenizer> t = T5Tokenizer::load(missing);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, ErrorCode::NotFound);
    EXPECT_NE(t.error().message.find(missing.string()), std::string::npos) << t.error().message;
}

TEST(Tokenizer, GarbageFilesAreErrorsNamingThem)
{
    const fs::path dir = test::freshOutDir("tokenizer_garbage");
    const std::vector<std::pair<std::string, std::string>> files = {
        { "garbage.model", std::string("\xff\xfe this is not a protobuf \x01\x02\x03", 30) },
        { "empty.model", "" },
        { "text.model", "{\"model\": \"not sentencepiece\"}" },
    };
    for (const auto& [name, bytes] : files) {
        writeBytes(dir / name, bytes);
        Expected<T5Tokenizer> t = T5Tokenizer::load(dir / name);
        ASSERT_FALSE(t) << name;
        EXPECT_NE(t.error().message.find((dir / name).string()), std::string::npos) << t.error().message;
    }
    Expected<T5Tokenizer> folder = T5Tokenizer::load(dir);
    ASSERT_FALSE(folder);
    EXPECT_NE(folder.error().message.find(dir.string()), std::string::npos) << folder.error().message;
}

} // namespace
} // namespace tmk
