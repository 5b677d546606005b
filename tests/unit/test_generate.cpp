// Generation against Hugging Face's greedy CFG fixture (generate_greedy: codes exact, per-step scores),
// the KV cache against the no-cache reference, the sampler's determinism and filters, callbacks and cancel.
#include <gtest/gtest.h>
#include <limits>

#include <ATen/ATen.h>

#include "fixture_tensor.h"
#include "lm/generate.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"
#include "testsupport.h"

namespace tmk {
namespace {

std::filesystem::path modelDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

at::Tensor fixture(const std::string& caseName, const std::string& name)
{
    return test::fixtureTensor(modelDir() / "cases" / (caseName + ".safetensors"), name);
}

SamplingParams greedyParams()
{
    SamplingParams p;
    p.greedy = true;
    p.guidanceScale = 3.0;
    return p;
}

SamplingParams sampledParams(uint64_t seed)
{
    SamplingParams p;
    p.topK = 50;
    p.seed = seed;
    return p;
}

class GenerateTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        auto config = MusicgenConfig::load(modelDir());
        ASSERT_TRUE(config.ok()) << config.error().message;
        auto store = WeightStore::open(modelDir());
        ASSERT_TRUE(store.ok()) << store.error().message;
        auto decoder = MusicgenDecoder::load(*store, *config, at::TensorOptions());
        ASSERT_TRUE(decoder.ok()) << decoder.error().message;
        s_decoder = new MusicgenDecoder(std::move(*decoder));
        // generate_greedy stores no T5 output, but its prompts are decoder_logits' (checked below).
        s_t5 = new at::Tensor(fixture("decoder_logits", "encoder_last_hidden_state")); // [2, 16, 32]
        s_mask = new at::Tensor(fixture("decoder_logits", "attention_mask")); // [2, 16]
    }
    static void TearDownTestSuite()
    {
        delete s_decoder;
        delete s_t5;
        delete s_mask;
    }

    static Expected<at::Tensor> generate(int64_t frames, const SamplingParams& params,
        const GenerateCallbacks& callbacks = {}, const GenerateTrace& trace = {})
    {
        return generateCodes(*s_decoder, *s_t5, *s_mask, frames, params, callbacks, trace);
    }

    static MusicgenDecoder* s_decoder;
    static at::Tensor* s_t5;
    static at::Tensor* s_mask;
};

MusicgenDecoder* GenerateTest::s_decoder = nullptr;
at::Tensor* GenerateTest::s_t5 = nullptr;
at::Tensor* GenerateTest::s_mask = nullptr;

TEST_F(GenerateTest, FixturesShareThePrompts)
{
    EXPECT_TRUE(at::equal(fixture("generate_greedy", "input_ids"), fixture("decoder_logits", "input_ids")));
    EXPECT_TRUE(at::equal(fixture("generate_greedy", "attention_mask"), fixture("decoder_logits", "attention_mask")));
}

TEST_F(GenerateTest, GreedyMatchesHuggingFace)
{
    std::vector<at::Tensor> scores;
    GenerateTrace trace;
    trace.onScores = [&](int64_t step, const at::Tensor& s) {
        EXPECT_EQ(step, static_cast<int64_t>(scores.size()));
        scores.push_back(s.clone());
    };
    auto codes = generate(17, greedyParams(), {}, trace);
    ASSERT_TRUE(codes.ok()) << codes.error().message;
    EXPECT_TRUE(at::equal(*codes, fixture("generate_greedy", "audio_codes").select(0, 0))) // [2, 4, 17]
        << *codes << fixture("generate_greedy", "audio_codes");
    ASSERT_EQ(scores.size(), 20u);
    at::Tensor actual = at::stack(scores); // [20, 8, 64]
    at::Tensor expected = fixture("generate_greedy", "scores");
    ASSERT_EQ(actual.sizes(), expected.sizes());
    EXPECT_TRUE(at::allclose(actual, expected, 1e-4, 2e-4))
        << "max |diff| " << (actual - expected).abs().max().item<double>();
}

TEST_F(GenerateTest, KvCacheMatchesRecomputation)
{
    for (const SamplingParams& params : { greedyParams(), sampledParams(7) }) {
        std::vector<at::Tensor> cachedScores, referenceScores;
        GenerateTrace cached, reference;
        cached.onScores = [&](int64_t, const at::Tensor& s) { cachedScores.push_back(s.clone()); };
        reference.path = DecodePath::Recompute;
        reference.onScores = [&](int64_t, const at::Tensor& s) { referenceScores.push_back(s.clone()); };
        auto a = generate(12, params, {}, cached);
        auto b = generate(12, params, {}, reference);
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_TRUE(at::equal(*a, *b)) << params.toString();
        ASSERT_EQ(cachedScores.size(), referenceScores.size());
        at::Tensor x = at::stack(cachedScores), y = at::stack(referenceScores);
        EXPECT_TRUE(at::allclose(x, y, 1e-5, 1e-5)) << "max |diff| " << (x - y).abs().max().item<double>();
    }
}

TEST_F(GenerateTest, SameSeedSameCodesOtherSeedOtherCodes)
{
    auto a = generate(10, sampledParams(42));
    auto b = generate(10, sampledParams(42));
    auto c = generate(10, sampledParams(43));
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(a->sizes(), (std::vector<int64_t> { 2, 4, 10 }));
    EXPECT_TRUE(at::equal(*a, *b));
    EXPECT_FALSE(at::equal(*a, *c));
    EXPECT_TRUE(a->ge(0).all().item<bool>() && a->lt(64).all().item<bool>());
}

TEST_F(GenerateTest, TopKOneIsGreedy)
{
    SamplingParams topOne = sampledParams(5);
    topOne.topK = 1;
    topOne.temperature = 0.7;
    auto sampled = generate(17, topOne);
    ASSERT_TRUE(sampled.ok());
    EXPECT_TRUE(at::equal(*sampled, fixture("generate_greedy", "audio_codes").select(0, 0)));
}

TEST_F(GenerateTest, WithoutGuidance)
{
    SamplingParams params = greedyParams();
    params.guidanceScale = 1.0;
    std::vector<at::Tensor> scores;
    GenerateTrace trace;
    trace.onScores = [&](int64_t, const at::Tensor& s) { scores.push_back(s.clone()); };
    auto codes = generate(6, params, {}, trace);
    ASSERT_TRUE(codes.ok()) << codes.error().message;
    EXPECT_EQ(codes->sizes(), (std::vector<int64_t> { 2, 4, 6 }));
    ASSERT_EQ(scores.size(), 9u);
    // The first step's scores are then the conditional logits at position 0.
    auto state = s_decoder->newState(s_decoder->projectEncoder(*s_t5, *s_mask), *s_mask, 0);
    c10::InferenceMode guard;
    at::Tensor logits = s_decoder->forward(at::full({ 8, 1 }, 64, at::kLong), *state).select(1, 0);
    EXPECT_TRUE(at::allclose(scores[0], logits, 1e-5, 1e-5));
}

TEST_F(GenerateTest, FramesArriveInOrderWithTheFinalCodes)
{
    std::vector<int64_t> frameOrder;
    std::vector<std::vector<int64_t>> frameCodes;
    std::vector<int64_t> steps;
    int64_t lastStepAtFrame = -1;
    GenerateCallbacks callbacks;
    callbacks.onStep = [&](int64_t step, int64_t total) {
        EXPECT_EQ(total, 20);
        steps.push_back(step);
    };
    callbacks.onFrame = [&](int64_t frame, const std::vector<int64_t>& codes) {
        frameOrder.push_back(frame);
        frameCodes.push_back(codes);
        // Frame t is final right after step t + K - 1 (1-based step t + K).
        EXPECT_EQ(steps.back(), frame + 4);
        lastStepAtFrame = steps.back();
    };
    auto codes = generate(17, greedyParams(), callbacks);
    ASSERT_TRUE(codes.ok());
    ASSERT_EQ(steps.size(), 20u);
    EXPECT_EQ(steps.front(), 1);
    EXPECT_EQ(lastStepAtFrame, 20);
    ASSERT_EQ(frameOrder.size(), 17u);
    for (int64_t t = 0; t < 17; ++t) {
        EXPECT_EQ(frameOrder[static_cast<size_t>(t)], t);
        ASSERT_EQ(frameCodes[static_cast<size_t>(t)].size(), 8u);
        for (int64_t b = 0; b < 2; ++b)
            for (int64_t k = 0; k < 4; ++k)
                EXPECT_EQ(frameCodes[static_cast<size_t>(t)][static_cast<size_t>(b * 4 + k)],
                    (*codes)[b][k][t].item<int64_t>())
                    << "frame " << t << " b " << b << " k " << k;
    }
}

TEST_F(GenerateTest, CancelStopsTheRun)
{
    CancelToken token;
    int64_t lastStep = 0;
    GenerateCallbacks callbacks;
    callbacks.cancel = &token;
    callbacks.onStep = [&](int64_t step, int64_t) {
        lastStep = step;
        if (step == 3) token.requestCancel();
    };
    auto codes = generate(17, sampledParams(1), callbacks);
    ASSERT_FALSE(codes.ok());
    EXPECT_EQ(codes.error().code, ErrorCode::Cancelled);
    EXPECT_EQ(lastStep, 3);
}

TEST_F(GenerateTest, BadRequestsAreErrors)
{
    auto tooLong = generate(2046, greedyParams()); // 2048 - 4 + 1 = 2045 frames at most
    ASSERT_FALSE(tooLong.ok());
    EXPECT_EQ(tooLong.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(tooLong.error().message.find("2045 frames"), std::string::npos) << tooLong.error().message;
    EXPECT_NE(tooLong.error().message.find("40.9 s"), std::string::npos) << tooLong.error().message;
    EXPECT_EQ(maxGenerationFrames(s_decoder->config()), 2045);

    EXPECT_FALSE(generate(0, greedyParams()).ok());
    SamplingParams cold = sampledParams(1);
    cold.temperature = 0.0;
    EXPECT_EQ(generate(3, cold).error().code, ErrorCode::InvalidArgument);
    auto wrongWidth = generateCodes(*s_decoder, at::zeros({ 1, 4, 64 }), at::ones({ 1, 4 }), 3, greedyParams(), {});
    EXPECT_EQ(wrongWidth.error().code, ErrorCode::InvalidArgument);
    auto wrongMask = generateCodes(*s_decoder, at::zeros({ 1, 4, 32 }), at::ones({ 1, 5 }), 3, greedyParams(), {});
    EXPECT_EQ(wrongMask.error().code, ErrorCode::InvalidArgument);
}

TEST_F(GenerateTest, ExceptionsInCallbacksBecomeErrors)
{
    GenerateCallbacks callbacks;
    callbacks.onStep = [](int64_t, int64_t) { TORCH_CHECK(false, "boom from a callback"); };
    auto codes = generate(3, greedyParams(), callbacks);
    ASSERT_FALSE(codes.ok());
    EXPECT_NE(codes.error().message.find("boom from a callback"), std::string::npos);
}

// A bool tensor from 0/1 flags (at::tensor has no bool overload in libtorch 1.13).
at::Tensor flags(std::initializer_list<int64_t> values)
{
    return at::tensor(std::vector<int64_t>(values)).to(at::kBool);
}

TEST(Sampler, TopKKeepsTheKBest)
{
    at::Tensor scores = at::tensor({ 0.1f, 3.0f, -1.0f, 2.0f, 0.5f }).unsqueeze(0);
    at::Tensor kept = applyTopK(scores, 2);
    EXPECT_TRUE(at::equal(at::isfinite(kept), flags({ 0, 1, 0, 1, 0 }).unsqueeze(0)));
    EXPECT_TRUE(at::equal(applyTopK(scores, 0), scores));
    EXPECT_TRUE(at::equal(applyTopK(scores, 9), scores));
}

TEST(Sampler, TopPKeepsTheNucleus)
{
    // probabilities 0.5, 0.3, 0.15, 0.05
    at::Tensor scores = at::log(at::tensor({ 0.05f, 0.5f, 0.15f, 0.3f })).unsqueeze(0);
    auto keptFor = [&](double p) { return at::isfinite(applyTopP(scores, p)).squeeze(0); };
    EXPECT_TRUE(at::equal(keptFor(0.4), flags({ 0, 1, 0, 0 })));
    EXPECT_TRUE(at::equal(keptFor(0.75), flags({ 0, 1, 0, 1 })));
    EXPECT_TRUE(at::equal(keptFor(0.9), flags({ 0, 1, 1, 1 })));
    EXPECT_TRUE(at::equal(keptFor(0.0), flags({ 1, 1, 1, 1 })));
    EXPECT_TRUE(at::equal(keptFor(0.01), flags({ 0, 1, 0, 0 }))); // at least one token
}

TEST(Sampler, DrawsFollowTheDistributionAndTheSeed)
{
    SamplingParams params;
    params.topK = 0;
    params.seed = 11;
    at::Tensor scores = at::log(at::tensor({ 0.7f, 0.2f, 0.1f, 0.0f })).unsqueeze(0).repeat({ 4000, 1 });
    Sampler sampler(params, at::Device(at::kCPU));
    at::Tensor draws = sampler.sample(scores); // [4000]
    EXPECT_EQ(draws.scalar_type(), at::kLong);
    at::Tensor counts = at::bincount(draws, {}, 4).to(at::kDouble) / 4000.0;
    EXPECT_NEAR(counts[0].item<double>(), 0.7, 0.03);
    EXPECT_NEAR(counts[1].item<double>(), 0.2, 0.03);
    EXPECT_EQ(counts[3].item<double>(), 0.0);
    Sampler again(params, at::Device(at::kCPU));
    EXPECT_TRUE(at::equal(again.sample(scores), draws));
    params.greedy = true;
    Sampler greedy(params, at::Device(at::kCPU));
    EXPECT_TRUE(greedy.sample(scores).eq(0).all().item<bool>());
}

TEST(Sampler, DefaultsComeFromTheCheckpoint)
{
    auto config = MusicgenConfig::load(modelDir());
    ASSERT_TRUE(config.ok());
    SamplingParams p = config->generation.sampling;
    p.seed = 9;
    EXPECT_FALSE(p.greedy); // do_sample = true
    EXPECT_DOUBLE_EQ(p.guidanceScale, 3.0);
    EXPECT_EQ(p.topK, 250);
    EXPECT_EQ(p.seed, 9u);
    EXPECT_TRUE(p.validate().ok());
}

} // namespace
} // namespace tmk
