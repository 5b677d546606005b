// The delay pattern against Hugging Face fixtures (generate_greedy's pattern mask and delayed sequence,
// decoder_logits' teacher-forcing input) and round trips.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "fixture_tensor.h"
#include "lm/delay_pattern.h"
#include "tensorio/torch/torch_tensor.h"
#include "testsupport.h"

namespace tmk {
namespace {

constexpr int64_t kPad = 64;

at::Tensor fixture(const std::string& caseName, const std::string& name)
{
    return test::fixtureTensor(test::dataDir() / "musicgen-tiny-public" / "cases" / (caseName + ".safetensors"), name);
}

TEST(DelayPattern, MaskMatchesHuggingFace)
{
    at::Tensor expected = fixture("generate_greedy", "pattern_mask").reshape({ 8, 21 }); // [B*K, max_length]
    at::Tensor mask = buildDelayPatternMask(2, 4, 21, kPad);
    ASSERT_EQ(mask.sizes(), expected.sizes());
    EXPECT_TRUE(at::equal(mask, expected)) << mask;
}

TEST(DelayPattern, MaskLayout)
{
    // K = 3, max_length 7: row k forced at 0..k and at >= 7 - 3 + 1 + k.
    at::Tensor mask = buildDelayPatternMask(1, 3, 7, 9);
    at::Tensor expected = at::tensor({ 9, -1, -1, -1, -1, 9, 9, //
                                         9, 9, -1, -1, -1, -1, 9, //
                                         9, 9, 9, -1, -1, -1, -1 },
        at::kLong)
                              .reshape({ 3, 7 });
    EXPECT_TRUE(at::equal(mask, expected)) << mask;
}

TEST(DelayPattern, UndoGivesHuggingFacesCodes)
{
    at::Tensor delayed = fixture("generate_greedy", "delayed_sequence").reshape({ 8, 21 });
    auto codes = undoDelayPattern(delayed, 4, kPad);
    ASSERT_TRUE(codes.ok()) << codes.error().message;
    EXPECT_TRUE(at::equal(*codes, fixture("generate_greedy", "audio_codes").select(0, 0))); // [2, 4, 17]
}

TEST(DelayPattern, ApplyKeepsTheFixturesDelayedSequence)
{
    at::Tensor delayed = fixture("generate_greedy", "delayed_sequence").reshape({ 8, 21 });
    at::Tensor mask = buildDelayPatternMask(2, 4, 21, kPad);
    EXPECT_TRUE(at::equal(applyDelayPattern(delayed, mask), delayed));
    // Prefixes too (generation applies it to the growing sequence).
    EXPECT_TRUE(at::equal(applyDelayPattern(delayed.narrow(1, 0, 6), mask), delayed.narrow(1, 0, 6)));
}

TEST(DelayPattern, TeacherForcingLayoutMatchesHuggingFace)
{
    at::Tensor codes = fixture("decoder_logits", "codes"); // [2, 4, 8]
    at::Tensor ids = delayCodesForTeacherForcing(codes, kPad);
    EXPECT_TRUE(at::equal(ids, fixture("decoder_logits", "decoder_input_ids"))); // [8, 12]
    EXPECT_TRUE(at::equal(ids, fixture("decoder_logits", "delayed_input_ids").reshape({ 8, 12 })));
    auto back = undoDelayPattern(ids, 4, kPad);
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(at::equal(*back, codes));
}

TEST(DelayPattern, RoundTripsRandomCodes)
{
    for (int64_t k : { 1, 2, 4, 8 }) {
        at::Tensor codes = at::randint(0, 2048, { 3, k, 11 }, at::kLong);
        at::Tensor ids = delayCodesForTeacherForcing(codes, 2048); // [3k, 11 + k]
        // Generation's layout: max_length = frames + K, the same as teacher forcing's.
        at::Tensor mask = buildDelayPatternMask(3, k, 11 + k, 2048);
        EXPECT_TRUE(at::equal(applyDelayPattern(ids, mask), ids)) << "K=" << k;
        EXPECT_TRUE(mask.eq(-1).equal(ids.ne(2048))) << "K=" << k;
        auto back = undoDelayPattern(ids, k, 2048);
        ASSERT_TRUE(back.ok());
        EXPECT_TRUE(at::equal(*back, codes)) << "K=" << k;
    }
}

TEST(DelayPattern, PositionOfFrame)
{
    at::Tensor codes = at::arange(2 * 4 * 5, at::kLong).reshape({ 2, 4, 5 });
    at::Tensor ids = delayCodesForTeacherForcing(codes, 999);
    for (int64_t k = 0; k < 4; ++k)
        for (int64_t t = 0; t < 5; ++t)
            EXPECT_EQ(ids[4 + k][delayedPosition(t, k)].item<int64_t>(), codes[1][k][t].item<int64_t>());
}

TEST(DelayPattern, UndoRefusesRaggedRows)
{
    at::Tensor ids = at::full({ 4, 6 }, 7, at::kLong);
    ids[2][3] = kPad; // one row with a pad more than the others
    auto codes = undoDelayPattern(ids, 4, kPad);
    ASSERT_FALSE(codes.ok());
    EXPECT_EQ(codes.error().code, ErrorCode::Mismatch);
    auto wrongRows = undoDelayPattern(at::zeros({ 6, 3 }, at::kLong), 4, kPad);
    ASSERT_FALSE(wrongRows.ok());
    EXPECT_EQ(wrongRows.error().code, ErrorCode::InvalidArgument);
}

} // namespace
} // namespace tmk
