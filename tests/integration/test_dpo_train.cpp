// DPO training end to end on the fixture model with synthetic preference pairs: chosen sequences have
// codebook-0 tokens mostly in the lower half of the vocabulary, rejected ones mostly in the upper half.
// Training raises held-out rewards/accuracies above 0.9; generating through Steering at +1 shows more of the
// property than the base model and the '-' adapter at -1 less (over several seeds); the adapter's merged
// logits equal the runtime LoRA's; a cancelled and resumed run ends where an uninterrupted one does; bad
// inputs are refused naming the file or metric.
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <random>

#include <ATen/ATen.h>

#include "adapters/lora_adapter.h"
#include "dpo_test_data.h"
#include "lm/delay_pattern.h"
#include "pipeline/model_access.h"
#include "process.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/fileio.h"
#include "tastemaker/pairs.h"
#include "tastemaker/steering.h"
#include "tastemaker/tensorio.h"
#include "tastemaker/token_cache.h"
#include "tastemaker/training.h"
#include "tensorio/torch/torch_tensor.h"
#include "testsupport.h"
#include "training/lora_runtime.h"
#include "training/sequence_logprob.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

using namespace dpo_test;

// The share of codebook-0 codes in the lower half over generations with several seeds.
double lowerHalfShare(const MusicgenModel& model)
{
    int64_t low = 0, all = 0;
    for (uint64_t seed = 0; seed < 6; ++seed) {
        GenerationRequest request = GenerationRequest::defaultsFor(model.info());
        request.prompts = { "rock, guitar", "jazz, piano" };
        request.frames = 30;
        request.sampling.seed = seed;
        request.decodeAudio = false;
        Expected<GenerationResult> result = generate(model, request);
        EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
        const AudioCodes& codes = result->codes;
        for (int64_t b = 0; b < codes.batch; ++b)
            for (int64_t t = 0; t < codes.frames; ++t, ++all)
                low += codes.values[static_cast<size_t>((b * codes.codebooks) * codes.frames + t)] < 32;
    }
    return static_cast<double>(low) / static_cast<double>(all);
}

TrainResult trainOrFail(const MusicgenModel& model, const TrainOptions& options, const TrainCallbacks& callbacks = {})
{
    Expected<TrainResult> result = trainDpo(model, options, metrics(), callbacks);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : TrainResult {};
}

// Teacher-forced logits [B*K, L, V] of `model` for some synthetic codes.
at::Tensor teacherLogits(const MusicgenModel& model)
{
    at::NoGradGuard noGrad;
    const MusicgenModel::Impl& impl = modelParts(model);
    PromptStates prompts
        = encodePromptsNoGrad(*impl.tokenizer, *impl.textEncoder, { "rock, guitar", "ambient, pads" }, at::kCPU);
    std::mt19937_64 rng(3);
    at::Tensor codes = padCodes({ at::tensor(songCodes(rng, 0.5).values).view({ 1, 4, kFrames }),
                                    at::tensor(songCodes(rng, 0.5).values).view({ 1, 4, kFrames }) },
        64);
    at::Tensor ids = delayCodesForTeacherForcing(codes, impl.decoder->config().padTokenId);
    DecoderState state
        = *impl.decoder->newState(impl.decoder->projectEncoder(prompts.states, prompts.mask), prompts.mask, 0);
    return impl.decoder->forward(ids.narrow(1, 0, ids.size(1) - 1), state);
}

TEST(DpoTrain, SteersTowardsThePreferredPropertyBothWays)
{
    const fs::path pairs = makePairs("dpo_steer_pairs", 48, 16);
    const fs::path root = test::freshOutDir("dpo_steer_runs");
    auto model = loadModel();
    for (AdapterSide side : { AdapterSide::Positive, AdapterSide::Negative }) {
        TrainOptions o = baseOptions(pairs, root / adapterName(kMetric, side));
        o.direction = side;
        o.maxSteps = 120;
        o.evalEvery = 40;
        o.checkpointEvery = 0;
        o.bankDir = root / "bank";
        std::vector<TrainLogEntry> seen;
        TrainCallbacks callbacks;
        callbacks.onLog = [&](const TrainLogEntry& e) { seen.push_back(e); };
        const TrainResult r = trainOrFail(*model, o, callbacks);
        ASSERT_FALSE(r.cancelled);
        ASSERT_TRUE(r.lastEval.has_value());
        EXPECT_EQ(r.trainPairs, 48);
        EXPECT_EQ(r.testPairs, 16);
        EXPECT_GT(*r.lastEval->value("eval_rewards/accuracies"), 0.9) << adapterName(kMetric, side);
        EXPECT_GT(*r.lastEval->value("eval_rewards/margins"), 0.0);
        // Every train entry has TRL's names; the log file holds what the callback saw (3 evaluations).
        for (const char* name : { "loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                 "logps/chosen", "logps/rejected", "learning_rate", "grad_norm" })
            EXPECT_TRUE(seen.front().value(name).has_value()) << name;
        Expected<std::vector<TrainLogEntry>> log = readTrainLog(o.outDir);
        ASSERT_TRUE(log.ok());
        ASSERT_EQ(log->size(), seen.size());
        EXPECT_EQ(seen.size(), 120u + 3u);
        EXPECT_EQ(log->back().split, "eval");
        Expected<RunInfo> info = readRunInfo(o.outDir);
        ASSERT_TRUE(info.ok());
        EXPECT_TRUE(info->finished);
        EXPECT_FALSE(info->hasCheckpoint);
        EXPECT_EQ(info->step, 120);
    }
    EXPECT_EQ(findRuns(root).size(), 2u);

    // Generation through the bank: +1 shows more codebook-0 codes in the lower half, -1 fewer.
    auto steered = loadModel();
    Expected<std::unique_ptr<Steering>> steering = Steering::load(steered, root / "bank", metrics());
    ASSERT_TRUE(steering.ok()) << steering.error().message;
    const double base = lowerHalfShare(*steered);
    ASSERT_TRUE((*steering)->apply({ { kMetric, 1.0 } }).ok());
    const double plus = lowerHalfShare(*steered);
    const at::Tensor mergedLogits = teacherLogits(*steered);
    ASSERT_TRUE((*steering)->apply({ { kMetric, -1.0 } }).ok());
    const double minus = lowerHalfShare(*steered);
    std::printf("lower-half share of codebook 0: base %.3f, +1 %.3f, -1 %.3f\n", base, plus, minus);
    EXPECT_GT(plus, base + 0.1);
    EXPECT_LT(minus, base - 0.1);

    // Interop: the saved adapter, run as a runtime LoRA on the unmerged model, gives the merged logits.
    Expected<LoraAdapter> adapter = LoraAdapter::load(root / adapterName(kMetric, AdapterSide::Positive));
    ASSERT_TRUE(adapter.ok()) << adapter.error().message;
    MusicgenDecoder& decoder = writableDecoder(*model);
    auto lora = LoraRuntime::create(decoder, LoraOptions {}, 0);
    ASSERT_TRUE(lora.ok());
    std::map<std::string, at::Tensor> factors;
    for (const LoraModule& m : adapter->modules())
        factors[m.path + ".lora_A.weight"] = m.a, factors[m.path + ".lora_B.weight"] = m.b;
    ASSERT_TRUE((*lora)->loadParameters(factors, adapter->modelFile()).ok());
    ScopedLoraHook hook(decoder, lora->get());
    const at::Tensor runtimeLogits = teacherLogits(*model);
    EXPECT_TRUE(at::allclose(runtimeLogits, mergedLogits, 1e-5, 1e-5))
        << (runtimeLogits - mergedLogits).abs().max().item<double>();
}

TEST(DpoTrain, ResumeEndsWhereAnUninterruptedRunEnds)
{
    const fs::path pairs = makePairs("dpo_resume_pairs", 12, 4);
    const fs::path root = test::freshOutDir("dpo_resume_runs");
    auto model = loadModel();
    TrainOptions o = baseOptions(pairs, root / "full");
    o.maxSteps = 12;
    o.evalEvery = 3;
    o.checkpointEvery = 4;
    o.batchSize = 2;
    o.gradientAccumulation = 2;
    o.schedule = LrSchedule::Cosine;
    trainOrFail(*model, o);

    o.outDir = root / "interrupted";
    CancelToken cancel;
    TrainCallbacks callbacks;
    callbacks.cancel = &cancel;
    callbacks.onLog = [&](const TrainLogEntry& e) {
        if (e.split == "train" && e.step == 6) cancel.requestCancel(); // the evaluation due at 6 is left pending
    };
    const TrainResult stopped = trainOrFail(*model, o, callbacks);
    EXPECT_TRUE(stopped.cancelled);
    EXPECT_EQ(stopped.step, 6);
    Expected<RunInfo> info = readRunInfo(o.outDir);
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(info->hasCheckpoint);
    EXPECT_FALSE(info->finished);
    EXPECT_EQ(info->step, 6);
    // Without --resume the folder is refused; a killed run's lines past the checkpoint are dropped on resume.
    Expected<TrainResult> refused = trainDpo(*model, o, metrics());
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("--resume"), std::string::npos) << refused.error().message;
    {
        std::FILE* f = std::fopen((o.outDir / "metrics.jsonl").c_str(), "a");
        std::fputs("{\"epoch\":9,\"loss\":1,\"split\":\"train\",\"step\":7}\n", f);
        std::fclose(f);
    }
    o.resume = true;
    const TrainResult resumed = trainOrFail(*model, o);
    EXPECT_FALSE(resumed.cancelled);
    EXPECT_EQ(resumed.step, 12);

    expectSameAdapters(root / "full", root / "interrupted", 1e-6);
    EXPECT_EQ(readTrainLog(root / "full")->size(), 12u + 4u); // evaluations at 3, 6, 9 and the end
    expectSameLogs(root / "full", root / "interrupted", 1e-6);
    // Resuming a finished run returns at once.
    const TrainResult done = trainOrFail(*model, o);
    EXPECT_EQ(done.step, 12);
    ASSERT_TRUE(done.lastEval.has_value());
}

void expectError(const Expected<TrainResult>& result, const std::vector<std::string>& parts)
{
    ASSERT_FALSE(result.ok());
    for (const std::string& part : parts)
        EXPECT_NE(result.error().message.find(part), std::string::npos) << result.error().message;
}

TEST(DpoTrain, MalformedInputsAreRefusedNamingTheFileOrMetric)
{
    auto model = loadModel();
    const fs::path root = test::freshOutDir("dpo_malformed_runs");
    TrainOptions o = baseOptions(root / "no-such-pairs", root / "a");
    o.maxSteps = 2;
    expectError(trainDpo(*model, o, metrics()), { "no-such-pairs", "pairs folder" });

    const fs::path pairs = makePairs("dpo_malformed_pairs", 3, 1, /*withCodes=*/1);
    o.pairsDir = pairs;
    o.metric = "loudness";
    expectError(trainDpo(*model, o, metrics()), { "loudness", "energy", "valence" });
    o.metric = "valence";
    expectError(trainDpo(*model, o, metrics()), { "pairs.jsonl", "valence" });
    o.metric = kMetric;
    expectError(trainDpo(*model, o, metrics()), { "tokens", kMetric, "tokenize" });
    o.beta = 0;
    expectError(trainDpo(*model, o, metrics()), { "beta" });
    o.beta = 0.1;
    o.rpoAlpha = -1;
    expectError(trainDpo(*model, o, metrics()), { "--rpo-alpha" });
    o.rpoAlpha = 0;
    o.codebookWeights = { 1, -1, 0, 0 };
    expectError(trainDpo(*model, o, metrics()), { "codebook weights", "not negative" });
    o.codebookWeights = { 0, 0, 0, 0 };
    expectError(trainDpo(*model, o, metrics()), { "at least one codebook weight" });
    o.codebookWeights = { 1, 0 };
    const int64_t codebooks = modelParts(*model).decoder->config().numCodebooks;
    expectError(
        trainDpo(*model, o, metrics()), { "2 codebook weights", "has " + std::to_string(codebooks) + " codebooks" });
}

// RPO (--rpo-alpha): the first step's policy is the reference (B = 0), so the DPO part is ln 2 and the loss adds
// alpha times the chosen songs' negative log-likelihood per code. Over a run the chosen songs' log-probs end
// higher than plain DPO leaves them.
TEST(DpoTrain, RpoAddsTheChosenSongsNegativeLogLikelihood)
{
    const fs::path pairs = makePairs("dpo_rpo_pairs", 24, 8);
    const fs::path root = test::freshOutDir("dpo_rpo_runs");
    auto model = loadModel();
    const int64_t codebooks = modelParts(*model).decoder->config().numCodebooks;
    std::map<double, std::vector<TrainLogEntry>> logs;
    for (double alpha : { 0.0, 0.5 }) {
        TrainOptions o = baseOptions(pairs, root / ("alpha-" + std::to_string(alpha)));
        o.maxSteps = 30;
        o.evalEvery = 0;
        o.checkpointEvery = 0;
        o.rpoAlpha = alpha;
        TrainCallbacks callbacks;
        callbacks.onLog = [&](const TrainLogEntry& e) { logs[alpha].push_back(e); };
        trainOrFail(*model, o, callbacks);
        ASSERT_FALSE(logs[alpha].empty());
    }
    const TrainLogEntry& first = logs[0.5].front();
    ASSERT_EQ(first.step, 1);
    const double chosen = *first.value("logps/chosen");
    EXPECT_NEAR(*logs[0.0].front().value("loss"), std::log(2.0), 1e-5);
    EXPECT_NEAR(*first.value("loss"), std::log(2.0) - 0.5 * chosen / static_cast<double>(codebooks * kFrames), 1e-4);
    auto lastTrainChosen = [&](double alpha) {
        for (auto e = logs[alpha].rbegin(); e != logs[alpha].rend(); ++e)
            if (e->split == "train") return e->value("logps/chosen").value_or(0.0);
        return 0.0;
    };
    const double plainEnd = lastTrainChosen(0.0), rpoEnd = lastTrainChosen(0.5);
    std::printf("chosen log-prob after 30 steps: DPO %.2f, RPO %.2f (start %.2f)\n", plainEnd, rpoEnd, chosen);
    EXPECT_GT(rpoEnd, plainEnd);
}

// The codebook weights are a run setting: run.json keeps them (a resume trains with the same), and a run
// without them writes none, as before.
TEST(DpoTrain, CodebookWeightsAndRpoAreKeptInTheRunSettings)
{
    TrainOptions o = baseOptions("pairs", "out");
    EXPECT_EQ(o.toJson().find("codebook_weights"), std::string::npos);
    EXPECT_EQ(o.toJson().find("rpo_alpha"), std::string::npos);
    o.codebookWeights = { 1, 0, 0.5, 0 };
    o.rpoAlpha = 0.25;
    Expected<TrainOptions> back = TrainOptions::fromJson(o.toJson());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->codebookWeights, o.codebookWeights);
    EXPECT_EQ(back->rpoAlpha, 0.25);
}

TEST(DpoTrainCli, TrainAndTrainAllWithABank)
{
    const fs::path pairs = makePairs("dpo_cli_pairs", 8, 2);
    const fs::path root = test::freshOutDir("dpo_cli_runs");
    const std::vector<std::string> common = { "--model", modelDir().string(), "--pairs", pairs.string(), "--steps", "3",
        "--batch", "2", "--max-frames", "16", "--eval-every", "0", "--rank", "4", "--targets", "q_proj,v_proj" };
    std::vector<std::string> args
        = { "train", "--metric", kMetric, "--direction", "+", "--out", (root / "one").string() };
    args.insert(args.end(), common.begin(), common.end());
    test::ProcessResult r = test::runProcess(test::cliPath().string(), args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    Expected<LoraAdapter> adapter = LoraAdapter::load(root / "one");
    ASSERT_TRUE(adapter.ok()) << adapter.error().message;
    EXPECT_EQ(adapter->config().r, 4);
    EXPECT_EQ(adapter->modules().size(), 2u * 2 * 2); // q and v of self- and cross-attention, 2 layers
    args[4] = "sideways";
    r = test::runProcess(test::cliPath().string(), args);
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("sideways"), std::string::npos) << r.err;

    args = { "train-all", "--out", (root / "all").string(), "--bank", (root / "bank").string() };
    args.insert(args.end(), common.begin(), common.end());
    r = test::runProcess(test::cliPath().string(), args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    ASSERT_NO_FATAL_FAILURE(expectBothSidesTrained(root / "all", root / "bank"));
    // Again: both runs are finished and skipped.
    r = test::runProcess(test::cliPath().string(), args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.err.find("(finished)"), std::string::npos) << r.err;

    // --metrics picks (and orders) the metrics; one the pairs folder has no train pairs of is refused by name.
    args.insert(args.end(), { "--metrics", kMetric });
    r = test::runProcess(test::cliPath().string(), args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    args.back() = "valence";
    r = test::runProcess(test::cliPath().string(), args);
    EXPECT_EQ(r.exitCode, 2) << r.err;
    for (const std::string& part : { std::string("valence"), std::string(kMetric), pairs.string() })
        EXPECT_NE(r.err.find(part), std::string::npos) << r.err << "\n  lacks: " << part;

    // bank-export: a movable bf16 copy of the bank the runs registered in.
    r = test::runProcess(test::cliPath().string(),
        { "bank-export", "--bank", (root / "bank").string(), "--out", (root / "export").string() });
    ASSERT_EQ(r.exitCode, 0) << r.err;
    Expected<BankSummary> exported = readBankSummary(root / "export", metrics());
    ASSERT_TRUE(exported.ok()) << exported.error().message;
    EXPECT_EQ(exported->adapterCount(), 2);
    EXPECT_TRUE(fs::exists(root / "export" / (std::string(kMetric) + "+") / "metrics.jsonl"));
    r = test::runProcess(test::cliPath().string(),
        { "bank-export", "--bank", (root / "bank").string(), "--out", (root / "export").string(), "--dtype", "i64" });
    EXPECT_EQ(r.exitCode, 2) << r.err;
    EXPECT_NE(r.err.find("i64"), std::string::npos) << r.err;
}

// export-dpo writes the pairs and codes a run uses, for PEFT + TRL (docs/training.md); bank-add registers a
// PEFT adapter folder as a slider side, checked against the model first.
TEST(DpoTrainCli, ExportDpoWritesTheRunsPairsAndCodes)
{
    const fs::path pairs = makePairs("dpo_export_pairs", 6, 2, /*withCodes=*/14); // pair 7's songs lack codes
    const fs::path out = test::freshOutDir("dpo_export_out");
    test::ProcessResult r = test::runProcess(test::cliPath().string(),
        { "export-dpo", "--model", modelDir().string(), "--pairs", pairs.string(), "--metric", kMetric, "--direction",
            "-", "--max-frames", "20", "--out", out.string() });
    ASSERT_EQ(r.exitCode, 0) << r.err;
    // What a Python reader sees: every pair line names two tensors of codes.safetensors.
    Expected<SafetensorsFile> codes = SafetensorsFile::open(out / "codes.safetensors");
    ASSERT_TRUE(codes.ok()) << codes.error().message;
    int64_t lines = 0;
    for (const char* split : { "train.jsonl", "test.jsonl" }) {
        std::ifstream in(out / split);
        for (std::string line; std::getline(in, line); ++lines) {
            const auto pair = nlohmann::json::parse(line);
            const std::string chosen = pair.at("chosen"), rejected = pair.at("rejected");
            // '-' swaps: the chosen song is the odd one (the upper half of codebook 0).
            EXPECT_EQ(std::stoi(chosen.substr(4)) % 2, 1) << line;
            EXPECT_EQ(std::stoi(rejected.substr(4)) % 2, 0) << line;
            EXPECT_FALSE(pair.at("prompt").get<std::string>().empty());
            for (const std::string& song : { chosen, rejected }) {
                const TensorInfo* info = codes->find(song);
                ASSERT_NE(info, nullptr) << song;
                EXPECT_EQ(info->dtype, DType::I64);
                EXPECT_EQ(info->shape, (std::vector<int64_t> { 4, 20 })) << song; // cropped from 24 frames
            }
        }
    }
    EXPECT_EQ(lines, 7); // 6 train + 2 test pairs, one without codes
    const auto description = nlohmann::json::parse(*readFileText(out / "export.json"));
    EXPECT_EQ(description.at("adapter_name"), std::string(kMetric) + "-");
    EXPECT_EQ(description.at("skipped_pairs"), 1);
    EXPECT_EQ(description.at("songs"), 14);

    // bank-add: a PEFT adapter folder (the fixture bank's, checked by PEFT itself) becomes a slider side and
    // generates exactly as in the bank it came from.
    const fs::path peft = test::dataDir() / "adapters-tiny-public" / "bank" / (std::string(kMetric) + "+");
    const fs::path bank = out / "bank";
    r = test::runProcess(test::cliPath().string(),
        { "bank-add", "--bank", bank.string(), "--metric", kMetric, "--direction", "+", "--adapter", peft.string(),
            "--model", modelDir().string() });
    ASSERT_EQ(r.exitCode, 0) << r.err;
    auto generated = [&](const fs::path& from, const std::string& name) {
        test::ProcessResult g = test::runProcess(test::cliPath().string(),
            { "generate", "--model", modelDir().string(), "--prompt", "rock", "--frames", "12", "--greedy",
                "--adapters", from.string(), "--slider", std::string(kMetric) + "=0.8", "--codes-out",
                (out / name).string() });
        EXPECT_EQ(g.exitCode, 0) << g.err;
        return *readFileText(out / name);
    };
    EXPECT_EQ(generated(bank, "added.npy"), generated(peft.parent_path(), "original.npy"));
    // An adapter for another model is refused before the bank changes, naming the file.
    const fs::path wrong = out / "wrong";
    fs::create_directories(wrong);
    fs::copy_file(peft / "adapter_config.json", wrong / "adapter_config.json");
    ASSERT_TRUE(writeSafetensors(wrong / "adapter_model.safetensors", {}).ok());
    r = test::runProcess(test::cliPath().string(),
        { "bank-add", "--bank", bank.string(), "--metric", "valence", "--direction", "-", "--adapter", wrong.string(),
            "--model", modelDir().string() });
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.err.find("adapter_model.safetensors"), std::string::npos) << r.err;
    Expected<BankSummary> summary = readBankSummary(bank, metrics());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->adapterCount(), 1);
}

} // namespace
} // namespace tmk
