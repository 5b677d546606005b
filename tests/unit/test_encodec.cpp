// EnCodec against the musicgen-tiny-public fixtures (Hugging Face transformers 4.40.2, float32):
// decode, encode (codes exact), odd lengths, the greedy-generation audio, weight-norm namings and errors.
#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "codec/encodec.h"
#include "core/model_config.h"
#include "fixture_tensor.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"
#include "testsupport.h"

namespace tmk {
namespace {

std::filesystem::path fixtureDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

at::Tensor caseTensor(const std::string& caseName, const std::string& tensorName)
{
    return test::fixtureTensor(fixtureDir() / "cases" / (caseName + ".safetensors"), tensorName);
}

// |actual - expected| <= atol + rtol * |expected| everywhere, with the worst element in the message.
void expectClose(
    const at::Tensor& actual, const at::Tensor& expected, double atol, double rtol, const std::string& what)
{
    ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
    at::Tensor a = actual.to(at::kCPU, at::kFloat);
    at::Tensor diff = (a - expected).abs();
    at::Tensor excess = diff - (atol + rtol * expected.abs());
    EXPECT_LE(excess.max().item<double>(), 0.0)
        << what << ": max |diff| " << diff.max().item<double>() << " exceeds atol " << atol << " + rtol " << rtol;
}

void expectEqualCodes(const at::Tensor& actual, const at::Tensor& expected, const std::string& what)
{
    ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
    EXPECT_EQ(actual.scalar_type(), at::kLong) << what;
    const int64_t mismatches = actual.to(at::kCPU).ne(expected).sum().item<int64_t>();
    EXPECT_EQ(mismatches, 0) << what << ": " << mismatches << " of " << expected.numel() << " codes differ";
}

MusicgenConfig fixtureConfig()
{
    Expected<MusicgenConfig> config = MusicgenConfig::load(fixtureDir());
    if (!config) throw std::runtime_error(config.error().message);
    return *config;
}

Expected<Encodec> loadCodec(const std::filesystem::path& checkpoint, const MusicgenConfig& config)
{
    Expected<WeightStore> weights = WeightStore::open(checkpoint);
    if (!weights) return weights.error();
    return Encodec::load(*weights, config, at::TensorOptions().dtype(at::kFloat));
}

const Encodec& fixtureCodec()
{
    static const Encodec codec = [] {
        Expected<Encodec> loaded = loadCodec(fixtureDir(), fixtureConfig());
        if (!loaded) throw std::runtime_error(loaded.error().message);
        return *loaded;
    }();
    return codec;
}

// Writes a copy of the fixture checkpoint to `path`; `edit` may rename or replace a tensor (its data must
// outlive the call) or return false to drop it.
void writeEditedCheckpoint(const std::filesystem::path& path, const std::function<bool(TensorView&)>& edit)
{
    Expected<SafetensorsFile> source = SafetensorsFile::open(fixtureDir() / "model.safetensors");
    ASSERT_TRUE(source) << source.error().message;
    std::vector<TensorView> views;
    for (const TensorInfo& info : source->tensors()) {
        TensorView view { info.name, info.dtype, info.shape, source->data(info) };
        if (edit(view)) views.push_back(std::move(view));
    }
    Expected<void> written = writeSafetensors(path, views);
    ASSERT_TRUE(written) << written.error().message;
}

TEST(Encodec, Geometry)
{
    const Encodec& codec = fixtureCodec();
    EXPECT_EQ(codec.hopLength(), 640);
    EXPECT_EQ(codec.sampleRate(), 32000);
    EXPECT_EQ(codec.codebookCount(), 4);
    EXPECT_EQ(codec.codebookSize(), 64);
    EXPECT_EQ(codec.latentDim(), 16);
    EXPECT_EQ(codec.defaultQuantizers(), 4);
}

TEST(Encodec, DecodeMatchesFixture)
{
    const Encodec& codec = fixtureCodec();
    at::Tensor codes = caseTensor("encodec_decode", "audio_codes").squeeze(0); // [2, 4, 10]
    expectClose(
        codec.dequantize(codes), caseTensor("encodec_decode", "quantized_latent"), 1e-4, 1e-3, "quantized_latent");
    at::Tensor audio = codec.decode(codes);
    EXPECT_EQ(audio.scalar_type(), at::kFloat);
    expectClose(audio, caseTensor("encodec_decode", "audio_values"), 1e-4, 1e-3, "audio_values");
}

TEST(Encodec, EncodeMatchesFixture)
{
    const Encodec& codec = fixtureCodec();
    at::Tensor input = caseTensor("encodec_encode", "input_values"); // [2, 1, 16000]
    at::Tensor latent = codec.encodeLatent(input);
    expectClose(latent, caseTensor("encodec_encode", "encoder_latent"), 1e-4, 1e-3, "encoder_latent");
    at::Tensor codes = codec.quantize(latent, codec.defaultQuantizers());
    at::Tensor expected = caseTensor("encodec_encode", "audio_codes").squeeze(0); // [2, 4, 25]
    expectEqualCodes(codes, expected, "audio_codes (quantize)");
    expectEqualCodes(codec.encode(input, codec.defaultQuantizers()), expected, "audio_codes (encode)");
    expectClose(codec.decode(codes), caseTensor("encodec_encode", "roundtrip_audio_values"), 1e-4, 1e-3, "roundtrip");
}

TEST(Encodec, EncodeOddLengthMatchesFixture)
{
    const std::string name = "encodec_encode_odd_length";
    const Encodec& codec = fixtureCodec();
    at::Tensor input = caseTensor(name, "input_values"); // [1, 1, 10007]
    expectClose(codec.encodeLatent(input), caseTensor(name, "encoder_latent"), 1e-4, 1e-3, "encoder_latent");
    at::Tensor codes = codec.encode(input, codec.defaultQuantizers());
    expectEqualCodes(codes, caseTensor(name, "audio_codes").squeeze(0), "audio_codes");
    at::Tensor audio = codec.decode(codes); // [1, 1, 10240]
    expectClose(audio, caseTensor(name, "roundtrip_audio_values"), 1e-4, 1e-3, "roundtrip_audio_values");
    expectClose(audio.narrow(2, 0, input.size(2)), caseTensor(name, "forward_audio_values"), 1e-4, 1e-3,
        "forward_audio_values");
}

TEST(Encodec, FewerQuantizersArePrefixOfAll)
{
    const Encodec& codec = fixtureCodec();
    at::Tensor input = caseTensor("encodec_encode", "input_values");
    at::Tensor all = codec.encode(input, 4);
    expectEqualCodes(codec.encode(input, 2), all.narrow(1, 0, 2), "2 quantizers");
    EXPECT_EQ(codec.decode(all.narrow(1, 0, 2)).sizes(), (std::vector<int64_t> { 2, 1, 16000 }));
}

TEST(Encodec, GreedyGenerationAudioMatchesFixture)
{
    const Encodec& codec = fixtureCodec();
    at::Tensor codes = caseTensor("generate_greedy", "audio_codes").squeeze(0); // [2, 4, 17]
    expectClose(codec.decode(codes), caseTensor("generate_greedy", "audio_values"), 1e-4, 1e-3, "audio_values");
}

TEST(Encodec, ShortInputsUseTheZeroPadTrick)
{
    const Encodec& codec = fixtureCodec();
    for (int64_t samples : { 1, 2, 3, 7, 641 }) {
        at::Tensor audio = at::randn({ 1, 1, samples });
        at::Tensor codes = codec.encode(audio, 4);
        EXPECT_EQ(codes.sizes(), (std::vector<int64_t> { 1, 4, (samples + 639) / 640 })) << samples;
        EXPECT_TRUE(codes.ge(0).all().item<bool>() && codes.lt(64).all().item<bool>());
    }
    at::Tensor one = codec.decode(at::zeros({ 3, 4, 1 }, at::kLong));
    EXPECT_EQ(one.sizes(), (std::vector<int64_t> { 3, 1, 640 }));
    EXPECT_TRUE(one.isfinite().all().item<bool>());
}

TEST(Encodec, DecodeOfABatchEqualsDecodeOfEachItem)
{
    const Encodec& codec = fixtureCodec();
    at::Tensor codes = caseTensor("generate_greedy", "audio_codes").squeeze(0);
    at::Tensor both = codec.decode(codes);
    expectClose(codec.decode(codes.narrow(0, 1, 1)), both.narrow(0, 1, 1), 1e-5, 1e-5, "item 1");
}

TEST(Encodec, StaysFloat32WhenTheModelComputesInBfloat16)
{
    Expected<WeightStore> weights = WeightStore::open(fixtureDir());
    ASSERT_TRUE(weights) << weights.error().message;
    Expected<Encodec> codec = Encodec::load(*weights, fixtureConfig(), at::TensorOptions().dtype(at::kBFloat16));
    ASSERT_TRUE(codec) << codec.error().message;
    at::Tensor codes = caseTensor("encodec_decode", "audio_codes").squeeze(0);
    at::Tensor audio = codec->decode(codes);
    EXPECT_EQ(audio.scalar_type(), at::kFloat);
    EXPECT_TRUE(audio.equal(fixtureCodec().decode(codes)));
    // Inputs of another floating type are converted.
    at::Tensor input = caseTensor("encodec_encode", "input_values");
    expectEqualCodes(codec->encode(input.to(at::kDouble), 4), fixtureCodec().encode(input, 4), "double input");
}

TEST(Encodec, BadArgumentsThrow)
{
    const Encodec& codec = fixtureCodec();
    EXPECT_THROW(codec.decode(at::full({ 1, 4, 3 }, 64, at::kLong)), c10::Error);
    EXPECT_THROW(codec.decode(at::full({ 1, 4, 3 }, -1, at::kLong)), c10::Error);
    EXPECT_THROW(codec.decode(at::zeros({ 1, 5, 3 }, at::kLong)), c10::Error);
    EXPECT_THROW(codec.decode(at::zeros({ 4, 3 }, at::kLong)), c10::Error);
    EXPECT_THROW(codec.encode(at::zeros({ 1, 2, 100 }), 4), c10::Error);
    EXPECT_THROW(codec.encode(at::zeros({ 1, 1, 100 }), 5), c10::Error);
    EXPECT_THROW(codec.encode(at::zeros({ 1, 1, 100 }), 0), c10::Error);
}

TEST(Encodec, MissingCodebookIsNamed)
{
    const std::string missing = "audio_encoder.quantizer.layers.2.codebook.embed";
    const std::filesystem::path path = test::freshOutDir("encodec_missing") / "model.safetensors";
    writeEditedCheckpoint(path, [&](TensorView& view) { return view.name != missing; });
    Expected<Encodec> codec = loadCodec(path, fixtureConfig());
    ASSERT_FALSE(codec);
    EXPECT_EQ(codec.error().code, ErrorCode::NotFound);
    EXPECT_NE(codec.error().message.find(missing), std::string::npos) << codec.error().message;
}

TEST(Encodec, MisshapenConvWeightIsNamed)
{
    const std::string broken = "audio_encoder.decoder.layers.6.conv.weight_v";
    const std::filesystem::path path = test::freshOutDir("encodec_misshapen") / "model.safetensors";
    at::Tensor replacement = at::randn({ 32, 16, 9 }); // the config implies [32, 16, 10]
    writeEditedCheckpoint(path, [&](TensorView& view) {
        if (view.name == broken) view = viewOf(broken, replacement);
        return true;
    });
    Expected<Encodec> codec = loadCodec(path, fixtureConfig());
    ASSERT_FALSE(codec);
    EXPECT_EQ(codec.error().code, ErrorCode::Mismatch);
    EXPECT_NE(codec.error().message.find(broken), std::string::npos) << codec.error().message;
}

TEST(Encodec, ParametrizationsNamingGivesIdenticalOutput)
{
    const std::filesystem::path path = test::freshOutDir("encodec_parametrizations") / "model.safetensors";
    int renamed = 0;
    writeEditedCheckpoint(path, [&](TensorView& view) {
        for (auto [from, to] : { std::pair { ".conv.weight_g", ".conv.parametrizations.weight.original0" },
                 std::pair { ".conv.weight_v", ".conv.parametrizations.weight.original1" } }) {
            const std::string suffix = from;
            if (view.name.size() > suffix.size() && view.name.ends_with(suffix)) {
                view.name = view.name.substr(0, view.name.size() - suffix.size()) + to;
                ++renamed;
            }
        }
        return true;
    });
    EXPECT_GT(renamed, 0);
    Expected<Encodec> codec = loadCodec(path, fixtureConfig());
    ASSERT_TRUE(codec) << codec.error().message;
    at::Tensor codes = caseTensor("encodec_decode", "audio_codes").squeeze(0);
    EXPECT_TRUE(codec->decode(codes).equal(fixtureCodec().decode(codes)));
    at::Tensor input = caseTensor("encodec_encode_odd_length", "input_values");
    EXPECT_TRUE(codec->encodeLatent(input).equal(fixtureCodec().encodeLatent(input)));
}

TEST(Encodec, TensorSpecsMatchTheCheckpoint)
{
    const MusicgenConfig config = fixtureConfig();
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(fixtureDir());
    ASSERT_TRUE(checkpoint) << checkpoint.error().message;
    const std::vector<TensorSpec> specs = Encodec::tensorSpecs(config);
    std::set<std::string> listed;
    for (const TensorSpec& spec : specs) {
        SafetensorsCheckpoint::Entry entry = checkpoint->find(spec.name);
        ASSERT_NE(entry.file, nullptr) << spec.name;
        EXPECT_EQ(entry.info->shape, spec.shape) << spec.name;
        EXPECT_TRUE(listed.insert(spec.name).second) << "listed twice: " << spec.name;
    }
    // Everything else under audio_encoder. is a training-only RVQ buffer.
    for (const std::string& name : checkpoint->names()) {
        if (!name.starts_with("audio_encoder.") || listed.count(name)) continue;
        EXPECT_TRUE(name.ends_with(".embed_avg") || name.ends_with(".cluster_size") || name.ends_with(".inited"))
            << name;
    }
    // load() reads exactly the listed tensors.
    Expected<WeightStore> weights = WeightStore::open(fixtureDir());
    ASSERT_TRUE(weights);
    ASSERT_TRUE(Encodec::load(*weights, config, at::TensorOptions()));
    const std::vector<std::string> unusedList = weights->unusedNames();
    const std::set<std::string> unused(unusedList.begin(), unusedList.end());
    for (const std::string& name : checkpoint->names())
        if (name.starts_with("audio_encoder.")) {
            EXPECT_EQ(listed.count(name), 1 - unused.count(name)) << name;
        }
    EXPECT_EQ(encodecTensorSpecs(config).size(), specs.size());
}

// ---- Speed (manual): ./unit_test_encodec --gtest_also_run_disabled_tests --gtest_filter='*Speed*' ----

at::Tensor randomTensor(const TensorSpec& spec)
{
    switch (spec.init) {
    case TensorInit::Zeros:
        return at::zeros(spec.shape);
    case TensorInit::Ones:
        return at::ones(spec.shape);
    case TensorInit::WeightNormG:
        return at::rand(spec.shape) + 0.5;
    default: {
        int64_t fanIn = 1;
        for (size_t i = 1; i < spec.shape.size(); ++i) fanIn *= spec.shape[i];
        return at::randn(spec.shape) / std::sqrt(static_cast<double>(fanIn));
    }
    }
}

// Wall and process CPU time (the CPU time is the useful one on a shared, loaded machine).
struct Timer {
    std::chrono::steady_clock::time_point wallStart = std::chrono::steady_clock::now();
    std::clock_t cpuStart = std::clock();
    void report(const std::string& what, double audioSeconds) const
    {
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wallStart).count();
        const double cpu = static_cast<double>(std::clock() - cpuStart) / CLOCKS_PER_SEC;
        std::cout << what << " (" << audioSeconds << " s audio): wall " << wall << " s (" << audioSeconds / wall
                  << " s audio/s), cpu " << cpu << " s (" << audioSeconds / cpu << " s audio per cpu-s), "
                  << at::get_num_threads() << " intra-op threads\n";
    }
};

TEST(Encodec, DISABLED_DecodeSpeedMusicgenSmallSize)
{
    std::ifstream in(fixtureDir() / "config.json");
    nlohmann::json json = nlohmann::json::parse(in);
    json["audio_encoder"]["num_filters"] = 64;
    json["audio_encoder"]["hidden_size"] = 128;
    json["audio_encoder"]["codebook_dim"] = 128;
    json["audio_encoder"]["codebook_size"] = 2048;
    json["decoder"]["vocab_size"] = 2048;
    json["decoder"]["pad_token_id"] = 2048;
    json["decoder"]["bos_token_id"] = 2048;
    Expected<MusicgenConfig> config = MusicgenConfig::parse(json.dump(), "musicgen-small-size");
    ASSERT_TRUE(config) << config.error().message;
    at::manual_seed(0);
    std::map<std::string, at::Tensor> tensors;
    for (const TensorSpec& spec : Encodec::tensorSpecs(*config)) tensors[spec.name] = randomTensor(spec);
    const std::filesystem::path path = test::freshOutDir("encodec_speed") / "model.safetensors";
    ASSERT_TRUE(saveTensors(path, tensors));
    Expected<Encodec> codec = loadCodec(path, *config);
    ASSERT_TRUE(codec) << codec.error().message;
    for (int64_t frames : { 10, 50, 500 }) {
        at::Tensor codes = at::randint(0, 2048, { 1, 4, frames }, at::kLong);
        codec->decode(codes.narrow(2, 0, 5)); // warm-up
        const Timer timer;
        at::Tensor audio = codec->decode(codes);
        timer.report("decode " + std::to_string(frames) + " frames", static_cast<double>(audio.size(2)) / 32000.0);
    }
    at::Tensor audio = at::randn({ 1, 1, 32000 * 5 });
    const Timer timer;
    codec->encode(audio, 4);
    timer.report("encode", 5.0);
}

} // namespace
} // namespace tmk
