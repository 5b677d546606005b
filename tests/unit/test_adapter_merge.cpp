// The bipolar slider merge against adapters-tiny-public: every case's merged weights within 1e-5, zero
// sliders bit-exact W0, 1,000 random slider moves ending at the direct formula without drift, only the
// modules whose coefficients changed are written, slider and bank errors name the valid ids, one-sided
// metrics, registerAdapter, bf16 weights, and random banks.
#include <fstream>
#include <gtest/gtest.h>
#include <random>

#include <ATen/ATen.h>

#include "adapters/adapter_bank.h"
#include "adapters/merger.h"
#include "core/json.h"
#include "pipeline/model_access.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/devtools/benchmarks.h"
#include "tastemaker/devtools/model_maker.h"
#include "tastemaker/fileio.h"
#include "tastemaker/steering.h"
#include "tastemaker/tensorio.h"
#include "tensorio/torch/torch_tensor.h"
#include "testsupport.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;
using Weights = std::map<std::string, at::Tensor>;

fs::path fixtureDir()
{
    return test::dataDir() / "adapters-tiny-public";
}
fs::path bankDir()
{
    return fixtureDir() / "bank";
}
fs::path modelDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

const std::vector<MetricInfo>& metrics()
{
    static const std::vector<MetricInfo> loaded = [] {
        const char* source = std::getenv("TM_SOURCE_DIR");
        const fs::path root = source && *source ? fs::path(source) : test::dataDir() / ".." / "..";
        auto list = loadMetrics(root / "resources" / "metrics.json");
        EXPECT_TRUE(list.ok()) << (list.ok() ? "" : list.error().message);
        return list.ok() ? *list : std::vector<MetricInfo> {};
    }();
    return loaded;
}

// The base model's tensors (float32, never written).
const Weights& pristine()
{
    static const Weights weights = [] {
        Weights loaded;
        auto checkpoint = SafetensorsCheckpoint::open(modelDir());
        EXPECT_TRUE(checkpoint.ok());
        for (const std::string& name : checkpoint->names()) loaded[name] = *loadTensor(*checkpoint, name);
        return loaded;
    }();
    return weights;
}

// A model the merger writes into: a fresh copy of the base tensors.
struct Model {
    explicit Model(at::ScalarType dtype = at::kFloat)
    {
        for (const auto& [name, tensor] : pristine()) weights[name] = tensor.to(dtype).clone();
    }
    ParameterLookup lookup()
    {
        return [this](const std::string& name) -> at::Tensor* {
            auto found = weights.find(name);
            return found == weights.end() ? nullptr : &found->second;
        };
    }
    Weights weights;
};

AdapterBank loadBank(Model& model, const fs::path& dir = bankDir())
{
    Expected<AdapterBank> bank = AdapterBank::load(dir, metrics(), model.lookup());
    if (!bank.ok()) ADD_FAILURE() << bank.error().message;
    return std::move(bank.value());
}

SliderValues readSliders(const std::string& caseName)
{
    Expected<nlohmann::json> json = readJsonFile(fixtureDir() / "cases" / (caseName + ".sliders.json"));
    EXPECT_TRUE(json.ok());
    return json->get<SliderValues>();
}

// Every `merged.<key>` tensor of a case file.
Weights expectedMerged(const std::string& caseName)
{
    auto file = SafetensorsFile::open(fixtureDir() / "cases" / (caseName + ".safetensors"));
    EXPECT_TRUE(file.ok());
    Weights merged;
    for (const TensorInfo& info : file->tensors())
        if (info.name.rfind("merged.", 0) == 0)
            merged[info.name.substr(7)] = toTensor(file->data(info), info.dtype, info.shape);
    return merged;
}

void expectClose(const at::Tensor& actual, const at::Tensor& expected, double tolerance, const std::string& what)
{
    ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
    const at::Tensor a = actual.to(at::kDouble), e = expected.to(at::kDouble);
    EXPECT_TRUE(at::allclose(a, e, tolerance, tolerance))
        << what << ": max |diff| " << (a - e).abs().max().item<double>();
}

// The direct formula in float64 from the stored factors: W0 + sum |s| * scale * delta.
Weights directFormula(const AdapterBank& bank, const SliderValues& sliders)
{
    Weights result;
    for (const auto& [id, value] : sliders) {
        if (value == 0.0) continue;
        const LoraAdapter* adapter = bank.adapter(id, value > 0 ? AdapterSide::Positive : AdapterSide::Negative);
        for (const LoraModule& module : adapter->modules()) {
            at::Tensor& w = result[module.weightName()];
            if (!w.defined()) w = pristine().at(module.weightName()).to(at::kDouble);
            at::Tensor product = at::matmul(module.b.to(at::kDouble), module.a.to(at::kDouble));
            if (module.kind == LoraKind::Embedding) product = product.t();
            w = w + product * (std::abs(value) * module.scale);
        }
    }
    return result;
}

int countModules(const AdapterBank& bank, const std::string& name)
{
    for (const AdapterBank::Entry& entry : bank.entries())
        if (entry.name == name) return static_cast<int>(entry.adapter->modules().size());
    return -1;
}

TEST(AdapterMerge, FixtureCasesGiveTheExpectedWeights)
{
    for (const std::string caseName : { "zero", "mixed", "extreme", "formats" }) {
        SCOPED_TRACE(caseName);
        Model model;
        const AdapterBank bank = loadBank(model);
        EXPECT_EQ(bank.entries().size(), 26u);
        AdapterMerger merger(model.lookup());
        ASSERT_TRUE(merger.addBank(bank).ok());
        const SliderValues sliders = readSliders(caseName);
        Expected<MergeStats> stats = merger.applySliders(bank, sliders);
        ASSERT_TRUE(stats.ok()) << stats.error().message;

        for (const auto& [key, expected] : expectedMerged(caseName))
            expectClose(model.weights.at(key), expected, 1e-5, key);
        const Weights direct = directFormula(bank, sliders);
        for (const auto& [key, tensor] : model.weights) {
            auto found = direct.find(key);
            if (found == direct.end())
                EXPECT_TRUE(at::equal(tensor, pristine().at(key))) << key << " should be W0";
            else
                expectClose(tensor, found->second, 1e-5, key);
        }
        if (caseName == "zero") {
            EXPECT_EQ(stats->modulesRecomputed, 0);
        }
    }
}

TEST(AdapterMerge, OptionalEmbeddingLoraCase)
{
    Model model;
    Expected<LoraAdapter> adapter = LoraAdapter::load(fixtureDir() / "optional" / "embed-lora");
    ASSERT_TRUE(adapter.ok()) << adapter.error().message;
    AdapterMerger merger(model.lookup());
    ASSERT_TRUE(merger.add("embed-lora", std::make_shared<const LoraAdapter>(std::move(*adapter))).ok());
    Expected<MergeStats> stats = merger.apply({ { "embed-lora", 1.3 } });
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    EXPECT_EQ(stats->modulesRecomputed, 29);
    const Weights expected = expectedMerged("optional_embed_lora");
    EXPECT_EQ(expected.size(), 7u);
    for (const auto& [key, tensor] : expected) expectClose(model.weights.at(key), tensor, 1e-5, key);
    ASSERT_TRUE(merger.restoreBase().ok());
    for (const auto& [key, tensor] : model.weights) EXPECT_TRUE(at::equal(tensor, pristine().at(key))) << key;
}

TEST(AdapterMerge, ThousandRandomMovesEndAtTheDirectFormula)
{
    Model model;
    const AdapterBank bank = loadBank(model);
    AdapterMerger merger(model.lookup());
    ASSERT_TRUE(merger.addBank(bank).ok());
    std::mt19937 rng(20240611);
    std::uniform_real_distribution<double> value(-2.0, 2.0);
    std::uniform_int_distribution<int> count(1, 13), metric(0, 12), percent(0, 99);
    SliderValues sliders;
    for (const MetricInfo& info : metrics()) sliders[info.id] = 0.0;
    int recomputed = 0;
    for (int move = 0; move < 1000; ++move) {
        for (int n = count(rng); n > 0; --n) {
            const int roll = percent(rng);
            sliders[metrics()[static_cast<size_t>(metric(rng))].id] = roll < 15 ? 0.0
                : roll < 20                                                     ? (roll % 2 ? 2.0 : -2.0)
                                                                                : value(rng);
        }
        Expected<MergeStats> stats = merger.applySliders(bank, sliders);
        ASSERT_TRUE(stats.ok()) << stats.error().message;
        recomputed += stats->modulesRecomputed;
    }
    EXPECT_GT(recomputed, 1000);
    const Weights direct = directFormula(bank, sliders);
    EXPECT_FALSE(direct.empty());
    for (const auto& [key, tensor] : model.weights) {
        auto found = direct.find(key);
        if (found == direct.end())
            EXPECT_TRUE(at::equal(tensor, pristine().at(key))) << key;
        else
            expectClose(tensor, found->second, 1e-5, key);
    }
    // The 1,000th merge equals a first merge of the same sliders, bit for bit.
    Model fresh;
    AdapterMerger first(fresh.lookup());
    ASSERT_TRUE(first.addBank(loadBank(fresh)).ok());
    ASSERT_TRUE(first.applySliders(bank, sliders).ok());
    for (const auto& [key, tensor] : model.weights) EXPECT_TRUE(at::equal(tensor, fresh.weights.at(key))) << key;
    // And all-zero sliders give W0 exactly.
    for (auto& [id, v] : sliders) v = 0.0;
    ASSERT_TRUE(merger.applySliders(bank, sliders).ok());
    for (const auto& [key, tensor] : model.weights) EXPECT_TRUE(at::equal(tensor, pristine().at(key))) << key;
}

TEST(AdapterMerge, OnlyModulesWhoseCoefficientsChangedAreWritten)
{
    Model model;
    const AdapterBank bank = loadBank(model);
    AdapterMerger merger(model.lookup());
    ASSERT_TRUE(merger.addBank(bank).ok());
    const int total = static_cast<int>(merger.touchedWeights().size());
    EXPECT_EQ(total, 20 + 4 + 1); // the layers' linears, lm_heads (acousticness-, rating+), enc_to_dec_proj (rating+)

    Expected<MergeStats> energy = merger.applySliders(bank, { { "energy", 0.5 } });
    ASSERT_TRUE(energy.ok());
    EXPECT_EQ(energy->modulesRecomputed, countModules(bank, "energy+"));
    EXPECT_EQ(energy->modulesUnchanged, total - countModules(bank, "energy+"));

    // Poison a module liveness+ does not touch: moving liveness must not write it.
    const std::string untouched = "decoder.model.decoder.layers.0.fc1.weight";
    const at::Tensor merged = model.weights.at(untouched).clone();
    model.weights.at(untouched).zero_();
    Expected<MergeStats> liveness = merger.applySliders(bank, { { "energy", 0.5 }, { "liveness", 1.0 } });
    ASSERT_TRUE(liveness.ok());
    EXPECT_EQ(liveness->modulesRecomputed, 8);
    EXPECT_EQ(liveness->modulesRestored, 0);
    EXPECT_TRUE(model.weights.at(untouched).eq(0).all().item<bool>());
    merger.invalidate(); // the model changed behind the merger's back: rewrite everything
    Expected<MergeStats> again = merger.applySliders(bank, { { "energy", 0.5 }, { "liveness", 1.0 } });
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->modulesRecomputed + again->modulesRestored, total);
    EXPECT_TRUE(at::equal(model.weights.at(untouched), merged));

    Expected<MergeStats> same = merger.applySliders(bank, { { "energy", 0.5 }, { "liveness", 1.0 } });
    ASSERT_TRUE(same.ok());
    EXPECT_EQ(same->modulesRecomputed + same->modulesRestored, 0);

    Expected<MergeStats> flip
        = merger.applySliders(bank, { { "energy", -0.5 }, { "liveness", 1.0 } }); // energy+ -> energy-
    ASSERT_TRUE(flip.ok());
    EXPECT_EQ(flip->modulesRecomputed, 20);

    Expected<MergeStats> zero = merger.applySliders(bank, { { "energy", 0.0 } });
    ASSERT_TRUE(zero.ok());
    EXPECT_EQ(zero->modulesRestored, 20);
    for (const auto& [key, tensor] : model.weights) EXPECT_TRUE(at::equal(tensor, pristine().at(key))) << key;
}

TEST(AdapterMerge, SliderErrorsNameTheValidIdsAndRange)
{
    Model model;
    const AdapterBank bank = loadBank(model);
    AdapterMerger merger(model.lookup());
    ASSERT_TRUE(merger.addBank(bank).ok());
    ASSERT_TRUE(merger.applySliders(bank, { { "tempo", 1.0 } }).ok());

    Expected<MergeStats> range = merger.applySliders(bank, { { "energy", 2.5 } });
    ASSERT_FALSE(range.ok());
    EXPECT_NE(range.error().message.find("[-2, 2]"), std::string::npos) << range.error().message;
    EXPECT_NE(range.error().message.find("energy"), std::string::npos);
    Expected<MergeStats> unknown = merger.applySliders(bank, { { "loudness", 0.5 } });
    ASSERT_FALSE(unknown.ok());
    for (const MetricInfo& info : metrics())
        EXPECT_NE(unknown.error().message.find(info.id), std::string::npos) << info.id;
    EXPECT_FALSE(merger.applySliders(bank, { { "energy", std::nan("") } }).ok());
    EXPECT_TRUE(merger.applySliders(bank, { { "energy", -2.0 }, { "tempo", 1.0 } }).ok()); // the ends are valid

    Expected<MergeStats> name = merger.apply({ { "energy*", 1.0 } });
    ASSERT_FALSE(name.ok());
    EXPECT_NE(name.error().message.find("energy+, energy-"), std::string::npos) << name.error().message;
    EXPECT_FALSE(merger.apply({ { "energy+", -1.0 } }).ok());
    EXPECT_EQ(merger.weights(), (std::map<std::string, double> { { "energy-", 2.0 }, { "tempo+", 1.0 } }));
    EXPECT_TRUE(validateSliders({ { "energy", 2.0 } }, metrics()).ok());
    Expected<std::pair<std::string, double>> parsed = parseSliderAssignment("valence=-0.4");
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->first, "valence");
    EXPECT_EQ(parsed->second, -0.4);
    EXPECT_FALSE(parseSliderAssignment("valence").ok());
    EXPECT_FALSE(parseSliderAssignment("valence=abc").ok());
}

fs::path writeBank(const std::string& name, const std::string& bankJson)
{
    const fs::path dir = test::freshOutDir("merge_" + name);
    std::ofstream(dir / "bank.json") << bankJson;
    return dir;
}

TEST(AdapterMerge, MetricsWithOneSideStillWork)
{
    const std::string energy = fs::absolute(bankDir() / "energy+").string();
    const fs::path dir = writeBank("one_sided",
        R"({"format": 1, "base_model": "musicgen-tiny-public", "metrics": {
        "energy": {"+": ")"
            + energy + R"("}, "tempo": {"-": "tempo-", "+": null}}})");
    fs::copy(bankDir() / "tempo-", dir / "tempo-", fs::copy_options::recursive);
    Model model;
    const AdapterBank bank = loadBank(model, dir);
    const BankSummary& summary = bank.summary();
    EXPECT_EQ(summary.baseModel, "musicgen-tiny-public");
    EXPECT_EQ(summary.adapterCount(), 2);
    ASSERT_EQ(summary.metrics.size(), 13u);
    EXPECT_TRUE(summary.find("energy")->hasPositive());
    EXPECT_FALSE(summary.find("energy")->hasNegative());
    EXPECT_TRUE(summary.find("tempo")->hasNegative());
    EXPECT_FALSE(summary.find("tempo")->hasPositive());
    EXPECT_FALSE(summary.find("valence")->hasPositive() || summary.find("valence")->hasNegative());

    AdapterMerger merger(model.lookup());
    ASSERT_TRUE(merger.addBank(bank).ok());
    ASSERT_TRUE(merger.applySliders(bank, { { "energy", 0.7 }, { "tempo", -1.0 } }).ok());
    for (const auto& [key, expected] : directFormula(bank, { { "energy", 0.7 }, { "tempo", -1.0 } }))
        expectClose(model.weights.at(key), expected, 1e-5, key);
    Expected<MergeStats> missing = merger.applySliders(bank, { { "energy", -0.7 } });
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("\"energy-\""), std::string::npos) << missing.error().message;
    EXPECT_FALSE(merger.applySliders(bank, { { "valence", 0.1 } }).ok());
    EXPECT_TRUE(merger.applySliders(bank, { { "valence", 0.0 } }).ok());
}

TEST(AdapterMerge, BrokenBanksAreRefused)
{
    Model model;
    auto expectError = [&](const std::string& name, const std::string& json, const std::vector<std::string>& parts) {
        SCOPED_TRACE(name);
        const fs::path dir = writeBank(name, json);
        Expected<AdapterBank> bank = AdapterBank::load(dir, metrics(), model.lookup());
        ASSERT_FALSE(bank.ok());
        for (const std::string& part : parts)
            EXPECT_NE(bank.error().message.find(part), std::string::npos) << bank.error().message;
    };
    expectError("unknown_metric", R"({"format": 1, "metrics": {"loudness": {"+": "x"}}})",
        { "loudness", "popularity, acousticness, danceability", "rating" });
    expectError("bad_side", R"({"format": 1, "metrics": {"energy": {"up": "x"}}})", { "\"up\"", "\"+\" and \"-\"" });
    expectError(
        "missing_dir", R"({"format": 1, "metrics": {"energy": {"+": "nowhere"}}})", { "nowhere", "does not exist" });
    expectError("format", R"({"format": 2, "metrics": {}})", { "format 2" });

    // An adapter that does not fit the model is refused when the bank loads, naming the tensor.
    LoraConfig config;
    config.r = 2;
    std::vector<LoraModule> modules(1);
    modules[0].path = "decoder.lm_heads.1";
    modules[0].a = at::randn({ 2, 32 });
    modules[0].b = at::randn({ 64, 2 });
    const fs::path dir = writeBank("wrong_shape", R"({"format": 1, "metrics": {"energy": {"+": "energy+"}}})");
    ASSERT_TRUE(LoraAdapter::fromModules(config, modules)->save(dir / "energy+").ok());
    Expected<AdapterBank> bank = AdapterBank::load(dir, metrics(), model.lookup());
    ASSERT_FALSE(bank.ok());
    EXPECT_NE(bank.error().message.find("base_model.model.decoder.lm_heads.1.lora_A.weight"), std::string::npos)
        << bank.error().message;
}

TEST(AdapterMerge, RegisterAdapterUpdatesBankJson)
{
    const fs::path dir = test::freshOutDir("merge_register");
    fs::copy(bankDir() / "energy+", dir / "energy+", fs::copy_options::recursive);
    fs::copy(bankDir() / "energy-", dir / "energy-", fs::copy_options::recursive);
    ASSERT_TRUE(
        registerAdapter(dir, "energy", AdapterSide::Negative, dir / "energy-", metrics(), "musicgen-tiny-public").ok());
    ASSERT_TRUE(registerAdapter(dir, "energy", AdapterSide::Positive, dir / "energy+", metrics()).ok());
    const fs::path outside = fs::absolute(bankDir() / "tempo+");
    ASSERT_TRUE(registerAdapter(dir, "tempo", AdapterSide::Positive, outside, metrics()).ok());

    Expected<nlohmann::json> json = readJsonFile(dir / "bank.json");
    ASSERT_TRUE(json.ok());
    EXPECT_EQ((*json)["format"], 1);
    EXPECT_EQ((*json)["base_model"], "musicgen-tiny-public");
    EXPECT_EQ((*json)["metrics"]["energy"], (nlohmann::json { { "+", "energy+" }, { "-", "energy-" } }));
    EXPECT_EQ((*json)["metrics"]["tempo"]["+"], outside.lexically_normal().string());

    Model model;
    const AdapterBank bank = loadBank(model, dir);
    EXPECT_EQ(bank.summary().adapterCount(), 3);
    EXPECT_TRUE(bank.summary().find("energy")->hasNegative());

    Expected<void> unknown = registerAdapter(dir, "loudness", AdapterSide::Positive, dir / "energy+", metrics());
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.error().message.find("view_count"), std::string::npos);
    Expected<void> empty
        = registerAdapter(dir, "valence", AdapterSide::Positive, test::freshOutDir("merge_register_empty"), metrics());
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.error().message.find("adapter_config.json"), std::string::npos);
}

TEST(AdapterMerge, MemoryIsReportedAndBf16FactorsTakeTwoBytes)
{
    Model model;
    const AdapterBank bank = loadBank(model);
    AdapterMerger merger(model.lookup());
    ASSERT_TRUE(merger.addBank(bank).ok());
    size_t baseBytes = 0;
    for (const std::string& name : merger.touchedWeights()) baseBytes += model.weights.at(name).nbytes();
    size_t factorBytes = 0; // float32, but a bf16 file's Linear factors are kept in bf16 (rating+ is one)
    bool someBf16 = false;
    for (const AdapterBank::Entry& entry : bank.entries())
        for (const LoraModule& module : entry.adapter->modules()) {
            const bool bf16 = module.storedDtype == DType::BF16 && module.kind == LoraKind::Linear;
            someBf16 = someBf16 || bf16;
            factorBytes += size_t(module.a.numel() + module.b.numel()) * (bf16 ? 2 : sizeof(float));
        }
    EXPECT_TRUE(someBf16);
    EXPECT_EQ(merger.memory().baseBytes, baseBytes);
    EXPECT_EQ(merger.memory().factorBytes, factorBytes);
}

TEST(AdapterMerge, Bfloat16WeightsAreMergedInFloat32AndCastOnce)
{
    Model model(at::kBFloat16);
    const AdapterBank bank = loadBank(model);
    AdapterMerger merger(model.lookup());
    ASSERT_TRUE(merger.addBank(bank).ok());
    ASSERT_TRUE(merger.applySliders(bank, readSliders("mixed")).ok());
    for (const auto& [key, merged] : expectedMerged("mixed")) {
        const at::Tensor& actual = model.weights.at(key);
        EXPECT_EQ(actual.scalar_type(), at::kBFloat16);
        // W0 is the bf16 one; the delta is added in float32 and the sum rounded to bf16 once.
        const at::Tensor delta = merged - pristine().at(key);
        const at::Tensor expected = (pristine().at(key).to(at::kBFloat16).to(at::kFloat) + delta).to(at::kBFloat16);
        const double mismatch = actual.ne(expected).to(at::kFloat).mean().item<double>();
        EXPECT_LT(mismatch, 0.01) << key; // rounding ties of a ~1e-7 different float32 sum may differ
        EXPECT_TRUE(at::allclose(actual.to(at::kFloat), expected.to(at::kFloat), 8e-3, 1e-5)) << key;
    }
    ASSERT_TRUE(merger.restoreBase().ok());
    for (const auto& [key, tensor] : model.weights)
        EXPECT_TRUE(at::equal(tensor, pristine().at(key).to(at::kBFloat16))) << key;
}

TEST(AdapterMerge, RandomBankIsValidDeterministicAndVisible)
{
    const fs::path out = test::freshOutDir("merge_random_bank");
    RandomBankParams params;
    params.modelDir = modelDir();
    params.outDir = out / "a";
    params.rank = 4;
    params.alpha = 8;
    params.seed = 7;
    Expected<BankSummary> summary = makeRandomAdapterBank(params, metrics());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->adapterCount(), 26);
    EXPECT_EQ(summary->baseModel, "musicgen-tiny-public");
    params.outDir = out / "b";
    ASSERT_TRUE(makeRandomAdapterBank(params, metrics()).ok());
    EXPECT_EQ(*readFileText(out / "a" / "energy+" / "adapter_model.safetensors"),
        *readFileText(out / "b" / "energy+" / "adapter_model.safetensors"));
    EXPECT_NE(*readFileText(out / "a" / "energy+" / "adapter_model.safetensors"),
        *readFileText(out / "a" / "energy-" / "adapter_model.safetensors"));

    Model model;
    const AdapterBank bank = loadBank(model, out / "a");
    EXPECT_EQ(bank.entries().size(), 26u);
    EXPECT_EQ(countModules(bank, "valence-"), 20);
    AdapterMerger merger(model.lookup());
    ASSERT_TRUE(merger.addBank(bank).ok());
    ASSERT_TRUE(merger.applySliders(bank, { { "energy", 1.0 } }).ok());
    for (const char* key :
        { "decoder.model.decoder.layers.0.fc1.weight", "decoder.model.decoder.layers.1.self_attn.k_proj.weight" }) {
        const at::Tensor delta = model.weights.at(key) - pristine().at(key);
        const double ratio = delta.std().item<double>() * std::sqrt(double(pristine().at(key).size(1)));
        EXPECT_GT(ratio, 0.25) << key;
        EXPECT_LT(ratio, 0.45) << key;
    }
}

TEST(AdapterMerge, MergeBenchmarkRunsOnAConfig)
{
    MergeBenchParams params;
    params.config = modelDir() / "config.json";
    params.rank = 4;
    params.repeats = 2;
    Expected<MergeBenchResult> result = benchmarkMerge(params, metrics());
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->adapters, 26);
    EXPECT_EQ(result->modules, 20);
    EXPECT_EQ(result->touchedParameters, 2 * (8 * 64 * 64 + 2 * 128 * 64));
    EXPECT_EQ(result->baseBytes, size_t(result->touchedParameters) * sizeof(float));
    EXPECT_GT(result->allSlidersMs, 0.0);
    EXPECT_NE(result->toString().find("all 13 sliders move"), std::string::npos);
    params.dtype = "f64";
    EXPECT_FALSE(benchmarkMerge(params, metrics()).ok());
    params.dtype = "bf16";
    params.device = "cuda:0";
    if (!at::hasCUDA()) {
        EXPECT_EQ(benchmarkMerge(params, metrics()).error().code, ErrorCode::Device);
    }
}

} // namespace
} // namespace tmk

namespace tmk {
namespace {

// Closing a bank hands the model back as it was loaded: after a Steering with non-zero sliders is destroyed,
// every decoder weight equals the checkpoint's again, so a later bank or training run starts from W0.
TEST(AdapterMerge, DestroyingSteeringRestoresTheBaseWeights)
{
    auto model = MusicgenModel::load(modelDir(), ModelOptions {});
    ASSERT_TRUE(model.ok()) << model.error().message;
    const MusicgenDecoder& decoder = *modelParts(**model).decoder;
    const std::string probe = "decoder.model.decoder.layers.0.self_attn.q_proj.weight";
    ASSERT_NE(decoder.parameter(probe), nullptr);
    {
        auto steering = Steering::load(*model, bankDir(), metrics());
        ASSERT_TRUE(steering.ok()) << steering.error().message;
        ASSERT_TRUE((*steering)->apply({ { "energy", 0.8 }, { "tempo", -1.0 } }).ok());
        EXPECT_FALSE(at::equal(*decoder.parameter(probe), pristine().at(probe)));
    }
    for (const std::string& name : decoder.parameterNames()) {
        auto it = pristine().find(name);
        if (it == pristine().end()) continue; // e.g. a computed position table
        EXPECT_TRUE(at::equal(*decoder.parameter(name), it->second)) << name;
    }
}

// bank.json records the base model's fingerprint: filled in by the first registration that knows it, an
// adapter of another model is refused, bank-export keeps it, and a bank opened on another model says so.
TEST(AdapterMerge, BankRecordsItsBaseModelAndWarnsOnAnother)
{
    const fs::path dir = test::freshOutDir("merge_fingerprint");
    for (const char* name : { "energy+", "energy-", "tempo+" })
        fs::copy(bankDir() / name, dir / name, fs::copy_options::recursive);
    Expected<ContentIdentity> tiny = modelIdentity(modelDir());
    ASSERT_TRUE(tiny) << tiny.error().message;
    // An older bank without a fingerprint: the next registration that knows it records it beside base_model.
    ASSERT_TRUE(registerAdapter(dir, "energy", AdapterSide::Positive, dir / "energy+", metrics(), "tiny"));
    EXPECT_TRUE(readBankSummary(dir, metrics())->baseModelFingerprint.empty());
    ASSERT_TRUE(
        registerAdapter(dir, "energy", AdapterSide::Negative, dir / "energy-", metrics(), "tiny", tiny->fingerprint));
    const std::string text = *readFileText(dir / "bank.json");
    EXPECT_LT(text.find("\"base_model\""), text.find("\"base_model_fingerprint\"")) << text;
    EXPECT_LT(text.find("\"base_model_fingerprint\""), text.find("\"metrics\"")) << text;
    EXPECT_EQ(readBankSummary(dir, metrics())->baseModelFingerprint, tiny->fingerprint);
    const std::string other = "sha256:" + std::string(64, 'a');
    Expected<void> refused
        = registerAdapter(dir, "tempo", AdapterSide::Positive, dir / "tempo+", metrics(), "other", other);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find(tiny->fingerprint), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("a bank of its own"), std::string::npos) << refused.error().message;
    EXPECT_FALSE(readBankSummary(dir, metrics())->find("tempo")->hasPositive()); // bank.json untouched
    ASSERT_TRUE(registerAdapter(dir, "tempo", AdapterSide::Positive, dir / "tempo+", metrics())); // unknown: kept

    const fs::path exported = test::freshOutDir("merge_fingerprint_export") / "bank";
    Expected<BankSummary> copy = exportBank(dir, exported, DType::F32, metrics());
    ASSERT_TRUE(copy) << copy.error().message;
    EXPECT_EQ(copy->baseModelFingerprint, tiny->fingerprint);

    auto model = MusicgenModel::load(modelDir(), ModelOptions {});
    ASSERT_TRUE(model.ok()) << model.error().message;
    {
        auto steering = Steering::load(*model, dir, metrics());
        ASSERT_TRUE(steering.ok()) << steering.error().message;
        EXPECT_EQ((*steering)->summary().modelWarning, ""); // its own model
    }
    Expected<nlohmann::json> json = readJsonFile(dir / "bank.json");
    ASSERT_TRUE(json);
    (*json)["base_model_fingerprint"] = other;
    ASSERT_TRUE(writeFileAtomic(dir / "bank.json", json->dump(2)));
    auto steering = Steering::load(*model, dir, metrics());
    ASSERT_TRUE(steering.ok()) << steering.error().message; // still opens: the shapes fit
    const std::string& warning = (*steering)->summary().modelWarning;
    EXPECT_NE(warning.find("tiny"), std::string::npos) << warning;
    EXPECT_NE(warning.find("sha256:aaaaaaaaaaaa"), std::string::npos) << warning;
    EXPECT_NE(warning.find("may not steer"), std::string::npos) << warning;
    EXPECT_TRUE((*steering)->apply({ { "energy", 0.5 } }).ok());
    // Re-based onto the open model by an export (after a codec swap, say): it opens without a warning.
    const fs::path rebased = test::freshOutDir("merge_fingerprint_rebased") / "bank";
    Expected<BankSummary> moved
        = exportBank(dir, rebased, DType::F32, metrics(), {}, BankBase { "musicgen-tiny-public", tiny->fingerprint });
    ASSERT_TRUE(moved) << moved.error().message;
    EXPECT_EQ(moved->baseModelFingerprint, tiny->fingerprint);
    EXPECT_EQ(moved->baseModel, "musicgen-tiny-public");
    {
        auto onIt = Steering::load(*model, rebased, metrics());
        ASSERT_TRUE(onIt.ok()) << onIt.error().message;
        EXPECT_EQ((*onIt)->summary().modelWarning, "");
    }
    (*json)["base_model_fingerprint"] = 7;
    ASSERT_TRUE(writeFileAtomic(dir / "bank.json", json->dump(2)));
    Expected<BankSummary> broken = readBankSummary(dir, metrics());
    ASSERT_FALSE(broken);
    EXPECT_NE(broken.error().message.find("base_model_fingerprint"), std::string::npos);
}

} // namespace
} // namespace tmk
