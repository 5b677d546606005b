// End to end on adapters-tiny-public: T5 states from the case's prompts, the bank merged into the live
// decoder at each case's sliders (one decoder and one merger for all cases, merging between
// generations), then greedy CFG generation: codes identical to Hugging Face's, the top-2 scores and the
// EnCodec audio within fixtures.json's tolerances. The optional case merges Embedding LoRA at weight 1.3.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "adapters/adapter_bank.h"
#include "adapters/merger.h"
#include "codec/encodec.h"
#include "core/json.h"
#include "fixture_tensor.h"
#include "lm/generate.h"
#include "pipeline/model_access.h"
#include "tastemaker/fileio.h"
#include "tastemaker/metrics.h"
#include "tastemaker/steering.h"
#include "tastemaker/tensorio.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"
#include "testsupport.h"
#include "text/t5_encoder.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

fs::path fixtureDir()
{
    return test::dataDir() / "adapters-tiny-public";
}
fs::path modelDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

at::Tensor fixture(const std::string& caseName, const std::string& name)
{
    return test::fixtureTensor(fixtureDir() / "cases" / (caseName + ".safetensors"), name);
}

std::vector<MetricInfo> metrics()
{
    const char* source = std::getenv("TM_SOURCE_DIR");
    const fs::path root = source && *source ? fs::path(source) : test::dataDir() / ".." / "..";
    auto list = loadMetrics(root / "resources" / "metrics.json");
    EXPECT_TRUE(list.ok()) << (list.ok() ? "" : list.error().message);
    return list.ok() ? *list : std::vector<MetricInfo> {};
}

class AdapterGenerateTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        auto config = MusicgenConfig::load(modelDir());
        ASSERT_TRUE(config.ok()) << config.error().message;
        auto store = WeightStore::open(modelDir());
        ASSERT_TRUE(store.ok()) << store.error().message;
        const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
        auto t5 = T5Encoder::load(*store, *config, f32);
        ASSERT_TRUE(t5.ok()) << t5.error().message;
        auto decoder = MusicgenDecoder::load(*store, *config, f32);
        ASSERT_TRUE(decoder.ok()) << decoder.error().message;
        auto codec = Encodec::load(*store, *config, f32);
        ASSERT_TRUE(codec.ok()) << codec.error().message;
        s_t5 = new T5Encoder(std::move(*t5));
        s_decoder = new MusicgenDecoder(std::move(*decoder));
        s_codec = new Encodec(std::move(*codec));
        ParameterLookup lookup = [](const std::string& name) { return s_decoder->parameter(name); };
        auto bank = AdapterBank::load(fixtureDir() / "bank", metrics(), lookup);
        ASSERT_TRUE(bank.ok()) << bank.error().message;
        s_bank = new AdapterBank(std::move(*bank));
        s_merger = new AdapterMerger(lookup);
        ASSERT_TRUE(s_merger->addBank(*s_bank).ok());
    }
    static void TearDownTestSuite()
    {
        delete s_merger;
        delete s_bank;
        delete s_codec;
        delete s_decoder;
        delete s_t5;
    }

    static void generateAndCompare(const std::string& caseName)
    {
        compareGeneration(*s_t5, *s_decoder, *s_codec, caseName);
    }

public:
    // Greedy CFG generation of a case's prompts with whatever is merged (or hooked) now; checks codes, scores,
    // audio.
    static void compareGeneration(
        const T5Encoder& t5, const MusicgenDecoder& decoder, const Encodec& codec, const std::string& caseName)
    {
        SCOPED_TRACE(caseName);
        c10::InferenceMode guard;
        const at::Tensor ids = fixture(caseName, "input_ids"), mask = fixture(caseName, "attention_mask");
        const at::Tensor states = t5.forward(ids, mask); // [2, 16, 32]
        SamplingParams params;
        params.greedy = true;
        params.guidanceScale = 3.0;
        std::vector<at::Tensor> top2;
        GenerateTrace trace;
        trace.onScores
            = [&](int64_t, const at::Tensor& scores) { top2.push_back(std::get<0>(scores.topk(2, -1)).cpu()); };
        Expected<at::Tensor> codes = generateCodes(decoder, states, mask, 17, params, {}, trace);
        ASSERT_TRUE(codes.ok()) << codes.error().message;
        const at::Tensor expectedCodes = fixture(caseName, "codes"); // [2, 4, 17]
        EXPECT_TRUE(at::equal(*codes, expectedCodes))
            << (*codes).ne(expectedCodes).sum().item<int64_t>() << " codes differ";
        const at::Tensor scores = at::stack(top2), expectedScores = fixture(caseName, "top2_scores"); // [20, 8, 2]
        ASSERT_EQ(scores.sizes(), expectedScores.sizes());
        EXPECT_TRUE(at::allclose(scores, expectedScores, 1e-4, 2e-4))
            << "max |diff| " << (scores - expectedScores).abs().max().item<double>();
        auto file = SafetensorsFile::open(fixtureDir() / "cases" / (caseName + ".safetensors"));
        if (file->find("audio_values")) {
            const at::Tensor audio = codec.decode(*codes).cpu(),
                             expected = fixture(caseName, "audio_values"); // [2, 1, 10880]
            ASSERT_EQ(audio.sizes(), expected.sizes());
            EXPECT_TRUE(at::allclose(audio, expected, 1e-3, 1e-4))
                << "max |diff| " << (audio - expected).abs().max().item<double>();
        }
    }

protected:
    static T5Encoder* s_t5;
    static MusicgenDecoder* s_decoder;
    static Encodec* s_codec;
    static AdapterBank* s_bank;
    static AdapterMerger* s_merger;
};

T5Encoder* AdapterGenerateTest::s_t5 = nullptr;
MusicgenDecoder* AdapterGenerateTest::s_decoder = nullptr;
Encodec* AdapterGenerateTest::s_codec = nullptr;
AdapterBank* AdapterGenerateTest::s_bank = nullptr;
AdapterMerger* AdapterGenerateTest::s_merger = nullptr;

TEST_F(AdapterGenerateTest, BankCasesGenerateHuggingFacesCodes)
{
    // "zero" last as well: after the others, the weights must be W0 again.
    for (const std::string caseName : { "zero", "mixed", "extreme", "formats", "zero" }) {
        Expected<nlohmann::json> sliders = readJsonFile(fixtureDir() / "cases" / (caseName + ".sliders.json"));
        ASSERT_TRUE(sliders.ok());
        Expected<MergeStats> merged = s_merger->applySliders(*s_bank, sliders->get<SliderValues>());
        ASSERT_TRUE(merged.ok()) << merged.error().message;
        generateAndCompare(caseName);
    }
}

TEST_F(AdapterGenerateTest, OptionalEmbeddingLoraCase)
{
    ASSERT_TRUE(s_merger->restoreBase().ok());
    Expected<LoraAdapter> adapter = LoraAdapter::load(fixtureDir() / "optional" / "embed-lora");
    ASSERT_TRUE(adapter.ok()) << adapter.error().message;
    ASSERT_TRUE(s_merger->add("embed-lora", std::make_shared<const LoraAdapter>(std::move(*adapter))).ok());
    ASSERT_TRUE(s_merger->apply({ { "embed-lora", 1.3 } }).ok());
    generateAndCompare("optional_embed_lora");
    ASSERT_TRUE(s_merger->restoreBase().ok());
}

// The sliders' run-time path (Steering::applyAtRuntime, issue 16): with the weights left at W0 and the
// adapters added through the decoder's LoRA hook, every case gives Hugging Face's codes (made from merged
// weights) and scores within the same tolerance; consolidate() merges them without changing the result; a
// run-time move on top of a merge reaches the new values; and the weights are never written until a merge.
TEST(AdapterRuntime, RuntimeSlidersGiveHuggingFacesCodes)
{
    auto model = MusicgenModel::load(modelDir(), ModelOptions {});
    ASSERT_TRUE(model.ok()) << model.error().message;
    const MusicgenModel::Impl& parts = modelParts(**model);
    const std::string probe = "decoder.model.decoder.layers.0.self_attn.q_proj.weight";
    const at::Tensor w0 = parts.decoder->parameter(probe)->clone();
    auto steering = Steering::load(*model, fixtureDir() / "bank", metrics());
    ASSERT_TRUE(steering.ok()) << steering.error().message;
    auto sliders = [](const std::string& caseName) {
        Expected<nlohmann::json> json = readJsonFile(fixtureDir() / "cases" / (caseName + ".sliders.json"));
        EXPECT_TRUE(json.ok());
        return json.ok() ? json->get<SliderValues>() : SliderValues {};
    };
    for (const std::string caseName : { "mixed", "extreme", "formats", "zero" }) {
        Expected<SteeringMergeInfo> moved = (*steering)->applyAtRuntime(sliders(caseName));
        ASSERT_TRUE(moved.ok()) << moved.error().message;
        EXPECT_EQ(moved->modulesWritten, 0) << caseName;
        EXPECT_EQ(moved->runtimeAdapters > 0, caseName != "zero") << caseName;
        EXPECT_TRUE(at::equal(*parts.decoder->parameter(probe), w0)) << caseName << ": a weight was written";
        AdapterGenerateTest::compareGeneration(*parts.textEncoder, *parts.decoder, *parts.codec, caseName);
    }
    ASSERT_TRUE((*steering)->applyAtRuntime(sliders("extreme")).ok());
    Expected<std::optional<SteeringMergeInfo>> merged = (*steering)->consolidate();
    ASSERT_TRUE(merged.ok() && merged->has_value());
    EXPECT_GT((*merged)->modulesWritten, 0);
    EXPECT_EQ((*steering)->runtimeAdapters(), 0);
    EXPECT_FALSE(at::equal(*parts.decoder->parameter(probe), w0));
    AdapterGenerateTest::compareGeneration(*parts.textEncoder, *parts.decoder, *parts.codec, "extreme");
    // Merged at "extreme", moved at run time to "mixed": the hook carries the difference.
    Expected<SteeringMergeInfo> moved = (*steering)->applyAtRuntime(sliders("mixed"));
    ASSERT_TRUE(moved.ok());
    EXPECT_GT(moved->runtimeAdapters, 0);
    AdapterGenerateTest::compareGeneration(*parts.textEncoder, *parts.decoder, *parts.codec, "mixed");
    // A long generation merges first; a short one keeps the run-time terms.
    Expected<std::optional<SteeringMergeInfo>> shortRun = (*steering)->prepareGeneration(sliders("formats"), 1);
    ASSERT_TRUE(shortRun.ok());
    EXPECT_GT((*steering)->runtimeAdapters(), 0);
    Expected<std::optional<SteeringMergeInfo>> longRun = (*steering)->prepareGeneration(sliders("formats"), 100000);
    ASSERT_TRUE(longRun.ok() && longRun->has_value());
    EXPECT_EQ((*steering)->runtimeAdapters(), 0);
    AdapterGenerateTest::compareGeneration(*parts.textEncoder, *parts.decoder, *parts.codec, "formats");
}

// A bf16 adapter moved alone at run time (rating+ is the fixture bank's bf16 one) keeps its factors in bf16: a
// step reads half the bytes, and converting the bank's bf16 values back loses nothing. They meet the float32
// activations widened, never rounding them, so the greedy codes equal those of the same sliders merged.
TEST(AdapterRuntime, Bf16FactorsStayBf16AndGiveTheMergedCodes)
{
    auto model = MusicgenModel::load(modelDir(), ModelOptions {});
    ASSERT_TRUE(model.ok()) << model.error().message;
    auto steering = Steering::load(*model, fixtureDir() / "bank", metrics());
    ASSERT_TRUE(steering.ok()) << steering.error().message;
    Expected<SafetensorsFile> file
        = SafetensorsFile::open(fixtureDir() / "bank" / "rating+" / "adapter_model.safetensors");
    ASSERT_TRUE(file.ok()) << file.error().message;
    int64_t elements = 0;
    for (const TensorInfo& info : file->tensors()) {
        ASSERT_EQ(info.dtype, DType::BF16) << info.name;
        int64_t n = 1;
        for (int64_t d : info.shape) n *= d;
        elements += n;
    }
    GenerationRequest request = GenerationRequest::defaultsFor((*model)->info());
    request.prompts = { "80s pop track with bassy drums and synth", "90s rock song with loud guitars" };
    request.frames = 24;
    request.sampling.greedy = true;
    const SliderValues sliders { { "rating", 0.8 } };

    Expected<SteeringMergeInfo> moved = (*steering)->applyAtRuntime(sliders);
    ASSERT_TRUE(moved.ok()) << moved.error().message;
    EXPECT_EQ(moved->runtimeAdapters, 1);
    EXPECT_EQ((*steering)->runtimeBytes(), 2 * elements) << "the run-time factors are bf16";
    Expected<GenerationResult> runtime = generate(**model, request);
    ASSERT_TRUE(runtime.ok()) << runtime.error().message;

    Expected<std::optional<SteeringMergeInfo>> merged = (*steering)->consolidate();
    ASSERT_TRUE(merged.ok() && merged->has_value());
    EXPECT_EQ((*steering)->runtimeAdapters(), 0);
    Expected<GenerationResult> fromMerged = generate(**model, request);
    ASSERT_TRUE(fromMerged.ok()) << fromMerged.error().message;
    EXPECT_EQ(runtime->codes.values, fromMerged->codes.values);

    // With a float32 adapter (energy+) moved too, the modules both touch keep float32 factors.
    ASSERT_TRUE((*steering)->applyAtRuntime({ { "rating", 0.0 }, { "energy", 0.5 } }).ok());
    EXPECT_GT((*steering)->runtimeBytes(), 2 * elements);
}

} // namespace
} // namespace tmk
