// The runtime LoRA of DPO training on the fixture decoder: a fresh adapter (B = 0) and a disabled one give
// the base logits exactly; with trained-like factors the forward equals the merged weight W + scale B A;
// gradients reach A and B only. The sequence log-prob equals a hand loop over the delay pattern's
// positions, pad positions excluded, and the adapter's PEFT file reads back with the same factors.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "adapters/lora_adapter.h"
#include "lm/delay_pattern.h"
#include "lm/gemv.h"
#include "pipeline/model_access.h"
#include "testsupport.h"
#include "training/lora_runtime.h"
#include "training/sequence_logprob.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const MusicgenModel> fixtureModel()
{
    static std::shared_ptr<const MusicgenModel> model = [] {
        auto loaded = MusicgenModel::load(test::dataDir() / "musicgen-tiny-public", ModelOptions {});
        EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
        return *loaded;
    }();
    return model;
}

MusicgenDecoder& decoder()
{
    return writableDecoder(*fixtureModel());
}

PromptStates prompts(const std::vector<std::string>& texts)
{
    const MusicgenModel::Impl& impl = modelParts(*fixtureModel());
    return encodePromptsNoGrad(*impl.tokenizer, *impl.textEncoder, texts, at::kCPU);
}

// Logits [B*K, L, V] for codes [B, K, T] under teacher forcing.
at::Tensor teacherLogits(const PromptStates& p, const at::Tensor& codes)
{
    at::NoGradGuard noGrad;
    at::Tensor ids = delayCodesForTeacherForcing(codes, decoder().config().padTokenId);
    DecoderState state = *decoder().newState(decoder().projectEncoder(p.states, p.mask), p.mask, 0);
    return decoder().forward(ids.narrow(1, 0, ids.size(1) - 1), state);
}

at::Tensor randomCodes(int64_t batch, int64_t frames, uint64_t seed)
{
    at::Generator gen = at::detail::createCPUGenerator(seed);
    return at::randint(
        decoder().config().vocabSize, { batch, decoder().config().numCodebooks, frames }, gen, at::kLong);
}

std::unique_ptr<LoraRuntime> makeLora(const LoraOptions& options, uint64_t seed = 1)
{
    auto lora = LoraRuntime::create(decoder(), options, seed);
    EXPECT_TRUE(lora.ok()) << (lora.ok() ? "" : lora.error().message);
    return std::move(*lora);
}

void randomiseB(LoraRuntime& lora, uint64_t seed)
{
    at::NoGradGuard noGrad;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    for (const LoraRuntime::Module& m : lora.modules()) {
        at::Tensor b = m.factors.b;
        b.copy_(at::randn(b.sizes(), gen) * 0.3);
    }
}

TEST(LoraRuntime, TargetsFollowPeftNamesAndInitialisation)
{
    LoraOptions options; // q, k, v, out of self- and cross-attention, fc1, fc2: 10 per layer
    auto lora = makeLora(options);
    ASSERT_EQ(lora->modules().size(), 10u * 2);
    EXPECT_EQ(lora->modules().front().path, "decoder.model.decoder.layers.0.encoder_attn.k_proj");
    EXPECT_DOUBLE_EQ(lora->scale(), 16.0 / 8.0);
    for (const LoraRuntime::Module& m : lora->modules()) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(m.factors.a.size(1)));
        EXPECT_LE(m.factors.a.abs().max().item<double>(), bound);
        EXPECT_GT(m.factors.a.abs().max().item<double>(), 0.5 * bound);
        EXPECT_EQ(m.factors.b.abs().max().item<double>(), 0.0);
        EXPECT_TRUE(m.factors.a.requires_grad() && m.factors.b.requires_grad());
    }
    options.targets = { "self_attn.v_proj" };
    options.rslora = true;
    lora = makeLora(options);
    EXPECT_EQ(lora->modules().size(), 2u);
    EXPECT_DOUBLE_EQ(lora->scale(), 16.0 / std::sqrt(8.0));
    options.targets = { "nonexistent" };
    auto none = LoraRuntime::create(decoder(), options, 0);
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.error().message.find("nonexistent"), std::string::npos);
}

TEST(LoraRuntime, ZeroBAndDisabledGiveTheBaseExactly)
{
    const PromptStates p = prompts({ "rock, guitar", "ambient" });
    const at::Tensor codes = randomCodes(2, 12, 3);
    const at::Tensor base = teacherLogits(p, codes);
    auto lora = makeLora(LoraOptions {});
    ScopedLoraHook hook(decoder(), lora.get());
    EXPECT_TRUE(at::equal(teacherLogits(p, codes), base)); // B = 0
    randomiseB(*lora, 5);
    EXPECT_FALSE(at::allclose(teacherLogits(p, codes), base, 1e-4, 1e-4));
    lora->setEnabled(false);
    EXPECT_TRUE(at::equal(teacherLogits(p, codes), base));
}

TEST(LoraRuntime, ForwardEqualsTheMergedWeight)
{
    const PromptStates p = prompts({ "jazz, piano" });
    const at::Tensor codes = randomCodes(1, 10, 4);
    LoraOptions options;
    options.targets.push_back("enc_to_dec_proj");
    options.targets.push_back("lm_heads.1");
    auto lora = makeLora(options, 9);
    randomiseB(*lora, 6);
    at::Tensor runtime;
    {
        ScopedLoraHook hook(decoder(), lora.get());
        runtime = teacherLogits(p, codes);
    }
    std::map<std::string, at::Tensor> saved;
    {
        at::NoGradGuard noGrad;
        for (const LoraRuntime::Module& m : lora->modules()) {
            at::Tensor* w = decoder().parameter(m.path + ".weight");
            saved[m.path] = w->clone();
            w->add_(at::matmul(m.factors.b, m.factors.a) * m.factors.scale);
        }
    }
    const at::Tensor merged = teacherLogits(p, codes);
    {
        at::NoGradGuard noGrad;
        for (const auto& [path, w] : saved) decoder().parameter(path + ".weight")->copy_(w);
    }
    EXPECT_TRUE(at::allclose(runtime, merged, 1e-4, 1e-5)) << (runtime - merged).abs().max().item<double>();
    EXPECT_GT((runtime - teacherLogits(p, codes)).abs().max().item<double>(), 1e-3); // the LoRA did something
}

// The hand loop: codebook k's frame t is predicted at delayed position t + k.
double handLogProb(const at::Tensor& logits, const at::Tensor& codes, int64_t item, int64_t frames)
{
    const int64_t k = codes.size(1);
    at::Tensor logProbs = at::log_softmax(logits, -1); // [B*K, L, V]
    double sum = 0;
    for (int64_t c = 0; c < k; ++c)
        for (int64_t t = 0; t < frames; ++t)
            sum += logProbs[item * k + c][t + c][codes[item][c][t].item<int64_t>()].item<double>();
    return sum;
}

TEST(SequenceLogProb, EqualsAHandLoopAndIgnoresPadding)
{
    const int64_t pad = decoder().config().padTokenId;
    const PromptStates p = prompts({ "metal", "folk, acoustic" });
    at::Tensor codes = randomCodes(2, 9, 7);
    at::Tensor padded = codes.clone();
    padded[1].narrow(1, 6, 3).fill_(pad); // item 1 has 6 frames
    const at::Tensor logits = teacherLogits(p, codes);
    at::Tensor logps = sequenceLogProbs(decoder(), p, padded); // [2]
    EXPECT_NEAR(logps[0].item<double>(), handLogProb(logits, codes, 0, 9), 1e-3);
    // Item 1 alone with 6 frames: padding after a sequence changes nothing before it (causal attention).
    const PromptStates p1 = prompts({ "folk, acoustic" });
    const at::Tensor short1 = codes.narrow(0, 1, 1).narrow(2, 0, 6).contiguous();
    const double alone = handLogProb(teacherLogits(p1, short1), short1, 0, 6);
    EXPECT_NEAR(logps[1].item<double>(), alone, 1e-3);
    EXPECT_NEAR(sequenceLogProbs(decoder(), p1, short1)[0].item<double>(), alone, 1e-3);
}

// train --codebook-weights: each codebook's sum is weighted; {1, 0, 0, 0} scores the first codebook alone.
TEST(SequenceLogProb, CodebookWeightsWeighEachCodebooksSum)
{
    const PromptStates p = prompts({ "metal", "folk, acoustic" });
    const at::Tensor codes = randomCodes(2, 7, 5);
    const at::Tensor logProbs = at::log_softmax(teacherLogits(p, codes), -1); // [B*K, L, V]
    const int64_t k = decoder().config().numCodebooks;
    ASSERT_EQ(k, 4);
    auto codebookSum = [&](int64_t item, int64_t c) {
        double sum = 0;
        for (int64_t t = 0; t < 7; ++t)
            sum += logProbs[item * k + c][t + c][codes[item][c][t].item<int64_t>()].item<double>();
        return sum;
    };
    at::NoGradGuard noGrad;
    const at::Tensor first = sequenceLogProbs(decoder(), p, codes, { 1, 0, 0, 0 });
    const at::Tensor weighted = sequenceLogProbs(decoder(), p, codes, { 4, 1, 0.5, 0 });
    const at::Tensor plain = sequenceLogProbs(decoder(), p, codes);
    for (int64_t item = 0; item < 2; ++item) {
        EXPECT_NEAR(first[item].item<double>(), codebookSum(item, 0), 1e-3);
        const double expected = 4 * codebookSum(item, 0) + codebookSum(item, 1) + 0.5 * codebookSum(item, 2);
        EXPECT_NEAR(weighted[item].item<double>(), expected, 1e-3);
        EXPECT_NEAR(sequenceLogProbs(decoder(), p, codes, { 1, 1, 1, 1 })[item].item<double>(),
            plain[item].item<double>(), 1e-4);
    }
    EXPECT_THROW(sequenceLogProbs(decoder(), p, codes, { 1, 1 }), c10::Error); // one weight per codebook
}

// Input dropout (train-lm --input-dropout): the decoder reads `inputCodes`, the targets stay `codes`. The
// log-probs are a hand loop over the corrupted inputs' logits picking the clean codes.
TEST(SequenceLogProb, InputCodesChangeWhatIsReadNotWhatIsScored)
{
    const int64_t pad = decoder().config().padTokenId;
    const PromptStates p = prompts({ "metal", "folk, acoustic" });
    const at::Tensor codes = randomCodes(2, 8, 11);
    at::NoGradGuard noGrad;
    const at::Tensor encoder = decoder().projectEncoder(p.states, p.mask);
    const TokenLogProbs clean = teacherForcedLogProbs(decoder(), encoder, p.mask, codes);
    const TokenLogProbs same = teacherForcedLogProbs(decoder(), encoder, p.mask, codes, codes);
    EXPECT_TRUE(at::equal(clean.logProbs, same.logProbs));
    at::Tensor dropped = codes.clone();
    dropped[0][1][3] = pad;
    dropped[1].narrow(1, 5, 2).fill_(pad);
    const TokenLogProbs corrupted = teacherForcedLogProbs(decoder(), encoder, p.mask, codes, dropped);
    EXPECT_TRUE(at::equal(corrupted.valid, clean.valid)); // the same tokens are scored
    const at::Tensor logits = teacherLogits(p, dropped);
    const int64_t k = decoder().config().numCodebooks;
    for (int64_t item = 0; item < 2; ++item) {
        const at::Tensor rows = corrupted.logProbs.narrow(0, item * k, k);
        EXPECT_NEAR(rows.sum().item<double>(), handLogProb(logits, codes, item, 8), 1e-3);
    }
    // Causal: codebook c's frame t is read at input position t + c + 1 (item 0's first change at 5, item 1's at
    // 6), so positions 0..4 score as before.
    EXPECT_TRUE(at::allclose(corrupted.logProbs.narrow(1, 0, 5), clean.logProbs.narrow(1, 0, 5), 1e-5, 1e-6));
    EXPECT_GT((corrupted.logProbs - clean.logProbs).abs().max().item<double>(), 1e-4);
}

TEST(SequenceLogProb, GradientsReachOnlyTheLora)
{
    auto lora = makeLora(LoraOptions {}, 2);
    ScopedLoraHook hook(decoder(), lora.get());
    const PromptStates p = prompts({ "pop" });
    at::Tensor logps = sequenceLogProbs(decoder(), p, randomCodes(1, 5, 8));
    ASSERT_TRUE(logps.requires_grad());
    logps.sum().backward();
    for (const LoraRuntime::Module& m : lora->modules()) {
        ASSERT_TRUE(m.factors.b.grad().defined()) << m.path;
        EXPECT_GT(m.factors.b.grad().abs().max().item<double>(), 0.0) << m.path; // B gets a gradient at B = 0
    }
    EXPECT_FALSE(decoder().parameter("decoder.model.decoder.layers.0.fc1.weight")->requires_grad());
}

// Activation checkpointing recomputes each layer in the backward pass: the log-probs and every LoRA
// gradient (the first layer's too, whose input needs no gradient) are those of the plain forward.
TEST(SequenceLogProb, CheckpointedLayersGiveThePlainGradients)
{
    auto lora = makeLora(LoraOptions {}, 4);
    randomiseB(*lora, 9); // A gets gradients too
    ScopedLoraHook hook(decoder(), lora.get());
    const PromptStates p = prompts({ "pop", "jazz, piano" });
    const at::Tensor codes = randomCodes(2, 7, 10);
    auto gradients = [&](bool checkpoint) {
        ScopedLayerCheckpointing checkpointing(decoder(), checkpoint);
        for (const at::Tensor& t : lora->parameters()) t.mutable_grad() = at::Tensor();
        at::Tensor logps = sequenceLogProbs(decoder(), p, codes);
        (logps * at::tensor({ 1.0f, -0.5f })).sum().backward();
        std::vector<at::Tensor> out { logps.detach() };
        for (const at::Tensor& t : lora->parameters()) out.push_back(t.grad().clone());
        return out;
    };
    const std::vector<at::Tensor> plain = gradients(false), checkpointed = gradients(true);
    ASSERT_EQ(plain.size(), checkpointed.size());
    for (size_t i = 0; i < plain.size(); ++i) {
        ASSERT_TRUE(checkpointed[i].defined()) << i;
        EXPECT_GT(checkpointed[i].abs().max().item<double>(), 0.0) << i;
        EXPECT_TRUE(at::allclose(plain[i], checkpointed[i], 1e-5, 1e-6))
            << i << ": " << (plain[i] - checkpointed[i]).abs().max().item<double>();
    }
    EXPECT_FALSE(decoder().checkpointLayers()); // the scope restored it
}

// Training a bf16 base autocasts (MusicgenDecoder::setAutocast): the weight products in bf16, the residual
// stream, norms, attention and logits in float32. Its log-probs stay within bf16's rounding of the float32
// model's, and the LoRA gets float32 gradients through checkpointed layers.
TEST(SequenceLogProb, AutocastRunsABfloat16BaseWithFloat32Activations)
{
    ModelOptions options;
    options.dtype = ComputeDType::BF16;
    auto bf16 = MusicgenModel::load(test::dataDir() / "musicgen-tiny-public", options);
    ASSERT_TRUE(bf16.ok()) << bf16.error().message;
    MusicgenDecoder& half = writableDecoder(**bf16);
    // Loaded for inference, it decodes with float32 activations where the CPU has no bf16 dot products.
    EXPECT_EQ(half.autocast(), !gemv::hasBf16DotProduct());
    half.setAutocast(false);
    const PromptStates p = prompts({ "pop", "jazz, piano" });
    const at::Tensor codes = randomCodes(2, 9, 12);
    at::NoGradGuard noGrad;
    const at::Tensor exact = sequenceLogProbs(decoder(), p, codes).to(at::kDouble);
    {
        ScopedAutocast autocast(half, true);
        const at::Tensor ids = delayCodesForTeacherForcing(codes, half.config().padTokenId);
        DecoderState state = *half.newState(half.projectEncoder(p.states, p.mask), p.mask, 0);
        EXPECT_EQ(half.forwardHidden(ids, state).scalar_type(), at::kFloat);
        const at::Tensor mixed = sequenceLogProbs(half, p, codes).to(at::kDouble);
        EXPECT_LT(((mixed - exact).abs() / exact.abs()).max().item<double>(), 2e-3) << mixed << exact;
    }
    EXPECT_FALSE(half.autocast());

    at::AutoGradMode grad(true);
    auto lora = LoraRuntime::create(half, LoraOptions {}, 3);
    ASSERT_TRUE(lora.ok()) << lora.error().message;
    ScopedLoraHook hook(half, lora->get());
    ScopedAutocast autocast(half, true);
    ScopedLayerCheckpointing checkpointing(half, true);
    sequenceLogProbs(half, p, codes).sum().backward();
    for (const LoraRuntime::Module& m : (*lora)->modules()) {
        ASSERT_TRUE(m.factors.b.grad().defined()) << m.path;
        EXPECT_EQ(m.factors.b.grad().scalar_type(), at::kFloat);
        EXPECT_GT(m.factors.b.grad().abs().max().item<double>(), 0.0) << m.path;
    }
}

TEST(LoraRuntime, AdapterFileReadsBackAsPeft)
{
    auto lora = makeLora(LoraOptions {}, 4);
    randomiseB(*lora, 11);
    const fs::path dir = test::freshOutDir("lora_runtime_adapter");
    auto adapter = lora->toAdapter("musicgen-tiny-public");
    ASSERT_TRUE(adapter.ok()) << adapter.error().message;
    ASSERT_TRUE(adapter->save(dir).ok());
    auto loaded = LoraAdapter::load(dir);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    EXPECT_EQ(loaded->modules().size(), lora->modules().size());
    EXPECT_EQ(loaded->config().r, 8);
    EXPECT_DOUBLE_EQ(loaded->config().loraAlpha, 16.0);
    for (const LoraRuntime::Module& m : lora->modules()) {
        const LoraModule* read = loaded->findModule(m.path);
        ASSERT_NE(read, nullptr) << m.path;
        EXPECT_EQ(read->keyA, "base_model.model." + m.path + ".lora_A.weight");
        EXPECT_TRUE(at::equal(read->a, m.factors.a.detach()));
        EXPECT_TRUE(at::equal(read->b, m.factors.b.detach()));
        EXPECT_DOUBLE_EQ(read->scale, lora->scale());
    }
}

} // namespace
} // namespace tmk
