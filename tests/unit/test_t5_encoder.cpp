// T5Encoder against the musicgen-tiny-public fixtures (Hugging Face T5EncoderModel, float32).
#include <algorithm>
#include <functional>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <set>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "core/model_config.h"
#include "fixture_tensor.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"
#include "testsupport.h"
#include "text/t5_encoder.h"
#include "text/tokenizer.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

fs::path fixtureDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

MusicgenConfig fixtureConfig()
{
    Expected<MusicgenConfig> config = MusicgenConfig::load(fixtureDir());
    if (!config) throw std::runtime_error(config.error().message);
    return *config;
}

at::Tensor caseTensor(const std::string& caseName, const std::string& tensor)
{
    return test::fixtureTensor(fixtureDir() / "cases" / (caseName + ".safetensors"), tensor);
}

Expected<T5Encoder> loadEncoder(const fs::path& dir, at::ScalarType dtype = at::kFloat)
{
    Expected<WeightStore> weights = WeightStore::open(dir);
    if (!weights) return weights.error();
    Expected<MusicgenConfig> config = MusicgenConfig::load(dir);
    if (!config) return config.error();
    return T5Encoder::load(*weights, *config, at::TensorOptions().dtype(dtype));
}

const T5Encoder& encoder()
{
    static const T5Encoder loaded = [] {
        Expected<T5Encoder> e = loadEncoder(fixtureDir());
        if (!e) throw std::runtime_error(e.error().message);
        return std::move(*e);
    }();
    return loaded;
}

// max |actual - expected| - (atol + rtol * |expected|): <= 0 means every element is within tolerance.
double worstExcess(const at::Tensor& actual, const at::Tensor& expected, double atol, double rtol)
{
    at::Tensor a = actual.to(at::kFloat), e = expected.to(at::kFloat);
    return ((a - e).abs() - (atol + rtol * e.abs())).max().item<double>();
}

void expectMatchesCase(const std::string& caseName)
{
    const at::Tensor ids = caseTensor(caseName, "input_ids"); // [B, S]
    const at::Tensor mask = caseTensor(caseName, "attention_mask"); // [B, S]
    const at::Tensor expected = caseTensor(caseName, "last_hidden_state"); // [B, S, D]
    const at::Tensor actual = encoder().forward(ids, mask);
    ASSERT_EQ(actual.sizes(), expected.sizes());
    ASSERT_EQ(actual.scalar_type(), at::kFloat);
    // Every row, padded query positions included (Hugging Face computes them too).
    const double maxAbs = (actual - expected).abs().max().item<double>();
    std::cout << caseName << ": max abs diff to Hugging Face " << maxAbs << "\n";
    EXPECT_LE(worstExcess(actual, expected, 1e-4, 1e-4), 0.0) << caseName << ": max abs diff " << maxAbs;
}

TEST(T5Encoder, MatchesHuggingFace)
{
    expectMatchesCase("t5_encoder");
}

TEST(T5Encoder, MatchesHuggingFacePastMaxDistance)
{
    const at::Tensor ids = caseTensor("t5_encoder_long", "input_ids");
    ASSERT_GT(ids.size(1), encoder().config().maxDistance); // the log buckets saturate
    expectMatchesCase("t5_encoder_long");
}

TEST(T5Encoder, TokenizerAndEncoderTogetherMatchTheFixture)
{
    Expected<T5Tokenizer> tokenizer = T5Tokenizer::load(fixtureDir() / "spiece.model");
    ASSERT_TRUE(tokenizer) << tokenizer.error().message;
    TokenBatch batch = tokenizer->encodeBatch({ "Classic Rock, Electric guitar, keyboard, drums",
        "lofi hip hop with soft piano", "", "Café jazz — piano & saxophone, 90’s vibe!! ＬＯＦＩ 🎷" });
    const at::Tensor ids = at::tensor(batch.ids, at::kLong).view({ batch.batch, batch.length });
    const at::Tensor mask = at::tensor(batch.mask, at::kLong).view({ batch.batch, batch.length });
    EXPECT_TRUE(at::equal(ids, caseTensor("t5_encoder", "input_ids")));
    EXPECT_TRUE(at::equal(mask, caseTensor("t5_encoder", "attention_mask")));
    const at::Tensor expected = caseTensor("t5_encoder", "last_hidden_state");
    EXPECT_LE(worstExcess(encoder().forward(ids, mask), expected, 1e-4, 1e-4), 0.0);
}

TEST(T5Encoder, PaddingDoesNotChangeTokenRows)
{
    const at::Tensor ids = caseTensor("t5_encoder", "input_ids");
    const at::Tensor mask = caseTensor("t5_encoder", "attention_mask");
    const at::Tensor batched = encoder().forward(ids, mask);
    const int64_t length = mask[1].sum().item<int64_t>(); // "lofi hip hop with soft piano"
    const at::Tensor alone
        = encoder().forward(ids[1].slice(0, 0, length).unsqueeze(0), mask[1].slice(0, 0, length).unsqueeze(0));
    EXPECT_LE((alone[0] - batched[1].slice(0, 0, length)).abs().max().item<double>(), 1e-5);
}

// Reduced precision keeps norms and softmax in float32, so it stays close to float32.
void expectCloseToFloat32(at::ScalarType dtype, double maxAbs, double maxRelativeNorm)
{
    Expected<T5Encoder> reduced = loadEncoder(fixtureDir(), dtype);
    if (!reduced && reduced.error().code == ErrorCode::Unsupported) // float16 on CPU libtorch 1.13
        GTEST_SKIP() << reduced.error().message;
    ASSERT_TRUE(reduced) << reduced.error().message;
    for (const std::string caseName : { "t5_encoder", "t5_encoder_long" }) {
        const at::Tensor ids = caseTensor(caseName, "input_ids");
        const at::Tensor mask = caseTensor(caseName, "attention_mask");
        const at::Tensor reference = encoder().forward(ids, mask);
        const at::Tensor actual = reduced->forward(ids, mask);
        ASSERT_EQ(actual.scalar_type(), dtype);
        const at::Tensor keep = mask.to(at::kBool).unsqueeze(-1).expand_as(reference); // rows MusicGen uses
        const at::Tensor diff = (actual.to(at::kFloat) - reference).masked_select(keep);
        const double relative = (diff.norm() / reference.masked_select(keep).norm()).item<double>();
        EXPECT_TRUE(at::isfinite(actual).all().item<bool>()) << caseName;
        std::cout << caseName << " " << at::toString(dtype) << ": max abs diff " << diff.abs().max().item<double>()
                  << ", relative norm " << relative << "\n";
        EXPECT_LE(diff.abs().max().item<double>(), maxAbs) << caseName;
        EXPECT_LE(relative, maxRelativeNorm) << caseName;
    }
}

TEST(T5Encoder, BFloat16IsCloseToFloat32)
{
    expectCloseToFloat32(at::kBFloat16, 0.15, 0.02);
}

TEST(T5Encoder, Float16IsCloseToFloat32)
{
    expectCloseToFloat32(at::kHalf, 0.03, 0.004);
}

TEST(T5Encoder, TensorSpecsAreExactlyTheFixtureTensors)
{
    Expected<WeightStore> weights = WeightStore::open(fixtureDir());
    ASSERT_TRUE(weights);
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(fixtureDir());
    ASSERT_TRUE(checkpoint);
    std::set<std::string> fixtureNames, specNames;
    for (const std::string& name : checkpoint->names())
        if (name.starts_with("text_encoder.")) fixtureNames.insert(name);
    for (const TensorSpec& spec : T5Encoder::tensorSpecs(fixtureConfig())) {
        specNames.insert(spec.name);
        const SafetensorsCheckpoint::Entry entry = checkpoint->find(spec.name);
        ASSERT_NE(entry.file, nullptr) << spec.name;
        EXPECT_EQ(entry.info->shape, spec.shape) << spec.name;
    }
    EXPECT_EQ(specNames, fixtureNames);
    // load() reads every one of them.
    ASSERT_TRUE(T5Encoder::load(*weights, fixtureConfig(), at::TensorOptions()));
    for (const std::string& name : weights->unusedNames()) EXPECT_FALSE(name.starts_with("text_encoder.")) << name;
}

// A copy of the fixture checkpoint (config.json and model.safetensors) with `edit` applied to its tensors.
fs::path editedCheckpoint(const std::string& name, const std::function<void(std::vector<TensorView>&)>& edit)
{
    const fs::path dir = test::freshOutDir(name);
    fs::copy_file(fixtureDir() / "config.json", dir / "config.json");
    Expected<SafetensorsFile> source = SafetensorsFile::open(fixtureDir() / "model.safetensors");
    if (!source) throw std::runtime_error(source.error().message);
    std::vector<TensorView> views;
    for (const TensorInfo& info : source->tensors())
        views.push_back({ info.name, info.dtype, info.shape, source->data(info) });
    edit(views);
    Expected<void> written = writeSafetensors(dir / "model.safetensors", views);
    if (!written) throw std::runtime_error(written.error().message);
    return dir;
}

// Random weights for every spec (norms are ones), written to `path`.
void writeRandomCheckpoint(const fs::path& path, const std::vector<TensorSpec>& specs)
{
    at::manual_seed(7);
    std::map<std::string, at::Tensor> tensors;
    for (const TensorSpec& spec : specs)
        tensors[spec.name] = spec.init == TensorInit::Ones ? at::ones(spec.shape) : at::randn(spec.shape) * 0.2;
    Expected<void> saved = saveTensors(path, tensors);
    if (!saved) throw std::runtime_error(saved.error().message);
}

TEST(T5Encoder, GatedGeluCheckpointFromTensorSpecsLoadsAndRuns)
{
    MusicgenConfig config = fixtureConfig();
    config.text.gatedGelu = true; // flan-T5 style: wi_0 (gelu_new) * wi_1
    const std::vector<TensorSpec> specs = T5Encoder::tensorSpecs(config);
    const auto has = [&](const std::string& name) {
        return std::any_of(specs.begin(), specs.end(), [&](const TensorSpec& s) { return s.name == name; });
    };
    EXPECT_TRUE(has("text_encoder.encoder.block.1.layer.1.DenseReluDense.wi_0.weight"));
    EXPECT_TRUE(has("text_encoder.encoder.block.1.layer.1.DenseReluDense.wi_1.weight"));
    EXPECT_FALSE(has("text_encoder.encoder.block.1.layer.1.DenseReluDense.wi.weight"));
    const fs::path file = test::freshOutDir("t5_gated") / "model.safetensors";
    writeRandomCheckpoint(file, specs);
    Expected<WeightStore> weights = WeightStore::open(file);
    ASSERT_TRUE(weights) << weights.error().message;
    Expected<T5Encoder> gated = T5Encoder::load(*weights, config, at::TensorOptions());
    ASSERT_TRUE(gated) << gated.error().message;
    EXPECT_TRUE(weights->unusedNames().empty());
    const at::Tensor ids = caseTensor("t5_encoder", "input_ids");
    const at::Tensor out = gated->forward(ids, caseTensor("t5_encoder", "attention_mask"));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t> { 4, 26, 32 }));
    EXPECT_TRUE(at::isfinite(out).all().item<bool>());
    // The relu loader refuses the same file, naming the tensor it misses.
    Expected<T5Encoder> relu = T5Encoder::load(*weights, fixtureConfig(), at::TensorOptions());
    ASSERT_FALSE(relu);
    EXPECT_NE(relu.error().message.find("DenseReluDense.wi.weight"), std::string::npos) << relu.error().message;
}

TEST(T5Encoder, WrongShapeIsAnErrorNamingTheTensor)
{
    const std::string broken = "text_encoder.encoder.block.1.layer.1.DenseReluDense.wo.weight";
    const fs::path dir = editedCheckpoint("t5_wrong_shape", [&](std::vector<TensorView>& views) {
        for (TensorView& view : views)
            if (view.name == broken) view.shape = { view.shape[1], view.shape[0] }; // [64, 32] instead of [32, 64]
    });
    Expected<T5Encoder> loaded = loadEncoder(dir);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, ErrorCode::Mismatch);
    EXPECT_NE(loaded.error().message.find(broken), std::string::npos) << loaded.error().message;
    EXPECT_NE(loaded.error().message.find("[64, 32]"), std::string::npos) << loaded.error().message;
}

TEST(T5Encoder, MissingTensorIsAnErrorNamingIt)
{
    const std::string missing = "text_encoder.encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
    const fs::path dir = editedCheckpoint("t5_missing", [&](std::vector<TensorView>& views) {
        std::erase_if(views, [&](const TensorView& view) { return view.name == missing; });
    });
    Expected<T5Encoder> loaded = loadEncoder(dir);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, ErrorCode::NotFound);
    EXPECT_NE(loaded.error().message.find(missing), std::string::npos) << loaded.error().message;
}

TEST(T5Encoder, AcceptsTheEmbedTokensName)
{
    const fs::path dir = editedCheckpoint("t5_embed_tokens", [](std::vector<TensorView>& views) {
        for (TensorView& view : views)
            if (view.name == "text_encoder.shared.weight") view.name = "text_encoder.encoder.embed_tokens.weight";
    });
    Expected<T5Encoder> loaded = loadEncoder(dir);
    ASSERT_TRUE(loaded) << loaded.error().message;
    const at::Tensor ids = caseTensor("t5_encoder", "input_ids");
    const at::Tensor mask = caseTensor("t5_encoder", "attention_mask");
    EXPECT_TRUE(at::equal(loaded->forward(ids, mask), encoder().forward(ids, mask)));
}

TEST(T5Encoder, RefusesBadInputs)
{
    const at::Tensor ids = caseTensor("t5_encoder", "input_ids");
    const at::Tensor mask = caseTensor("t5_encoder", "attention_mask");
    EXPECT_THROW(encoder().forward(ids.clone().fill_(384), mask), c10::Error); // vocab is 384
    EXPECT_THROW(encoder().forward(ids.clone().fill_(-1), mask), c10::Error);
    EXPECT_THROW(encoder().forward(ids, mask.slice(1, 0, 3)), c10::Error);
    EXPECT_THROW(encoder().forward(ids.to(at::kFloat), mask), c10::Error);
    EXPECT_THROW(encoder().forward(ids[0], mask[0]), c10::Error);
    const at::Tensor empty = encoder().forward(ids.slice(1, 0, 0), mask.slice(1, 0, 0));
    EXPECT_EQ(empty.sizes(), (std::vector<int64_t> { 4, 0, 32 }));
}

TEST(T5Encoder, RefusesANonFloatingComputeType)
{
    Expected<T5Encoder> loaded = loadEncoder(fixtureDir(), at::kLong);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, ErrorCode::InvalidArgument);
}

} // namespace
} // namespace tmk
