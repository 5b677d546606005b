// The DPO tests' data (test_dpo_train.cpp, test_dpo_distributed.cpp): the fixture model and synthetic
// preference pairs with their token cache. Chosen sequences have codebook-0 tokens mostly in the lower half
// of the vocabulary, rejected ones mostly in the upper half.
#pragma once

#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>
#include <random>

#include <ATen/ATen.h>

#include "adapters/lora_adapter.h"
#include "tastemaker/adapters.h"
#include "tastemaker/pairs.h"
#include "tastemaker/token_cache.h"
#include "tastemaker/training.h"
#include "testsupport.h"

namespace tmk::dpo_test {

namespace fs = std::filesystem;

inline constexpr int64_t kFrames = 24;
inline const char* const kMetric = "energy";

inline fs::path modelDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

inline const std::vector<MetricInfo>& metrics()
{
    static const std::vector<MetricInfo> list
        = *loadMetrics(fs::path(std::getenv("TM_SOURCE_DIR")) / "resources" / "metrics.json");
    return list;
}

inline std::shared_ptr<const MusicgenModel> loadModel()
{
    auto model = MusicgenModel::load(modelDir(), ModelOptions {});
    EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().message);
    return *model;
}

// Codes [1, K, T]: codebook 0 drawn from the lower half with probability `lowShare`, else the upper half.
inline AudioCodes songCodes(std::mt19937_64& rng, double lowShare)
{
    const int64_t k = 4, v = 64;
    AudioCodes codes { 1, k, kFrames, {} };
    std::uniform_real_distribution<double> coin(0, 1);
    std::uniform_int_distribution<int64_t> half(0, v / 2 - 1), any(0, v - 1);
    for (int64_t c = 0; c < k; ++c)
        for (int64_t t = 0; t < kFrames; ++t)
            codes.values.push_back(c > 0 ? any(rng) : (coin(rng) < lowShare ? half(rng) : v / 2 + half(rng)));
    return codes;
}

inline std::string hashFor(int64_t song)
{
    char text[65];
    std::snprintf(text, sizeof text, "%064llx", static_cast<unsigned long long>(song + 1));
    return text;
}

// A pairs folder with its token cache: `train` + `test` pairs of metric energy (chosen = low codebook 0).
// Songs after `withCodes` get no cached codes.
inline fs::path makePairs(const std::string& name, int64_t train, int64_t test, int64_t withCodes = 1 << 30)
{
    const fs::path dir = test::freshOutDir(name);
    const char* prompts[] = { "rock, guitar", "ambient, pads", "jazz, piano", "hip-hop, drums" };
    std::mt19937_64 rng(42);
    PairSet set;
    const ContentIdentity model = *codecIdentity(modelDir()); // the cache is keyed by the codec
    for (int64_t i = 0; i < train + test; ++i) {
        const std::string prompt = prompts[i % 4];
        const std::string chosen = "song" + std::to_string(2 * i), rejected = "song" + std::to_string(2 * i + 1);
        set.songs.push_back(PairSong { chosen, prompt, {} });
        set.songs.push_back(PairSong { rejected, prompt, {} });
        set.pairs.push_back(PreferencePair { kMetric, prompt, chosen, rejected, 0.9, 0.1, i >= train });
        for (int64_t s : { 2 * i, 2 * i + 1 }) {
            if (s >= withCodes) continue;
            const AudioCodes codes = songCodes(rng, s % 2 == 0 ? 0.9 : 0.1);
            Expected<void> stored = storeTokens(dir, model, "song" + std::to_string(s), hashFor(s), codes);
            EXPECT_TRUE(stored.ok()) << (stored.ok() ? "" : stored.error().message);
        }
    }
    EXPECT_TRUE(writePairSet(set, dir).ok());
    return dir;
}

inline TrainOptions baseOptions(const fs::path& pairs, const fs::path& out)
{
    TrainOptions o;
    o.modelDir = modelDir();
    o.pairsDir = pairs;
    o.outDir = out;
    o.metric = kMetric;
    o.batchSize = 4;
    o.learningRate = 3e-3;
    o.warmupSteps = 5;
    o.maxFrames = kFrames;
    o.seed = 7;
    return o;
}

// A finished run's adapter tensors by PEFT key.
inline std::map<std::string, at::Tensor> adapterTensors(const fs::path& dir)
{
    Expected<LoraAdapter> adapter = LoraAdapter::load(dir);
    EXPECT_TRUE(adapter.ok()) << (adapter.ok() ? "" : adapter.error().message);
    std::map<std::string, at::Tensor> out;
    if (adapter)
        for (const LoraModule& m : adapter->modules()) out[m.keyA] = m.a, out[m.keyB] = m.b;
    return out;
}

// Expects two runs' metrics.jsonl to hold the same entries, every value within `tolerance`.
inline void expectSameLogs(const fs::path& a, const fs::path& b, double tolerance)
{
    const std::vector<TrainLogEntry> first = *readTrainLog(a), second = *readTrainLog(b);
    ASSERT_EQ(first.size(), second.size());
    for (size_t i = 0; i < first.size(); ++i) {
        EXPECT_EQ(first[i].step, second[i].step);
        EXPECT_EQ(first[i].split, second[i].split);
        ASSERT_EQ(first[i].values.size(), second[i].values.size());
        for (size_t j = 0; j < first[i].values.size(); ++j)
            EXPECT_NEAR(first[i].values[j].second, second[i].values[j].second, tolerance)
                << first[i].values[j].first << " at " << i;
    }
}

// Expects two finished runs' adapters to hold the same tensors within `tolerance`.
inline void expectSameAdapters(const fs::path& a, const fs::path& b, double tolerance)
{
    const auto first = adapterTensors(a), second = adapterTensors(b);
    ASSERT_EQ(first.size(), second.size());
    ASSERT_FALSE(first.empty());
    for (const auto& [name, tensor] : first)
        EXPECT_LE((tensor - second.at(name)).abs().max().item<double>(), tolerance) << name;
}

// Expects train-all's two runs under `runs` finished and registered as both sides of kMetric in `bank`.
inline void expectBothSidesTrained(const fs::path& runs, const fs::path& bank)
{
    const auto found = findRuns(runs);
    ASSERT_EQ(found.size(), 2u);
    for (const RunInfo& run : found) EXPECT_TRUE(run.finished) << run.dir;
    Expected<BankSummary> summary = readBankSummary(bank, metrics());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    ASSERT_NE(summary->find(kMetric), nullptr);
    EXPECT_TRUE(summary->find(kMetric)->hasPositive() && summary->find(kMetric)->hasNegative());
}

} // namespace tmk::dpo_test
