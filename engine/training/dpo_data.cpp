#include "training/dpo_data.h"

#include <map>

#include <ATen/TensorOperators.h>
#include <ATen/ops/tensor.h>

#include "tastemaker/clip_library.h"
#include "tastemaker/pairs.h"
#include "tastemaker/token_cache.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

at::Tensor croppedCodes(const AudioCodes& codes, int64_t maxFrames)
{
    at::Tensor all = at::tensor(codes.values, at::kLong).view({ 1, codes.codebooks, codes.frames }); // [1, K, T]
    return codes.frames > maxFrames ? all.narrow(2, 0, maxFrames).contiguous() : all;
}

Expected<void> checkMetric(const TrainOptions& options, const std::vector<MetricInfo>& metrics)
{
    if (!findMetric(metrics, options.metric))
        return Error { ErrorCode::InvalidArgument,
            "unknown metric '" + options.metric + "' (valid: " + joinMetricIds(metrics) + ")" };
    std::error_code ec;
    if (!fs::is_directory(options.pairsDir, ec))
        return Error::inFile(ErrorCode::NotFound, options.pairsDir.string(),
            "is not a pairs folder (it does not exist); make one with `tastemaker-cli pairs`");
    return {};
}

} // namespace

Expected<DpoDataset> loadDpoDataset(const TrainOptions& options, const std::vector<MetricInfo>& metrics)
{
    TMK_TRY(checkMetric(options, metrics));
    Expected<PairSet> set = readPairSet(options.pairsDir);
    if (!set) return set.error();
    Expected<ContentIdentity> model = codecIdentity(options.modelDir); // the token cache's key
    if (!model) return model.error();
    Expected<std::map<std::string, AudioCodes>> cache = loadTokenCache(options.pairsDir, *model);
    if (!cache) return cache.error();
    DpoDataset data;
    data.cacheDescription = tokenCacheDir(options.pairsDir, *model).string();
    int64_t forMetric = 0;
    const bool swap = options.direction == AdapterSide::Negative;
    for (const PreferencePair& pair : set->pairs) {
        if (pair.metric != options.metric) continue;
        ++forMetric;
        const std::string& chosen = swap ? pair.rejected : pair.chosen;
        const std::string& rejected = swap ? pair.chosen : pair.rejected;
        auto c = cache->find(chosen), r = cache->find(rejected);
        if (c == cache->end() || r == cache->end()) {
            ++data.skipped;
            if (data.skippedExamples.size() < 5) data.skippedExamples.push_back(chosen + " -> " + rejected);
            continue;
        }
        DpoExample example { pair.prompt, chosen, rejected, croppedCodes(c->second, options.maxFrames),
            croppedCodes(r->second, options.maxFrames) };
        (pair.test ? data.test : data.train).push_back(std::move(example));
    }
    const std::string pairsFile = pairsFilePath(options.pairsDir).string();
    if (forMetric == 0)
        return Error::inFile(ErrorCode::NotFound, pairsFile,
            "has no pairs for metric '" + options.metric + "' (see report.json for why a metric is unavailable)");
    if (data.train.empty())
        return Error::inFile(ErrorCode::NotFound, data.cacheDescription,
            "holds codes for no training pair of metric '" + options.metric + "' (" + std::to_string(data.skipped)
                + " pairs lack codes); run `tastemaker-cli tokenize --pairs " + options.pairsDir.string() + "` first");
    return data;
}

} // namespace tmk
