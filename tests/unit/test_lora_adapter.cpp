// PEFT LoRA adapters (ADAPTERS.md): the fixture bank's formats (full-model and decoder-only wraps, BF16,
// rsLoRA, rank/alpha_pattern, regex target_modules, Embedding LoRA) give the stated ranks and scales; our
// writer's output reads back identically and its adapter_config.json equals PEFT's byte for byte; every
// unsupported or broken adapter is refused with a message naming the file and tensor. exportBank copies a bank.
#include <cmath>
#include <fstream>
#include <gtest/gtest.h>
#include <set>

#include <ATen/ATen.h>

#include "adapters/lora_adapter.h"
#include "core/json.h"
#include "tastemaker/adapters.h"
#include "tastemaker/fileio.h"
#include "tensorio/torch/torch_tensor.h"
#include "testsupport.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

fs::path fixtureDir()
{
    return test::dataDir() / "adapters-tiny-public";
}
fs::path bankDir()
{
    return fixtureDir() / "bank";
}
const std::string kPrefix = "base_model.model.decoder.model.decoder.layers.";

// The base model's tensors by model.safetensors key, and a lookup over them.
std::map<std::string, at::Tensor>& baseWeights()
{
    static std::map<std::string, at::Tensor> weights = [] {
        std::map<std::string, at::Tensor> loaded;
        auto checkpoint = SafetensorsCheckpoint::open(test::dataDir() / "musicgen-tiny-public");
        EXPECT_TRUE(checkpoint.ok());
        for (const std::string& name : checkpoint->names()) loaded[name] = *loadTensor(*checkpoint, name);
        return loaded;
    }();
    return weights;
}

ParameterLookup baseLookup()
{
    return [](const std::string& name) -> at::Tensor* {
        auto found = baseWeights().find(name);
        return found == baseWeights().end() ? nullptr : &found->second;
    };
}

LoraAdapter loadOrFail(const fs::path& dir)
{
    Expected<LoraAdapter> adapter = LoraAdapter::load(dir);
    if (!adapter.ok()) ADD_FAILURE() << adapter.error().message;
    return std::move(adapter.value());
}

std::string readText(const fs::path& path)
{
    return *readFileText(path);
}

void expectMentions(const Error& error, const std::vector<std::string>& parts)
{
    for (const std::string& part : parts)
        EXPECT_NE(error.message.find(part), std::string::npos) << error.message << "\n  lacks: " << part;
}

// A copy of a fixture adapter folder in a fresh output folder, to be edited.
fs::path copyAdapter(const std::string& name, const std::string& testName)
{
    const fs::path dir = test::freshOutDir("lora_" + testName) / name;
    fs::copy(bankDir() / name, dir, fs::copy_options::recursive);
    return dir;
}

// Adds or replaces config keys of the adapter folder's adapter_config.json.
void patchConfig(const fs::path& dir, const nlohmann::json& patch)
{
    nlohmann::json config = *readJsonFile(dir / "adapter_config.json");
    config.merge_patch(patch);
    ASSERT_TRUE(writeFileAtomic(dir / "adapter_config.json", config.dump(2)).ok());
}

// Adds a tensor to the adapter folder's adapter_model.safetensors.
void addTensor(const fs::path& dir, const std::string& key, const at::Tensor& value)
{
    auto file = SafetensorsFile::open(dir / "adapter_model.safetensors");
    ASSERT_TRUE(file.ok());
    std::map<std::string, at::Tensor> tensors;
    for (const TensorInfo& info : file->tensors())
        tensors[info.name] = toTensor(file->data(info), info.dtype, info.shape);
    tensors[key] = value;
    ASSERT_TRUE(saveTensors(dir / "adapter_model.safetensors", tensors, { { "format", "pt" } }).ok());
}

TEST(LoraAdapter, FixtureAdaptersHaveTheStatedModulesAndScales)
{
    Expected<nlohmann::json> fixtures = readJsonFile(fixtureDir() / "fixtures.json");
    ASSERT_TRUE(fixtures.ok());
    for (const auto& [name, facts] : (*fixtures)["adapters"].items()) {
        SCOPED_TRACE(name);
        const LoraAdapter adapter = loadOrFail(fixtureDir() / facts["dir"].get<std::string>());
        EXPECT_EQ(adapter.modules().size(), facts["n_modules"].get<size_t>());
        EXPECT_EQ(adapter.wrap(), facts["wrap"] == "full" ? PeftWrap::FullModel : PeftWrap::DecoderOnly);
        std::set<double> scales;
        std::set<std::string> kinds;
        for (const LoraModule& module : adapter.modules()) {
            scales.insert(module.scale);
            kinds.insert(module.kind == LoraKind::Linear ? "linear" : "embedding");
            EXPECT_EQ(module.storedDtype, facts["dtype"] == "bfloat16" ? DType::BF16 : DType::F32);
            EXPECT_EQ(module.a.scalar_type(), at::kFloat);
        }
        EXPECT_EQ(scales, facts["scales"].get<std::set<double>>());
        EXPECT_EQ(kinds, facts["kinds"].get<std::set<std::string>>());
        for (const auto& [module, override] : facts["overrides"].items()) {
            const LoraModule* found = adapter.findModule(module);
            ASSERT_NE(found, nullptr) << module;
            EXPECT_EQ(found->rank(), override["r"].get<int64_t>());
            EXPECT_EQ(found->alpha, override["alpha"].get<double>());
            EXPECT_EQ(found->scale, override["scale"].get<double>());
        }
        EXPECT_TRUE(adapter.checkAgainst(baseLookup()).ok());
    }
}

TEST(LoraAdapter, SpecialFormatsGiveTheScalesAdaptersMdStates)
{
    const LoraAdapter liveness = loadOrFail(bankDir() / "liveness+"); // r 2, alpha 8, regex targets
    ASSERT_EQ(liveness.modules().size(), 8u);
    for (const LoraModule& module : liveness.modules()) {
        EXPECT_EQ(module.rank(), 2);
        EXPECT_EQ(module.scale, 4.0);
        EXPECT_TRUE(liveness.config().targets(module.peftPath)) << module.path;
    }
    EXPECT_TRUE(liveness.config().targetRegex.has_value());
    EXPECT_FALSE(liveness.config().targets("decoder.model.decoder.layers.0.fc1"));

    const LoraAdapter speech = loadOrFail(bankDir() / "speechiness-"); // rank_pattern / alpha_pattern
    const LoraModule* fc1 = speech.findModule("decoder.model.decoder.layers.0.fc1");
    const LoraModule* v1 = speech.findModule("decoder.model.decoder.layers.1.encoder_attn.v_proj");
    const LoraModule* v0 = speech.findModule("decoder.model.decoder.layers.0.encoder_attn.v_proj");
    ASSERT_TRUE(fc1 && v1 && v0);
    EXPECT_EQ(fc1->rank(), 4);
    EXPECT_EQ(fc1->scale, 16.0);
    EXPECT_EQ(v1->rank(), 8);
    EXPECT_EQ(v1->scale, 0.5);
    EXPECT_EQ(v0->scale, 2.0);

    const LoraAdapter dance = loadOrFail(bankDir() / "danceability+"); // rsLoRA: alpha / sqrt(r)
    for (const LoraModule& module : dance.modules()) EXPECT_EQ(module.scale, 8.0 / std::sqrt(4.0));

    const LoraAdapter acoustic = loadOrFail(bankDir() / "acousticness-"); // PEFT around the decoder only
    EXPECT_EQ(acoustic.wrap(), PeftWrap::DecoderOnly);
    const LoraModule* head = acoustic.findModule("decoder.lm_heads.0");
    ASSERT_NE(head, nullptr);
    EXPECT_EQ(head->peftPath, "lm_heads.0");
    EXPECT_EQ(head->keyA, "base_model.model.lm_heads.0.lora_A.weight");
    EXPECT_NE(acoustic.findModule("decoder.model.decoder.layers.1.fc2"), nullptr);

    const LoraAdapter rating = loadOrFail(bankDir() / "rating+"); // BF16, peft 0.17.1 keys
    const LoraModule* proj = rating.findModule("enc_to_dec_proj");
    ASSERT_NE(proj, nullptr);
    EXPECT_EQ(proj->deltaShape(), (std::vector<int64_t> { 64, 32 }));
    auto file = SafetensorsFile::open(bankDir() / "rating+" / "adapter_model.safetensors");
    const TensorInfo* info = file->find(proj->keyA);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->dtype, DType::BF16);
    EXPECT_TRUE(at::equal(proj->a, toTensor(file->data(*info), info->dtype, info->shape).to(at::kFloat)));

    const LoraAdapter embed = loadOrFail(fixtureDir() / "optional" / "embed-lora"); // Embedding LoRA
    const LoraModule* table = embed.findModule("decoder.model.decoder.embed_tokens.2");
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->kind, LoraKind::Embedding);
    EXPECT_EQ(table->a.sizes().vec(), (std::vector<int64_t> { 4, 65 }));
    EXPECT_EQ(table->b.sizes().vec(), (std::vector<int64_t> { 64, 4 }));
    EXPECT_EQ(table->deltaShape(), (std::vector<int64_t> { 65, 64 }));
    EXPECT_TRUE(at::allclose(table->delta(), at::matmul(table->b, table->a).t() * 4.0));
}

TEST(LoraAdapter, ConfigIsWrittenExactlyAsPeft0111WritesIt)
{
    Expected<nlohmann::json> fixtures = readJsonFile(fixtureDir() / "fixtures.json");
    ASSERT_TRUE(fixtures.ok());
    int compared = 0;
    for (const auto& [name, facts] : (*fixtures)["adapters"].items()) {
        if (facts["config_style"] != "peft-0.11.1") continue;
        const fs::path dir = fixtureDir() / facts["dir"].get<std::string>();
        EXPECT_EQ(loadOrFail(dir).config().toJson(), readText(dir / "adapter_config.json")) << name;
        ++compared;
    }
    EXPECT_EQ(compared, 26);
}

void expectSameAdapter(const LoraAdapter& read, const LoraAdapter& written)
{
    ASSERT_EQ(read.modules().size(), written.modules().size());
    for (size_t i = 0; i < read.modules().size(); ++i) {
        const LoraModule& x = read.modules()[i];
        const LoraModule& y = written.modules()[i];
        EXPECT_EQ(x.path, y.path);
        EXPECT_EQ(x.kind, y.kind);
        EXPECT_EQ(x.storedDtype, y.storedDtype);
        EXPECT_EQ(x.scale, y.scale) << x.path;
        EXPECT_TRUE(at::equal(x.a, y.a)) << x.path;
        EXPECT_TRUE(at::equal(x.b, y.b)) << x.path;
    }
    EXPECT_EQ(read.config().toJson(), written.config().toJson());
}

TEST(LoraAdapter, WriterOutputReadsBackIdentically)
{
    const fs::path out = test::freshOutDir("lora_roundtrip");
    for (const fs::path& source :
        { fixtureDir() / "optional" / "embed-lora", bankDir() / "rating+", bankDir() / "speechiness-" }) {
        SCOPED_TRACE(source.string());
        const LoraAdapter original = loadOrFail(source);
        const fs::path dir = out / source.filename();
        ASSERT_TRUE(original.save(dir).ok());
        const LoraAdapter reread = loadOrFail(dir);
        expectSameAdapter(reread, original);
        EXPECT_EQ(readText(dir / "adapter_config.json"), original.config().toJson());
        auto file = SafetensorsFile::open(dir / "adapter_model.safetensors");
        ASSERT_TRUE(file.ok());
        EXPECT_EQ(file->metadata(), (std::map<std::string, std::string> { { "format", "pt" } }));
        EXPECT_EQ(file->tensors().size(), 2 * original.modules().size());
        for (const TensorInfo& info : file->tensors())
            EXPECT_EQ(info.name.rfind("base_model.model.", 0), 0u) << info.name;
    }
    // A decoder-only adapter is written with full-model paths and keeps its modules and scales.
    const LoraAdapter decoderOnly = loadOrFail(bankDir() / "acousticness-");
    ASSERT_TRUE(decoderOnly.save(out / "acousticness-").ok());
    const LoraAdapter rewritten = loadOrFail(out / "acousticness-");
    EXPECT_EQ(rewritten.wrap(), PeftWrap::FullModel);
    ASSERT_NE(rewritten.findModule("decoder.lm_heads.3"), nullptr);
    EXPECT_EQ(rewritten.findModule("decoder.lm_heads.3")->keyA, "base_model.model.decoder.lm_heads.3.lora_A.weight");
    EXPECT_TRUE(at::equal(
        rewritten.findModule("decoder.lm_heads.3")->delta(), decoderOnly.findModule("decoder.lm_heads.3")->delta()));
}

TEST(LoraAdapter, InMemoryAdapterRoundTrips)
{
    LoraConfig config;
    config.r = 3;
    config.loraAlpha = 6;
    config.targetModules = { "fc1", "embed_tokens.0" };
    config.baseModelNameOrPath = "musicgen-tiny-public";
    config.alphaPattern = { { "layers.1.fc1", 1.5 } };
    std::vector<LoraModule> modules(3);
    modules[0].path = "decoder.model.decoder.layers.0.fc1";
    modules[0].a = at::randn({ 3, 64 });
    modules[0].b = at::randn({ 128, 3 });
    modules[1].path = "decoder.model.decoder.layers.1.fc1";
    modules[1].a = at::randn({ 3, 64 });
    modules[1].b = at::randn({ 128, 3 });
    modules[2].path = "decoder.model.decoder.embed_tokens.0";
    modules[2].kind = LoraKind::Embedding;
    modules[2].a = at::randn({ 3, 65 });
    modules[2].b = at::randn({ 64, 3 });
    Expected<LoraAdapter> made = LoraAdapter::fromModules(config, modules);
    ASSERT_TRUE(made.ok()) << made.error().message;
    EXPECT_EQ(made->findModule("decoder.model.decoder.layers.1.fc1")->scale, 0.5);
    EXPECT_EQ(made->findModule("decoder.model.decoder.layers.0.fc1")->scale, 2.0);
    EXPECT_TRUE(made->checkAgainst(baseLookup()).ok());
    const fs::path dir = test::freshOutDir("lora_inmemory") / "made";
    ASSERT_TRUE(made->save(dir).ok());
    const LoraAdapter reread = loadOrFail(dir);
    expectSameAdapter(reread, *made);
    EXPECT_EQ(reread.config().alphaPattern, config.alphaPattern);
    EXPECT_EQ(reread.config().targetModules, config.targetModules);
    EXPECT_EQ(reread.config().baseModelNameOrPath, "musicgen-tiny-public");
    EXPECT_NE(reread.findModule("decoder.model.decoder.embed_tokens.0"), nullptr);
    EXPECT_EQ(reread.findModule("decoder.model.decoder.embed_tokens.0")->keyB,
        "base_model.model.decoder.model.decoder.embed_tokens.0.lora_embedding_B");
}

// An adapter with one module of the given shapes, written by our writer.
fs::path writeOneModule(
    const std::string& testName, const std::string& path, std::vector<int64_t> aShape, std::vector<int64_t> bShape)
{
    LoraConfig config;
    config.r = aShape[0];
    std::vector<LoraModule> modules(1);
    modules[0].path = path;
    modules[0].a = at::randn(aShape);
    modules[0].b = at::randn(bShape);
    Expected<LoraAdapter> made = LoraAdapter::fromModules(config, modules);
    EXPECT_TRUE(made.ok());
    const fs::path dir = test::freshOutDir("lora_" + testName) / "adapter";
    EXPECT_TRUE(made->save(dir).ok());
    return dir;
}

TEST(LoraAdapter, WrongShapeIsRefusedNamingTheTensor)
{
    const fs::path dir = writeOneModule("wrong_shape", "decoder.model.decoder.layers.0.fc1", { 4, 32 }, { 128, 4 });
    const LoraAdapter adapter = loadOrFail(dir);
    Expected<void> checked = adapter.checkAgainst(baseLookup());
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().code, ErrorCode::Mismatch);
    expectMentions(checked.error(),
        { kPrefix + "0.fc1.lora_A.weight", "decoder.model.decoder.layers.0.fc1.weight", "[128, 32]", "[128, 64]",
            "adapter_model.safetensors" });
}

TEST(LoraAdapter, UnknownTargetModuleIsRefusedNamingIt)
{
    for (const std::string module :
        { "decoder.model.decoder.layers.7.fc1", "decoder.model.decoder.layers.0.self_attn.rope_proj" }) {
        const fs::path dir = writeOneModule("unknown_target", module, { 4, 64 }, { 128, 4 });
        Expected<void> checked = loadOrFail(dir).checkAgainst(baseLookup());
        ASSERT_FALSE(checked.ok());
        expectMentions(
            checked.error(), { module, "base model does not have", "base_model.model." + module + ".lora_A.weight" });
    }
    // T5 modules (a dreamboothing run with the text encoder unfrozen) are refused, not skipped.
    const fs::path t5
        = writeOneModule("t5_target", "text_encoder.encoder.block.0.layer.0.SelfAttention.q", { 4, 32 }, { 32, 4 });
    Expected<void> checked = loadOrFail(t5).checkAgainst(baseLookup());
    ASSERT_FALSE(checked.ok());
    expectMentions(checked.error(), { "text_encoder.encoder.block.0.layer.0.SelfAttention.q", "decoder" });
}

TEST(LoraAdapter, CorruptFilesAreRefusedNamingTheFile)
{
    const fs::path dir = copyAdapter("energy+", "corrupt");
    const fs::path model = dir / "adapter_model.safetensors";
    fs::resize_file(model, fs::file_size(model) - 100); // truncated data
    Expected<LoraAdapter> truncated = LoraAdapter::load(dir);
    ASSERT_FALSE(truncated.ok());
    expectMentions(truncated.error(), { model.string() });

    const std::string garbageBytes("\x10\0\0\0\0\0\0\0{not json at all", 24); // header length 16, then no JSON
    std::ofstream(model, std::ios::binary | std::ios::trunc)
        .write(garbageBytes.data(), std::streamsize(garbageBytes.size()));
    Expected<LoraAdapter> garbage = LoraAdapter::load(dir);
    ASSERT_FALSE(garbage.ok());
    expectMentions(garbage.error(), { model.string() });

    const fs::path configDir = copyAdapter("energy+", "corrupt_config");
    std::ofstream(configDir / "adapter_config.json", std::ios::trunc) << "{\"r\": 4, ";
    Expected<LoraAdapter> config = LoraAdapter::load(configDir);
    ASSERT_FALSE(config.ok());
    expectMentions(config.error(), { (configDir / "adapter_config.json").string(), "JSON" });
}

TEST(LoraAdapter, UnsupportedTensorsAreRefusedNamingThem)
{
    const std::string fc1 = kPrefix + "0.fc1";
    const std::vector<std::tuple<std::string, std::string, at::Tensor, std::string>> cases = {
        { "dora", fc1 + ".lora_magnitude_vector", at::ones({ 128 }), "DoRA" },
        { "lora_bias", fc1 + ".lora_B.bias", at::zeros({ 128 }), "lora_bias" },
        { "modules_to_save", "base_model.model.decoder.lm_heads.0.weight", at::zeros({ 64, 64 }), "modules_to_save" },
        { "bias_all", fc1 + ".bias", at::zeros({ 128 }), "bias=\"all\"" },
        { "named", fc1 + ".lora_A.other.weight", at::zeros({ 4, 64 }), "adapter name" },
        { "unknown", fc1 + ".lora_C.weight", at::zeros({ 4, 64 }), "not a LoRA factor" },
    };
    for (const auto& [name, key, value, why] : cases) {
        SCOPED_TRACE(name);
        const fs::path dir = copyAdapter("energy+", "tensor_" + name);
        addTensor(dir, key, value);
        Expected<LoraAdapter> adapter = LoraAdapter::load(dir);
        ASSERT_FALSE(adapter.ok());
        EXPECT_EQ(adapter.error().code, ErrorCode::Unsupported);
        expectMentions(adapter.error(), { key, why, (dir / "adapter_model.safetensors").string() });
    }
}

TEST(LoraAdapter, UnsupportedConfigsAreRefusedNamingTheKey)
{
    const std::vector<std::tuple<std::string, nlohmann::json, std::string>> cases = {
        { "dora", { { "use_dora", true } }, "use_dora" },
        { "lora_bias", { { "lora_bias", true } }, "lora_bias" },
        { "bias", { { "bias", "all" } }, "\"bias\" is \"all\"" },
        { "modules_to_save", { { "modules_to_save", { "lm_heads.0" } } }, "modules_to_save" },
        { "replication", { { "layer_replication", { { 0, 2 } } } }, "layer_replication" },
        { "pissa", { { "init_lora_weights", "pissa_niter_4" } }, "pissa_niter_4" },
        { "olora", { { "init_lora_weights", "olora" } }, "olora" },
        { "tokens", { { "trainable_token_indices", { 1, 2 } } }, "trainable_token_indices" },
        { "ia3", { { "peft_type", "IA3" } }, "IA3" },
        { "rank", { { "r", 8 } }, "rank 4" },
    };
    for (const auto& [name, patch, why] : cases) {
        SCOPED_TRACE(name);
        const fs::path dir = copyAdapter("energy+", "config_" + name);
        patchConfig(dir, patch);
        Expected<LoraAdapter> adapter = LoraAdapter::load(dir);
        ASSERT_FALSE(adapter.ok());
        expectMentions(adapter.error(), { why, "adapter_" });
    }
}

TEST(LoraAdapter, PickleOnlyAdapterIsRefused)
{
    const fs::path dir = copyAdapter("energy+", "pickle");
    fs::rename(dir / "adapter_model.safetensors", dir / "adapter_model.bin");
    Expected<LoraAdapter> adapter = LoraAdapter::load(dir);
    ASSERT_FALSE(adapter.ok());
    EXPECT_EQ(adapter.error().code, ErrorCode::Unsupported);
    expectMentions(adapter.error(), { (dir / "adapter_model.bin").string(), "pickle", "safetensors" });
}

TEST(LoraAdapter, UnknownKeysAreIgnoredAndMissingOnesDefaulted)
{
    const fs::path extra = copyAdapter("energy+", "unknown_keys");
    patchConfig(extra, { { "some_future_option", { { "nested", 1 } } }, { "use_qalora", false } });
    EXPECT_EQ(loadOrFail(extra).modules().size(), 20u);

    const fs::path minimal = copyAdapter("energy+", "minimal_config");
    std::ofstream(minimal / "adapter_config.json", std::ios::trunc) << R"({"peft_type": "LORA", "r": 4})";
    const LoraAdapter adapter = loadOrFail(minimal); // lora_alpha defaults to 8: scale 2
    ASSERT_FALSE(adapter.modules().empty());
    EXPECT_EQ(adapter.modules().front().scale, 2.0);
    EXPECT_EQ(adapter.wrap(), PeftWrap::FullModel); // from the paths

    // Saved under an adapter name other than "default": <dir>/<name>/.
    const fs::path parent = test::freshOutDir("lora_named_subfolder");
    fs::copy(bankDir() / "energy+", parent / "my_adapter", fs::copy_options::recursive);
    EXPECT_EQ(loadOrFail(parent).modules().size(), 20u);
}

TEST(LoraAdapter, MissingFactorIsRefused)
{
    const fs::path dir = writeOneModule("missing_factor", "decoder.model.decoder.layers.0.fc1", { 4, 64 }, { 128, 4 });
    auto file = SafetensorsFile::open(dir / "adapter_model.safetensors");
    const TensorInfo* a = file->find(kPrefix + "0.fc1.lora_A.weight");
    ASSERT_NE(a, nullptr);
    std::map<std::string, at::Tensor> onlyA = { { a->name, toTensor(file->data(*a), a->dtype, a->shape) } };
    ASSERT_TRUE(saveTensors(dir / "adapter_model.safetensors", onlyA, { { "format", "pt" } }).ok());
    Expected<LoraAdapter> adapter = LoraAdapter::load(dir);
    ASSERT_FALSE(adapter.ok());
    expectMentions(adapter.error(), { kPrefix + "0.fc1.lora_A.weight", "no matching B" });
}

TEST(BankExport, CopiesABankInBf16WithRelativePathsAndItsTrainingRecords)
{
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    ASSERT_TRUE(metrics.ok());
    const fs::path root = test::freshOutDir("bank_export");
    // A float32 copy first; one adapter of it then gets a training record, as a train-all run folder has.
    Expected<BankSummary> f32 = exportBank(bankDir(), root / "f32", DType::F32, *metrics);
    ASSERT_TRUE(f32.ok()) << f32.error().message;
    Expected<BankSummary> source = readBankSummary(bankDir(), *metrics);
    ASSERT_TRUE(source.ok());
    EXPECT_EQ(f32->adapterCount(), source->adapterCount());
    EXPECT_EQ(f32->baseModel, source->baseModel);
    ASSERT_TRUE(f32->metrics.front().hasPositive());
    const fs::path recorded = f32->metrics.front().positiveDir;
    ASSERT_TRUE(writeFileAtomic(recorded / "metrics.jsonl", std::string("{\"step\":1,\"loss\":0.69}\n")).ok());

    int calls = 0;
    Expected<BankSummary> bf16
        = exportBank(root / "f32", root / "bf16", DType::BF16, *metrics, [&](int done, int total) {
              ++calls;
              EXPECT_EQ(total, f32->adapterCount());
              EXPECT_EQ(done, calls);
          });
    ASSERT_TRUE(bf16.ok()) << bf16.error().message;
    EXPECT_EQ(calls, f32->adapterCount());
    EXPECT_FALSE(fs::exists(root / "bf16.partial"));
    EXPECT_FALSE(fs::exists(root / "bf16" / "bank.json.lock"));
    // bank.json names the adapters relative to the bank, so the folder can move.
    Expected<std::string> bankJson = readFileText(root / "bf16" / "bank.json");
    ASSERT_TRUE(bankJson.ok());
    EXPECT_EQ(bankJson->find(root.string()), std::string::npos) << *bankJson;
    Expected<std::string> record = readFileText(bf16->metrics.front().positiveDir / "metrics.jsonl");
    ASSERT_TRUE(record.ok()) << "the training record is copied";
    EXPECT_EQ(*record, "{\"step\":1,\"loss\":0.69}\n");
    for (const BankMetric& metric : f32->metrics) {
        const BankMetric* copy = bf16->find(metric.id);
        ASSERT_NE(copy, nullptr);
        for (AdapterSide side : { AdapterSide::Positive, AdapterSide::Negative }) {
            if (!metric.has(side)) continue;
            ASSERT_TRUE(copy->has(side)) << metric.id;
            Expected<SafetensorsFile> file = SafetensorsFile::open(copy->dir(side) / "adapter_model.safetensors");
            ASSERT_TRUE(file.ok());
            for (const TensorInfo& info : file->tensors()) EXPECT_EQ(info.dtype, DType::BF16) << info.name;
            Expected<LoraAdapter> before = LoraAdapter::load(metric.dir(side));
            Expected<LoraAdapter> after = LoraAdapter::load(copy->dir(side));
            ASSERT_TRUE(before.ok() && after.ok());
            ASSERT_EQ(before->modules().size(), after->modules().size());
            for (size_t m = 0; m < before->modules().size(); ++m) {
                const LoraModule &a = before->modules()[m], &b = after->modules()[m];
                EXPECT_EQ(a.scale, b.scale);
                // bfloat16 keeps 8 significant bits: each factor within 2^-8 of its value.
                EXPECT_TRUE(at::allclose(a.a, b.a, 1.0 / 256, 1e-30)) << a.path;
                EXPECT_TRUE(at::allclose(a.b, b.b, 1.0 / 256, 1e-30)) << a.path;
                EXPECT_TRUE(at::equal(b.a, b.a.to(at::kBFloat16).to(at::kFloat))) << "stored in bfloat16";
            }
        }
    }

    Expected<BankSummary> again = exportBank(root / "f32", root / "bf16", DType::BF16, *metrics);
    ASSERT_FALSE(again.ok());
    expectMentions(again.error(), { (root / "bf16").string(), "already exists" });
    Expected<BankSummary> integer = exportBank(root / "f32", root / "i64", DType::I64, *metrics);
    ASSERT_FALSE(integer.ok());
    expectMentions(integer.error(), { "BF16", "I64" });
    EXPECT_FALSE(fs::exists(root / "i64"));
}

} // namespace
} // namespace tmk
