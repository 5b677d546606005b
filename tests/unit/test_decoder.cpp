// MusicGen decoder against Hugging Face fixtures (musicgen-tiny-public, case decoder_logits): encoder
// projection, hidden state and logits with teacher forcing; the KV cache path; the parameter table;
// load errors naming the tensor.
#include <array>
#include <cstring>
#include <gtest/gtest.h>
#include <map>
#include <random>

#include <ATen/ATen.h>

#include "fixture_tensor.h"
#include "lm/decoder.h"
#include "lm/delay_pattern.h"
#include "lm/gemv.h"
#include "lm/step_pool.h"
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

void expectClose(
    const at::Tensor& actual, const at::Tensor& expected, double atol, double rtol, const std::string& what)
{
    ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
    at::Tensor a = actual.to(at::kCPU, at::kFloat), e = expected.to(at::kFloat);
    const double maxDiff = (a - e).abs().max().item<double>();
    EXPECT_TRUE(at::allclose(a, e, rtol, atol)) << what << ": max |diff| " << maxDiff;
}

// ids [B*K, L] decoded one position a step through a fresh KV cache: the logits [B*K, L, V].
at::Tensor decodeStepByStep(
    const MusicgenDecoder& decoder, const at::Tensor& encoderStates, const at::Tensor& mask, const at::Tensor& ids)
{
    auto state = decoder.newState(encoderStates, mask, ids.size(1));
    EXPECT_TRUE(state.ok()) << state.error().message;
    std::vector<at::Tensor> steps;
    for (int64_t t = 0; t < ids.size(1); ++t) steps.push_back(decoder.forward(ids.narrow(1, t, 1), *state));
    return at::cat(steps, 1);
}

class DecoderTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        auto config = MusicgenConfig::load(modelDir());
        ASSERT_TRUE(config.ok()) << config.error().message;
        s_config = new MusicgenConfig(*config);
        auto store = WeightStore::open(modelDir());
        ASSERT_TRUE(store.ok()) << store.error().message;
        auto decoder = MusicgenDecoder::load(*store, *config, at::TensorOptions().dtype(at::kFloat));
        ASSERT_TRUE(decoder.ok()) << decoder.error().message;
        s_decoder = new MusicgenDecoder(std::move(*decoder));
    }
    static void TearDownTestSuite()
    {
        delete s_decoder;
        delete s_config;
    }

    // Projected encoder states of the decoder_logits case: [2, 16, 64] and the mask [2, 16].
    static std::pair<at::Tensor, at::Tensor> encoder()
    {
        at::Tensor mask = fixture("decoder_logits", "attention_mask");
        return { s_decoder->projectEncoder(fixture("decoder_logits", "encoder_last_hidden_state"), mask), mask };
    }

    static MusicgenConfig* s_config;
    static MusicgenDecoder* s_decoder;
};

MusicgenConfig* DecoderTest::s_config = nullptr;
MusicgenDecoder* DecoderTest::s_decoder = nullptr;

TEST_F(DecoderTest, TeacherForcingMatchesHuggingFace)
{
    c10::InferenceMode guard;
    auto [states, mask] = encoder();
    expectClose(states, fixture("decoder_logits", "encoder_hidden_states_projected"), 2e-4, 1e-4, "projected states");
    // Padded rows are exactly zero.
    EXPECT_TRUE(states.masked_select(mask.eq(0).unsqueeze(-1)).eq(0).all().item<bool>());

    auto state = s_decoder->newState(states, mask, 0);
    ASSERT_TRUE(state.ok()) << state.error().message;
    at::Tensor ids = fixture("decoder_logits", "decoder_input_ids"); // [8, 12]
    at::Tensor hidden = s_decoder->forwardHidden(ids, *state); // [2, 12, 64]
    expectClose(hidden, fixture("decoder_logits", "decoder_last_hidden_state"), 2e-4, 1e-4, "decoder hidden");
    at::Tensor logits = s_decoder->logitsFromHidden(hidden); // [8, 12, 64]
    expectClose(logits, fixture("decoder_logits", "logits"), 2e-4, 1e-4, "logits");
    expectClose(s_decoder->forward(ids, *state), logits, 0, 0, "forward == logitsFromHidden(forwardHidden)");
    EXPECT_EQ(state->position(), 0); // teacher forcing leaves the state alone
}

TEST_F(DecoderTest, KvCacheStepsMatchTeacherForcing)
{
    c10::InferenceMode guard;
    auto [states, mask] = encoder();
    at::Tensor ids = fixture("decoder_logits", "decoder_input_ids"); // [8, 12]
    auto full = s_decoder->newState(states, mask, 0);
    ASSERT_TRUE(full.ok());
    at::Tensor reference = s_decoder->forward(ids, *full); // [8, 12, 64]

    auto cached = s_decoder->newState(states, mask, ids.size(1));
    ASSERT_TRUE(cached.ok());
    EXPECT_EQ(cached->capacity(), 12);
    // A 5-token prefill, then one token per step.
    at::Tensor prefill = s_decoder->forward(ids.narrow(1, 0, 5), *cached);
    expectClose(prefill, reference.narrow(1, 0, 5), 1e-5, 1e-5, "prefill");
    EXPECT_EQ(cached->position(), 5);
    for (int64_t s = 5; s < ids.size(1); ++s) {
        at::Tensor step = s_decoder->forward(ids.narrow(1, s, 1), *cached); // [8, 1, 64]
        expectClose(step, reference.narrow(1, s, 1), 1e-5, 1e-5, "cached step " + std::to_string(s));
    }
    EXPECT_EQ(cached->position(), 12);
    EXPECT_THROW(s_decoder->forward(ids.narrow(1, 0, 1), *cached), c10::Error); // cache full

    cached->rewind(3); // regenerate from position 3
    expectClose(
        s_decoder->forward(ids.narrow(1, 3, 2), *cached), reference.narrow(1, 3, 2), 1e-5, 1e-5, "after rewind");
}

TEST_F(DecoderTest, NullConditionGivesFiniteLogits)
{
    // CFG's unconditional branch: zero states and an all-zero mask must not give NaN (finfo.min, not -inf).
    c10::InferenceMode guard;
    at::Tensor zeros = at::zeros({ 2, 16, 64 });
    auto state = s_decoder->newState(zeros, at::zeros({ 2, 16 }, at::kLong), 0);
    ASSERT_TRUE(state.ok());
    at::Tensor logits = s_decoder->forward(fixture("decoder_logits", "decoder_input_ids"), *state);
    EXPECT_TRUE(logits.isfinite().all().item<bool>());
}

TEST_F(DecoderTest, StoredPositionsEqualTheFormula)
{
    const at::Tensor* stored = s_decoder->parameter("decoder.model.decoder.embed_positions.weights");
    ASSERT_NE(stored, nullptr);
    expectClose(*stored, sinusoidalPositions(2048, 64), 1e-5, 1e-5, "sinusoids");
}

TEST_F(DecoderTest, SpecsListExactlyTheCheckpointsDecoderTensors)
{
    auto checkpoint = SafetensorsCheckpoint::open(modelDir());
    ASSERT_TRUE(checkpoint.ok());
    std::vector<std::string> expected;
    for (const std::string& name : checkpoint->names())
        if (name.rfind("decoder.", 0) == 0 || name.rfind("enc_to_dec_proj.", 0) == 0) expected.push_back(name);
    std::vector<std::string> specNames;
    for (const TensorSpec& spec : decoderTensorSpecs(*s_config)) {
        specNames.push_back(spec.name);
        auto entry = checkpoint->find(spec.name);
        ASSERT_NE(entry.file, nullptr) << spec.name;
        EXPECT_EQ(entry.info->shape, spec.shape) << spec.name;
    }
    std::sort(specNames.begin(), specNames.end());
    EXPECT_EQ(specNames, expected);
    std::vector<std::string> params = s_decoder->parameterNames();
    std::sort(params.begin(), params.end());
    EXPECT_EQ(params, expected);
}

TEST_F(DecoderTest, ParametersAreTheTensorsForwardUses)
{
    c10::InferenceMode guard;
    EXPECT_EQ(s_decoder->parameter("decoder.no_such.weight"), nullptr);
    at::Tensor* head = s_decoder->parameter("decoder.lm_heads.1.weight");
    ASSERT_NE(head, nullptr);
    EXPECT_EQ(head->sizes(), (std::vector<int64_t> { 64, 64 }));
    auto [states, mask] = encoder();
    auto state = s_decoder->newState(states, mask, 0);
    ASSERT_TRUE(state.ok());
    at::Tensor ids = fixture("decoder_logits", "decoder_input_ids");
    at::Tensor before = s_decoder->forward(ids, *state);
    at::Tensor saved = head->clone();
    head->zero_(); // in place, as an adapter merge does
    at::Tensor after = s_decoder->forward(ids, *state).view({ 2, 4, 12, 64 });
    EXPECT_TRUE(after.select(1, 1).eq(0).all().item<bool>());
    EXPECT_TRUE(at::equal(after.select(1, 0), before.view({ 2, 4, 12, 64 }).select(1, 0)));
    head->copy_(saved);
    EXPECT_TRUE(at::equal(s_decoder->forward(ids, *state), before));
}

TEST_F(DecoderTest, RunsUnderAutograd)
{
    // Training runs forward without InferenceMode; gradients reach the weights through linear().
    auto config = MusicgenConfig::load(modelDir());
    auto store = WeightStore::open(modelDir());
    auto decoder = MusicgenDecoder::load(*store, *config, at::TensorOptions());
    ASSERT_TRUE(decoder.ok());
    at::Tensor* fc1 = decoder->parameter("decoder.model.decoder.layers.0.fc1.weight");
    fc1->requires_grad_(true);
    at::Tensor mask = fixture("decoder_logits", "attention_mask");
    auto state = decoder->newState(
        decoder->projectEncoder(fixture("decoder_logits", "encoder_last_hidden_state"), mask), mask, 0);
    at::Tensor loss = decoder->forward(fixture("decoder_logits", "decoder_input_ids"), *state).logsumexp(-1).mean();
    loss.backward();
    ASSERT_TRUE(fc1->grad().defined());
    EXPECT_GT(fc1->grad().abs().sum().item<double>(), 0.0);
}

TEST_F(DecoderTest, BFloat16RunsCloseToFloat32)
{
    auto config = MusicgenConfig::load(modelDir());
    auto store = WeightStore::open(modelDir());
    auto decoder = MusicgenDecoder::load(*store, *config, at::TensorOptions().dtype(at::kBFloat16));
    ASSERT_TRUE(decoder.ok()) << decoder.error().message;
    EXPECT_EQ(decoder->dtype(), at::kBFloat16);
    c10::InferenceMode guard;
    at::Tensor mask = fixture("decoder_logits", "attention_mask");
    auto state = decoder->newState(
        decoder->projectEncoder(fixture("decoder_logits", "encoder_last_hidden_state"), mask), mask, 0);
    at::Tensor logits = decoder->forward(fixture("decoder_logits", "decoder_input_ids"), *state);
    EXPECT_EQ(logits.scalar_type(), at::kBFloat16);
    expectClose(logits, fixture("decoder_logits", "logits"), 0.15, 0.05, "bf16 logits");
}

// How a bf16 model decodes on a CPU without bf16 dot products (MusicgenModel turns autocast on there): step by
// step through the KV cache, float32 activations and cache over the bf16 weights, in the step kernel. It is at
// least as close to the float32 logits as the all-bf16 forward.
TEST_F(DecoderTest, BFloat16WeightsDecodeStepByStepWithFloat32Activations)
{
    auto config = MusicgenConfig::load(modelDir());
    auto store = WeightStore::open(modelDir());
    auto decoder = MusicgenDecoder::load(*store, *config, at::TensorOptions().dtype(at::kBFloat16));
    ASSERT_TRUE(decoder.ok()) << decoder.error().message;
    c10::InferenceMode guard;
    const at::Tensor mask = fixture("decoder_logits", "attention_mask");
    const at::Tensor ids = fixture("decoder_logits", "decoder_input_ids"); // [B*K, L]
    const at::Tensor expected = fixture("decoder_logits", "logits");
    const at::Tensor encoderStates
        = decoder->projectEncoder(fixture("decoder_logits", "encoder_last_hidden_state"), mask);
    auto whole = decoder->newState(encoderStates, mask, 0);
    const at::Tensor allBf16 = decoder->forward(ids, *whole).to(at::kFloat);

    decoder->setAutocast(true);
    const at::Tensor stepped = decodeStepByStep(*decoder, encoderStates, mask, ids);
    EXPECT_EQ(stepped.scalar_type(), at::kFloat);
    expectClose(stepped, expected, 0.15, 0.05, "bf16 weights, float32 activations");
    const double errorMixed = (stepped - expected).abs().max().item<double>();
    const double errorBf16 = (allBf16 - expected).abs().max().item<double>();
    EXPECT_LE(errorMixed, errorBf16) << "float32 activations should not be less accurate than bf16 ones";
}

// Generation shares a step's products out over the step pool (lm/step_pool.h) instead of libtorch's parallel_for;
// each output row is one thread's dot product either way, so the logits are the same bits.
TEST_F(DecoderTest, StepPoolGivesTheSameStepBits)
{
    c10::InferenceMode guard;
    auto [states, mask] = encoder();
    const at::Tensor ids = fixture("decoder_logits", "decoder_input_ids"); // [B*K, L]
    const auto steps = [&](int poolThreads) {
        const steppool::ScopedStepThreads threads(poolThreads);
        return decodeStepByStep(*s_decoder, states, mask, ids);
    };
    const at::Tensor reference = steps(0);
    for (int threads : { 1, 2, 3 }) EXPECT_TRUE(at::equal(steps(threads), reference)) << threads << " threads";
}

TEST_F(DecoderTest, BadStateArgumentsAreErrors)
{
    auto wrongWidth = s_decoder->newState(at::zeros({ 1, 3, 32 }), at::ones({ 1, 3 }), 4);
    ASSERT_FALSE(wrongWidth.ok());
    EXPECT_EQ(wrongWidth.error().code, ErrorCode::InvalidArgument);
    auto wrongMask = s_decoder->newState(at::zeros({ 1, 3, 64 }), at::ones({ 1, 4 }), 4);
    EXPECT_FALSE(wrongMask.ok());
    auto tooLong = s_decoder->newState(at::zeros({ 1, 3, 64 }), at::ones({ 1, 3 }), 4096);
    ASSERT_FALSE(tooLong.ok());
    EXPECT_NE(tooLong.error().message.find("max_position_embeddings"), std::string::npos);
}

// Writes the fixture checkpoint with `edit` applied into a fresh folder and returns the load error.
Error loadEdited(const std::string& name, const std::function<void(std::map<std::string, at::Tensor>&)>& edit)
{
    auto checkpoint = SafetensorsCheckpoint::open(modelDir());
    std::map<std::string, at::Tensor> tensors;
    for (const std::string& tensorName : checkpoint->names())
        tensors[tensorName] = *loadTensor(*checkpoint, tensorName);
    edit(tensors);
    const auto dir = test::freshOutDir(name);
    EXPECT_TRUE(saveTensors(dir / "model.safetensors", tensors).ok());
    auto config = MusicgenConfig::load(modelDir());
    auto store = WeightStore::open(dir);
    auto decoder = MusicgenDecoder::load(*store, *config, at::TensorOptions());
    EXPECT_FALSE(decoder.ok());
    return decoder.ok() ? Error {} : decoder.error();
}

TEST(DecoderLoad, MissingTensorIsNamed)
{
    const std::string victim = "decoder.model.decoder.layers.1.encoder_attn.v_proj.weight";
    Error error = loadEdited("decoder_missing", [&](auto& tensors) { tensors.erase(victim); });
    EXPECT_EQ(error.code, ErrorCode::NotFound);
    EXPECT_NE(error.message.find(victim), std::string::npos) << error.message;
}

TEST(DecoderLoad, WrongShapeIsNamed)
{
    const std::string victim = "decoder.lm_heads.2.weight";
    Error error = loadEdited("decoder_shape", [&](auto& tensors) { tensors[victim] = at::zeros({ 63, 64 }); });
    EXPECT_EQ(error.code, ErrorCode::Mismatch);
    EXPECT_NE(error.message.find(victim), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("[63, 64]"), std::string::npos) << error.message;
}

TEST(DecoderLoad, MissingPositionTableFallsBackToTheFormula)
{
    auto checkpoint = SafetensorsCheckpoint::open(modelDir());
    std::map<std::string, at::Tensor> tensors;
    for (const std::string& name : checkpoint->names())
        if (name != "decoder.model.decoder.embed_positions.weights") tensors[name] = *loadTensor(*checkpoint, name);
    const auto dir = test::freshOutDir("decoder_no_positions");
    ASSERT_TRUE(saveTensors(dir / "model.safetensors", tensors).ok());
    auto config = MusicgenConfig::load(modelDir());
    auto store = WeightStore::open(dir);
    auto decoder = MusicgenDecoder::load(*store, *config, at::TensorOptions());
    ASSERT_TRUE(decoder.ok()) << decoder.error().message;
    expectClose(*decoder->parameter("decoder.model.decoder.embed_positions.weights"), sinusoidalPositions(2048, 64), 0,
        0, "fallback table");
}

TEST(DecoderLoad, UnsupportedDtypeIsAnError)
{
    auto config = MusicgenConfig::load(modelDir());
    auto store = WeightStore::open(modelDir());
    auto decoder = MusicgenDecoder::load(*store, *config, at::TensorOptions().dtype(at::kDouble));
    ASSERT_FALSE(decoder.ok());
    EXPECT_EQ(decoder.error().code, ErrorCode::Unsupported);
}

} // namespace
} // namespace tmk

namespace tmk {
namespace {

uint16_t bfloat16Bits(float value) // round to nearest even, as c10::BFloat16
{
    uint32_t u = 0;
    std::memcpy(&u, &value, 4);
    return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

double fromBfloat16(uint16_t bits)
{
    const uint32_t u = static_cast<uint32_t>(bits) << 16;
    float value = 0.0f;
    std::memcpy(&value, &u, 4);
    return value;
}

// The decoding step's kernels (lm/gemv.h) against a double-precision reference, for 1-4 rows and widths that
// leave every tail: float32, bfloat16 weights with float32 rows (on every instruction set the CPU has), and (where
// the CPU has it) the AVX-512-BF16 dot product of bfloat16 weights and rows. Each result is within 1e-5 of the sum
// of |w x|, and the AVX2 and AVX-512 kernels give the same bits.
TEST(Gemv, KernelsMatchADoubleReference)
{
    std::mt19937 random(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int64_t in : { 1, 31, 64, 100, 1024 })
        for (int rows = 1; rows <= gemv::kMaxRows; ++rows) {
            SCOPED_TRACE("in " + std::to_string(in) + ", rows " + std::to_string(rows));
            const int64_t out = 37;
            std::vector<float> w(static_cast<size_t>(out * in)), x(static_cast<size_t>(rows * in));
            for (float& v : w) v = normal(random);
            for (float& v : x) v = normal(random);
            std::vector<uint16_t> wHalf(w.size()), xHalf(x.size());
            for (size_t i = 0; i < w.size(); ++i) wHalf[i] = bfloat16Bits(w[i]);
            for (size_t i = 0; i < x.size(); ++i) xHalf[i] = bfloat16Bits(x[i]);
            std::vector<float> y(static_cast<size_t>(rows * out));
            std::array<const float*, gemv::kMaxRows> xs {};
            std::array<const uint16_t*, gemv::kMaxRows> xsHalf {};
            std::array<float*, gemv::kMaxRows> ys {};
            for (int r = 0; r < rows; ++r) {
                xs[static_cast<size_t>(r)] = x.data() + r * in;
                xsHalf[static_cast<size_t>(r)] = xHalf.data() + r * in;
                ys[static_cast<size_t>(r)] = y.data() + r * out;
            }
            std::map<std::pair<int, gemv::Isa>, std::vector<float>> results;
            // kind 0: f32 x f32; 1: bf16 weights x f32 rows; 2: bf16 x bf16 (vdpbf16ps)
            for (int kind = 0; kind < 3; ++kind)
                for (gemv::Isa isa : { gemv::Isa::Baseline, gemv::Isa::Avx2, gemv::Isa::Avx512 }) {
                    if (kind == 2 && (!gemv::hasBf16DotProduct() || isa != gemv::Isa::Avx512)) continue;
                    if (isa > gemv::bestIsa()) continue;
                    SCOPED_TRACE("instruction set " + std::to_string(static_cast<int>(isa)));
                    std::fill(y.begin(), y.end(), 0.0f);
                    if (kind == 0) gemv::rowsTimesF32(isa, w.data(), in, rows, xs.data(), ys.data(), 0, out);
                    if (kind == 1) gemv::rowsTimesBf16(isa, wHalf.data(), in, rows, xs.data(), ys.data(), 0, out);
                    if (kind == 2) gemv::rowsTimesBf16Dot(wHalf.data(), in, rows, xsHalf.data(), ys.data(), 0, out);
                    results[{ kind, isa }] = y;
                    for (int r = 0; r < rows; ++r)
                        for (int64_t j = 0; j < out; ++j) {
                            double exact = 0.0, magnitude = 0.0;
                            for (int64_t k = 0; k < in; ++k) {
                                const size_t wi = static_cast<size_t>(j * in + k), xi = static_cast<size_t>(r * in + k);
                                const double a = kind == 0 ? w[wi] : fromBfloat16(wHalf[wi]);
                                const double b = kind == 2 ? fromBfloat16(xHalf[xi]) : x[xi];
                                exact += a * b;
                                magnitude += std::abs(a * b);
                            }
                            EXPECT_NEAR(y[static_cast<size_t>(r * out + j)], exact, 1e-5 * magnitude + 1e-30)
                                << "kind " << kind << ", row " << r << ", output " << j;
                        }
                }
            for (int kind = 0; kind < 2; ++kind) {
                if (gemv::bestIsa() != gemv::Isa::Avx512) continue;
                EXPECT_EQ(0,
                    std::memcmp(results[{ kind, gemv::Isa::Avx2 }].data(), results[{ kind, gemv::Isa::Avx512 }].data(),
                        y.size() * sizeof(float)))
                    << "kind " << kind << ": the AVX2 and AVX-512 kernels differ";
            }
            // The public entry points use the best instruction set.
            std::vector<float> best(y.size());
            std::array<float*, gemv::kMaxRows> bestRows {};
            for (int r = 0; r < rows; ++r) bestRows[static_cast<size_t>(r)] = best.data() + r * out;
            gemv::rowsTimesF32(w.data(), in, rows, xs.data(), bestRows.data(), 0, out);
            EXPECT_EQ(best, (results[{ 0, gemv::bestIsa() }]));
        }
}

} // namespace
} // namespace tmk
