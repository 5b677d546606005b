// `bench sliders`: the two ways a slider move reaches a generation (tastemaker/steering.h) on a model with a
// random rank-R bank: the latency of a move by each path, and the decoding step's cost against the number of
// sliders carried at run time (0, 1, 2, 4, 8, 13), with all 13 merged for comparison.
#include <algorithm>
#include <chrono>
#include <unistd.h>

#include "tastemaker/devtools/benchmarks.h"
#include "tastemaker/devtools/model_maker.h"
#include "tastemaker/steering.h"

namespace tmk {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> values)
{
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

template <typename F> Expected<double> timedMs(F&& call)
{
    const auto start = Clock::now();
    Expected<SteeringMergeInfo> info = call();
    if (!info) return info.error();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The median decoding step (ms) of one generation of `frames` frames, the first step left out.
Expected<double> medianStepMs(const std::shared_ptr<const MusicgenModel>& model, int64_t frames)
{
    GenerationRequest request = GenerationRequest::defaultsFor(model->info());
    request.prompts = { "Classic Rock, electric guitar, keyboard, drums" };
    request.frames = frames;
    request.decodeAudio = false;
    std::vector<double> steps;
    auto last = Clock::now();
    GenerationCallbacks callbacks;
    callbacks.onProgress = [&](const Progress& p) {
        const auto now = Clock::now();
        if (p.stage == ProgressStage::Decoding && p.done > 1)
            steps.push_back(std::chrono::duration<double, std::milli>(now - last).count());
        last = now;
    };
    Expected<GenerationResult> result = generate(*model, request, callbacks);
    if (!result) return result.error();
    return median(steps);
}

} // namespace

Expected<SliderBenchResult> benchmarkSliders(const SliderBenchParams& params, const std::vector<MetricInfo>& metrics)
{
    Expected<std::shared_ptr<const MusicgenModel>> model = MusicgenModel::load(params.modelDir, params.options);
    if (!model) return model.error();
    const fs::path bankDir = fs::temp_directory_path() / ("tastemaker-slider-bench-" + std::to_string(::getpid()));
    RandomBankParams bank;
    bank.modelDir = params.modelDir;
    bank.outDir = bankDir;
    bank.rank = params.rank;
    bank.bf16 = params.bf16Bank;
    Expected<BankSummary> made = makeRandomAdapterBank(bank, metrics);
    if (!made) return made.error();
    Expected<std::unique_ptr<Steering>> loaded = Steering::load(*model, bankDir, metrics);
    std::error_code ec;
    fs::remove_all(bankDir, ec); // the adapters are in memory now
    if (!loaded) return loaded.error();
    Steering& steering = **loaded;

    std::vector<std::string> ids;
    for (const MetricInfo& metric : metrics) ids.push_back(metric.id);
    auto first = [&](size_t n, double value) {
        SliderValues values;
        for (size_t i = 0; i < std::min(n, ids.size()); ++i) values[ids[i]] = value;
        return values;
    };
    SliderBenchResult result;
    result.rank = params.rank;
    result.dtype = computeDTypeName(params.options.dtype);
    result.stepBytes = (*model)->info().decoderStepBytes;
    std::vector<double> runtimeOne, runtimeValue, runtimeAll, mergeOne, mergeAll;
    for (int repeat = 0; repeat < params.repeats; ++repeat) {
        SliderValues one { { ids[static_cast<size_t>(repeat) % ids.size()], 0.5 } };
        SliderValues moved { { ids[static_cast<size_t>(repeat) % ids.size()], 0.8 } };
        auto reset = [&] { return steering.apply({}); };
        TMK_TRY(reset());
        Expected<double> ms = timedMs([&] { return steering.applyAtRuntime(one); });
        if (!ms) return ms.error();
        runtimeOne.push_back(*ms);
        if (!(ms = timedMs([&] { return steering.applyAtRuntime(moved); }))) return ms.error();
        runtimeValue.push_back(*ms);
        TMK_TRY(reset());
        if (!(ms = timedMs([&] { return steering.applyAtRuntime(first(ids.size(), 0.5)); }))) return ms.error();
        runtimeAll.push_back(*ms);
        TMK_TRY(reset());
        if (!(ms = timedMs([&] { return steering.apply(one); }))) return ms.error();
        mergeOne.push_back(*ms);
        TMK_TRY(reset());
        if (!(ms = timedMs([&] { return steering.apply(first(ids.size(), 0.5)); }))) return ms.error();
        mergeAll.push_back(*ms);
    }
    result.runtimeOneMs = median(runtimeOne);
    result.runtimeValueMs = median(runtimeValue);
    result.runtimeAllMs = median(runtimeAll);
    result.mergeOneMs = median(mergeOne);
    result.mergeAllMs = median(mergeAll);

    // Steps: two interleaved passes, the lower median of each configuration kept (a shared machine's noise
    // only ever adds time).
    const std::vector<int> counts { 0, 1, 2, 4, 8, static_cast<int>(ids.size()) };
    std::vector<SliderStepRow> rows;
    for (int count : counts) rows.push_back({ count, false, 0.0, 0.0, 0 });
    rows.push_back({ static_cast<int>(ids.size()), true, 0.0, 0.0, 0 });
    for (int pass = 0; pass < 2; ++pass)
        for (SliderStepRow& row : rows) {
            TMK_TRY(steering.apply({}));
            const SliderValues values = first(static_cast<size_t>(row.sliders), 0.5);
            Expected<SteeringMergeInfo> set = row.merged ? steering.apply(values) : steering.applyAtRuntime(values);
            if (!set) return set.error();
            row.runtimeFactorBytes = static_cast<size_t>(steering.runtimeBytes()); // 0 when merged
            Expected<double> step = medianStepMs(*model, params.frames);
            if (!step) return step.error();
            row.stepMs = pass == 0 ? *step : std::min(row.stepMs, *step);
        }
    TMK_TRY(steering.apply({}));
    for (SliderStepRow& row : rows) row.ratio = rows.front().stepMs > 0 ? row.stepMs / rows.front().stepMs : 0.0;
    result.steps = std::move(rows);
    return result;
}

} // namespace tmk
