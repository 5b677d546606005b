// The whole pipeline through the public API on the Hugging Face fixture: greedy CFG codes identical,
// audio within tolerance, seeded sampling reproducible, malformed checkpoints refused clearly.
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>

#include "tastemaker/devtools/model_maker.h"
#include "tastemaker/fileio.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/tensorio.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace tmk;

namespace {

fs::path fixtureDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

std::shared_ptr<const MusicgenModel> fixtureModel()
{
    static std::shared_ptr<const MusicgenModel> model = [] {
        auto loaded = MusicgenModel::load(fixtureDir(), ModelOptions {});
        EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error().message);
        return loaded ? *loaded : nullptr;
    }();
    return model;
}

template <typename T> std::vector<T> caseTensor(const std::string& caseName, const std::string& tensor)
{
    return test::tensorValues<T>(fixtureDir() / "cases" / (caseName + ".safetensors"), tensor);
}

GenerationRequest greedyRequest()
{
    GenerationRequest request;
    request.prompts = { "Classic Rock, Electric guitar, keyboard, drums", "lofi hip hop with soft piano" };
    request.frames = 17;
    request.sampling.greedy = true;
    request.sampling.guidanceScale = 3.0;
    return request;
}

// Copies the fixture folder so a test can damage it.
fs::path copyOfFixture(const std::string& name)
{
    fs::path dir = test::freshOutDir(name);
    for (const char* file : { "config.json", "generation_config.json", "spiece.model", "model.safetensors" })
        fs::copy_file(fixtureDir() / file, dir / file);
    return dir;
}

std::string loadError(const fs::path& dir)
{
    auto loaded = MusicgenModel::load(dir, ModelOptions {});
    return loaded ? std::string() : loaded.error().message;
}

} // namespace

TEST(Pipeline, GreedyCfgReproducesHuggingFace)
{
    auto model = fixtureModel();
    ASSERT_TRUE(model);
    Expected<GenerationResult> result = generate(*model, greedyRequest());
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->codes.values, caseTensor<int64_t>("generate_greedy", "audio_codes"));
    std::vector<float> expected = caseTensor<float>("generate_greedy", "audio_values"); // [2, 1, 10880]
    ASSERT_EQ(result->audio.size(), 2u);
    for (size_t b = 0; b < 2; ++b) {
        ASSERT_EQ(result->audio[b].size(), 10880u);
        for (size_t i = 0; i < 10880; ++i) {
            const float want = expected[b * 10880 + i];
            ASSERT_NEAR(result->audio[b][i], want, 1e-4 + 1e-3 * std::abs(want)) << "item " << b << " sample " << i;
        }
    }
}

TEST(Pipeline, FramesArriveInOrderAndMatchTheResult)
{
    auto model = fixtureModel();
    GenerationRequest request = greedyRequest();
    request.decodeAudio = false;
    std::vector<int64_t> frames;
    std::vector<int64_t> streamed;
    GenerationCallbacks callbacks;
    callbacks.onFrame = [&](int64_t frame, std::span<const int64_t> codes) {
        frames.push_back(frame);
        streamed.insert(streamed.end(), codes.begin(), codes.end());
    };
    Expected<GenerationResult> result = generate(*model, request, callbacks);
    ASSERT_TRUE(result);
    ASSERT_EQ(frames.size(), 17u);
    for (int64_t t = 0; t < 17; ++t) EXPECT_EQ(frames[t], t);
    const AudioCodes& codes = result->codes;
    for (int64_t t = 0; t < 17; ++t)
        for (int64_t row = 0; row < codes.batch * codes.codebooks; ++row)
            EXPECT_EQ(streamed[t * 8 + row], codes.values[row * codes.frames + t]);
}

TEST(Pipeline, SeededSamplingIsReproducible)
{
    auto model = fixtureModel();
    GenerationRequest request = GenerationRequest::defaultsFor(model->info());
    request.prompts = { "jazz" };
    request.frames = 12;
    request.decodeAudio = false;
    request.sampling.seed = 7;
    auto first = generate(*model, request);
    auto second = generate(*model, request);
    request.sampling.seed = 8;
    auto other = generate(*model, request);
    ASSERT_TRUE(first && second && other);
    EXPECT_EQ(first->codes.values, second->codes.values);
    EXPECT_NE(first->codes.values, other->codes.values);
}

TEST(Pipeline, CancelStopsGeneration)
{
    auto model = fixtureModel();
    CancelToken cancel;
    GenerationCallbacks callbacks;
    callbacks.cancel = &cancel;
    callbacks.onProgress = [&](const Progress& p) {
        if (p.stage == ProgressStage::Decoding && p.done == 5) cancel.requestCancel();
    };
    GenerationRequest request = greedyRequest();
    request.frames = 100;
    auto result = generate(*model, request, callbacks);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::Cancelled);
}

TEST(Pipeline, EncodeOddLengthGivesHuggingFaceCodes)
{
    auto model = fixtureModel();
    std::vector<float> input = caseTensor<float>("encodec_encode_odd_length", "input_values");
    Expected<AudioCodes> codes = encodeAudio(*model, input);
    ASSERT_TRUE(codes) << codes.error().message;
    EXPECT_EQ(codes->frames, 16);
    EXPECT_EQ(codes->values, caseTensor<int64_t>("encodec_encode_odd_length", "audio_codes"));
}

// Teacher forcing scores what greedy decoding chose: without guidance, the last code of the last codebook is the
// argmax at the last position, and nothing depends on it, so any other value there is less likely; under another
// prompt the same codes score differently; the two prompts are scored in one batch as each alone.
TEST(Pipeline, CodesLogLikelihoodScoresGreedyCodesHighest)
{
    auto model = fixtureModel();
    GenerationRequest request = greedyRequest();
    request.prompts.resize(1);
    request.sampling.guidanceScale = 1.0;
    Expected<GenerationResult> result = generate(*model, request);
    ASSERT_TRUE(result) << result.error().message;
    const AudioCodes& greedy = result->codes;
    ASSERT_EQ(greedy.batch, 1);
    AudioCodes other = greedy;
    int64_t& last = other.values.back(); // [1, K, T] row-major: codebook K-1, frame T-1
    last = (last + 1) % 10;

    const std::vector<std::string> prompts = { request.prompts[0], "lofi hip hop with soft piano" };
    Expected<std::vector<double>> chosen = codesLogLikelihood(*model, prompts, greedy);
    Expected<std::vector<double>> changed = codesLogLikelihood(*model, { prompts[0] }, other);
    Expected<std::vector<double>> alone = codesLogLikelihood(*model, { prompts[1] }, greedy);
    ASSERT_TRUE(chosen && changed && alone);
    ASSERT_EQ(chosen->size(), 2u);
    EXPECT_LT((*chosen)[0], 0.0);
    EXPECT_GT((*chosen)[0], (*changed)[0]);
    EXPECT_NE((*chosen)[0], (*chosen)[1]);
    EXPECT_NEAR((*chosen)[1], (*alone)[0], 1e-3);

    AudioCodes two = greedy;
    two.batch = 2;
    two.values.insert(two.values.end(), greedy.values.begin(), greedy.values.end());
    EXPECT_FALSE(codesLogLikelihood(*model, prompts, two)) << "one sequence only";
}

TEST(Pipeline, RequestsAreValidated)
{
    auto model = fixtureModel();
    GenerationRequest request = greedyRequest();
    request.frames = model->info().maxFrames + 1;
    auto tooLong = generate(*model, request);
    ASSERT_FALSE(tooLong);
    EXPECT_NE(tooLong.error().message.find("limit"), std::string::npos);
    request = greedyRequest();
    request.prompts.clear();
    EXPECT_FALSE(generate(*model, request));
    AudioCodes bad { 1, 4, 1, { 0, 1, 2, 999 } };
    auto decoded = decodeCodes(*model, bad);
    ASSERT_FALSE(decoded);
    EXPECT_NE(decoded.error().message.find("999"), std::string::npos);
}

TEST(MalformedCheckpoint, MissingTensorIsNamed)
{
    fs::path dir = copyOfFixture("malformed_missing");
    Expected<SafetensorsFile> file = SafetensorsFile::open(fixtureDir() / "model.safetensors");
    std::vector<TensorView> views;
    for (const TensorInfo& info : file->tensors())
        if (info.name != "decoder.model.decoder.layers.1.fc2.weight")
            views.push_back({ info.name, info.dtype, info.shape, file->data(info) });
    ASSERT_TRUE(writeSafetensors(dir / "model.safetensors", views));
    std::string error = loadError(dir);
    EXPECT_NE(error.find("decoder.model.decoder.layers.1.fc2.weight"), std::string::npos) << error;
    EXPECT_NE(error.find("missing"), std::string::npos) << error;
}

TEST(MalformedCheckpoint, ConfigWeightsDisagreementNamesTheTensor)
{
    fs::path dir = copyOfFixture("malformed_config");
    std::string config = *readFileText(dir / "config.json");
    const std::string from = "\"ffn_dim\": 128", to = "\"ffn_dim\": 96";
    ASSERT_NE(config.find(from), std::string::npos);
    config.replace(config.find(from), from.size(), to);
    ASSERT_TRUE(writeFileAtomic(dir / "config.json", config));
    std::string error = loadError(dir);
    EXPECT_NE(error.find("fc1.weight"), std::string::npos) << error;
    EXPECT_NE(error.find("[128, 64]"), std::string::npos) << error;
}

TEST(MalformedCheckpoint, TruncatedWeightsFile)
{
    fs::path dir = copyOfFixture("malformed_truncated");
    fs::resize_file(dir / "model.safetensors", fs::file_size(dir / "model.safetensors") / 2);
    std::string error = loadError(dir);
    EXPECT_NE(error.find("model.safetensors"), std::string::npos) << error;
}

TEST(MalformedCheckpoint, PickleOnlyIsRefusedWithAConversionHint)
{
    fs::path dir = copyOfFixture("malformed_pickle");
    fs::remove(dir / "model.safetensors");
    std::ofstream(dir / "pytorch_model.bin") << "\x80\x02}q\x00.";
    std::string error = loadError(dir);
    EXPECT_NE(error.find("pickle"), std::string::npos) << error;
    EXPECT_NE(error.find("safe_serialization=True"), std::string::npos) << error;
}

TEST(MalformedCheckpoint, MissingTokenizerAndConfig)
{
    fs::path dir = copyOfFixture("malformed_tokenizer");
    fs::remove(dir / "spiece.model");
    EXPECT_NE(loadError(dir).find("spiece.model"), std::string::npos);
    fs::remove(dir / "config.json");
    EXPECT_NE(loadError(dir).find("config.json"), std::string::npos);
}

TEST(MakeModel, RandomModelOfTheFixtureConfigLoadsAndIsDeterministic)
{
    fs::path a = test::freshOutDir("make_model_a"), b = test::freshOutDir("make_model_b");
    MakeModelOptions options;
    options.configJson = fixtureDir() / "config.json";
    options.spieceModel = fixtureDir() / "spiece.model";
    options.seed = 3;
    options.outDir = a;
    ASSERT_TRUE(makeRandomModel(options));
    options.outDir = b;
    ASSERT_TRUE(makeRandomModel(options));
    EXPECT_EQ(*readFileText(a / "model.safetensors"), *readFileText(b / "model.safetensors"));
    auto model = MusicgenModel::load(a, ModelOptions {});
    ASSERT_TRUE(model) << model.error().message;
    GenerationRequest request = GenerationRequest::defaultsFor((*model)->info());
    request.prompts = { "noise" };
    request.frames = 5;
    auto result = generate(**model, request);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->audio.at(0).size(), 5u * 640u);
    // Every tensor the Hugging Face checkpoint has, the random one has too, with the same shape.
    auto fixture = SafetensorsFile::open(fixtureDir() / "model.safetensors");
    auto made = SafetensorsFile::open(a / "model.safetensors");
    for (const TensorInfo& info : fixture->tensors()) {
        if (info.name.ends_with(".embed_avg") || info.name.ends_with(".cluster_size") || info.name.ends_with(".inited"))
            continue; // EnCodec training buffers (embed_avg, cluster_size, inited) are not used at inference
        const TensorInfo* other = made->find(info.name);
        ASSERT_NE(other, nullptr) << info.name;
        EXPECT_EQ(other->shape, info.shape) << info.name;
    }
}
