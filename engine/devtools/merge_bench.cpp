// benchmarkMerge (tastemaker/devtools/benchmarks.h): slider-move latency of AdapterMerger on a model of a
// config's size.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/normal.h>
#include <c10/core/InferenceMode.h>

#include "adapters/merger.h"
#include "devtools/random_bank.h"
#include "tastemaker/adapters.h"
#include "tastemaker/devtools/benchmarks.h"
#include "tastemaker/fileio.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

Expected<MusicgenConfig> loadBenchConfig(const fs::path& path)
{
    std::error_code ec;
    if (fs::is_directory(path, ec)) return MusicgenConfig::load(path);
    Expected<std::string> text = readFileText(path);
    if (!text) return text.error();
    return MusicgenConfig::parse(*text, path.string());
}

Expected<at::TensorOptions> benchOptions(const MergeBenchParams& params)
{
    at::ScalarType dtype = at::kFloat;
    if (params.dtype == "bf16")
        dtype = at::kBFloat16;
    else if (params.dtype == "f16")
        dtype = at::kHalf;
    else if (params.dtype != "f32")
        return Error { ErrorCode::InvalidArgument,
            "bench merge: unknown dtype '" + params.dtype + "' (valid: f32, bf16, f16)" };
    try {
        const at::Device device(params.device);
        if (device.is_cuda() && !at::hasCUDA())
            return Error { ErrorCode::Device,
                "bench merge: this build's libtorch has no CUDA, so device '" + params.device + "' is unavailable" };
        return at::TensorOptions().dtype(dtype).device(device);
    } catch (const std::exception&) {
        return Error { ErrorCode::InvalidArgument,
            "bench merge: unknown device '" + params.device + "' (valid: cpu, cuda, cuda:N)" };
    }
}

double medianMs(std::vector<double> seconds)
{
    if (seconds.empty()) return 0.0;
    std::sort(seconds.begin(), seconds.end());
    return 1000.0 * seconds[seconds.size() / 2];
}

// Random W0 for every module a random adapter targets: N(0, 1/in), in the bench dtype on the bench device.
std::map<std::string, at::Tensor> randomBase(
    const MusicgenConfig& config, const at::TensorOptions& options, uint64_t seed)
{
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::map<std::string, at::Tensor> weights;
    for (const RandomTarget& target : randomAdapterTargets(config.decoder))
        weights[target.path + ".weight"] = at::normal(0.0, 1.0 / std::sqrt(double(target.inFeatures)),
            { target.outFeatures, target.inFeatures }, generator,
            at::TensorOptions().dtype(at::kFloat))
                                               .to(options); // [out, in]
    return weights;
}

// Times `repeats` merges, each with the sliders `make(i)` gives.
Expected<double> timeMoves(
    AdapterMerger& merger, int repeats, const std::function<std::map<std::string, double>(int)>& make)
{
    std::vector<double> seconds;
    for (int i = 0; i < repeats; ++i) {
        Expected<MergeStats> stats = merger.apply(make(i));
        if (!stats) return stats.error();
        seconds.push_back(stats->seconds);
    }
    return medianMs(seconds);
}

// Two random adapters per metric (alpha = rank: scale 1), added to the merger.
Expected<void> addRandomBank(AdapterMerger& merger, const MusicgenConfig& config, const MergeBenchParams& params,
    const std::vector<MetricInfo>& metrics)
{
    uint64_t index = 0;
    for (const MetricInfo& metric : metrics) {
        for (AdapterSide side : { AdapterSide::Positive, AdapterSide::Negative }) {
            Expected<LoraAdapter> adapter = makeRandomAdapter(
                config, params.rank, double(params.rank), params.seed * 1000003ULL + 1 + index++, 0.35, "bench");
            if (!adapter) return adapter.error();
            TMK_TRY(merger.add(adapterName(metric.id, side), std::make_shared<const LoraAdapter>(std::move(*adapter))));
        }
    }
    return {};
}

} // namespace

std::string MergeBenchResult::toString() const
{
    std::ostringstream text;
    text << std::fixed << std::setprecision(1);
    text << "merge on " << device << " (" << dtype << "), rank " << rank << ", " << adapters << " adapters, " << modules
         << " modules (" << touchedParameters / 1000000 << "M parameters)\n";
    text << "  one slider moves (others 0):       " << oneSliderMs << " ms\n";
    text << "  one slider moves (all 13 active):  " << oneSliderAllActiveMs << " ms\n";
    text << "  all 13 sliders move:               " << allSlidersMs << " ms\n";
    text << "  all back to 0 (W0 copied back):    " << resetMs << " ms\n";
    text << "  memory added: W0 copies " << baseBytes / 1048576.0 << " MiB + factors " << factorBytes / 1048576.0
         << " MiB + work buffers " << scratchBytes / 1048576.0 << " MiB\n";
    return text.str();
}

namespace {

Expected<MergeBenchResult> runMergeBench(const MergeBenchParams& params, const std::vector<MetricInfo>& metrics)
{
    Expected<MusicgenConfig> config = loadBenchConfig(params.config);
    if (!config) return config.error();
    Expected<at::TensorOptions> options = benchOptions(params);
    if (!options) return options.error();
    if (params.repeats < 1 || metrics.empty())
        return Error { ErrorCode::InvalidArgument, "bench merge: needs at least one repeat and one metric" };
    c10::InferenceMode guard;
    std::map<std::string, at::Tensor> weights = randomBase(*config, *options, params.seed);
    AdapterMerger merger([&weights](const std::string& name) -> at::Tensor* {
        auto found = weights.find(name);
        return found == weights.end() ? nullptr : &found->second;
    });
    TMK_TRY(addRandomBank(merger, *config, params, metrics));
    MergeBenchResult result;
    result.device = options->device().str();
    result.dtype = params.dtype;
    result.rank = params.rank;
    result.adapters = static_cast<int>(merger.adapterNames().size());
    result.modules = static_cast<int>(weights.size());
    for (const auto& [name, tensor] : weights) result.touchedParameters += tensor.numel();
    result.baseBytes = merger.memory().baseBytes;
    result.factorBytes = merger.memory().factorBytes;

    const std::string first = adapterName(metrics.front().id, AdapterSide::Positive);
    auto all = [&](int i, double offset) {
        std::map<std::string, double> w;
        for (size_t m = 0; m < metrics.size(); ++m)
            w[adapterName(metrics[m].id, (m + i) % 2 ? AdapterSide::Positive : AdapterSide::Negative)]
                = offset + 0.05 * double(m);
        return w;
    };
    Expected<double> one = timeMoves(merger, params.repeats, [&](int i) {
        return std::map<std::string, double> { { first, 0.3 + 0.1 * (i % 2) } };
    });
    if (!one) return one.error();
    result.oneSliderMs = *one;
    Expected<double> every = timeMoves(merger, params.repeats, [&](int i) { return all(i, 0.2 + 0.01 * i); });
    if (!every) return every.error();
    result.allSlidersMs = *every;
    std::map<std::string, double> state = all(params.repeats - 1, 0.2 + 0.01 * (params.repeats - 1));
    Expected<double> oneActive = timeMoves(merger, params.repeats, [&](int i) {
        std::map<std::string, double> w = state;
        w.begin()->second += 0.1 * (i % 2 ? 1 : -1); // one adapter's weight changes
        return w;
    });
    if (!oneActive) return oneActive.error();
    result.oneSliderAllActiveMs = *oneActive;
    Expected<MergeStats> reset = merger.restoreBase();
    if (!reset) return reset.error();
    result.resetMs = 1000.0 * reset->seconds;
    result.scratchBytes = merger.memory().scratchBytes;
    return result;
}

} // namespace

Expected<MergeBenchResult> benchmarkMerge(const MergeBenchParams& params, const std::vector<MetricInfo>& metrics)
{
    try {
        return runMergeBench(params, metrics);
    } catch (const std::exception& e) {
        return Error { ErrorCode::Device, std::string("bench merge failed: ") + e.what() };
    }
}

} // namespace tmk
