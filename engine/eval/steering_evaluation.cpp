// The steering evaluation job (tastemaker/steering_report.h): for each slider and value, merge, generate every
// seed's batch of prompts with the generation job the app and `generate` use, and analyse each clip. Torch-free: it
// composes the public engine APIs only.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "tastemaker/adapters.h"
#include "tastemaker/analysis.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/generation_job.h"
#include "tastemaker/steering_report.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

class Evaluation {
public:
    Evaluation(const std::shared_ptr<const MusicgenModel>& model, Steering& steering, const SteeringEvalParams& params,
        const SteeringEvalCallbacks& callbacks, const std::vector<SteeringClip>& reuse)
        : m_model(model)
        , m_steering(steering)
        , m_params(params)
        , m_callbacks(callbacks)
    {
        for (const SteeringClip& clip : reuse) {
            // Clips at value 0 are the base model's whichever slider they were made for.
            const std::string slider = clip.value == 0.0 ? std::string() : clip.slider;
            m_reuse[{ slider, clip.value, clip.seed }][clip.prompt] = clip.measured;
        }
        m_run.params = params;
        m_run.clipsPlanned
            = static_cast<int64_t>(params.sliders.size() * params.values.size() * params.prompts.size()) * params.seeds;
    }

    Expected<SteeringEvalRun> run()
    {
        countGenerations();
        for (const std::string& slider : m_params.sliders) {
            for (double value : m_params.values)
                for (int64_t s = 0; s < m_params.seeds; ++s) {
                    if (m_callbacks.cancel && m_callbacks.cancel->isCancelled()) {
                        m_run.cancelled = true;
                        return finish();
                    }
                    TMK_TRY(addClips(slider, value, m_params.firstSeed + static_cast<uint64_t>(s)));
                    report();
                }
            if (m_callbacks.onSliderDone) m_callbacks.onSliderDone(m_run);
        }
        return finish();
    }

private:
    // One seed's clips of every prompt at slider = value: generated, or the shared base-model clips at value 0.
    Expected<void> addClips(const std::string& slider, double value, uint64_t seed)
    {
        std::vector<std::vector<double>> measured;
        if (value == 0.0 && m_baseClips.count(seed)) {
            measured = m_baseClips[seed];
        } else if (std::optional<std::vector<std::vector<double>>> earlier = reused(slider, value, seed)) {
            measured = std::move(*earlier);
            if (value == 0.0) m_baseClips[seed] = measured;
        } else {
            Expected<std::vector<std::vector<double>>> generated
                = generateAndAnalyse(value == 0.0 ? SliderValues {} : SliderValues { { slider, value } }, seed);
            if (!generated)
                return Error { generated.error().code,
                    slider + "=" + std::to_string(value) + ", seed " + std::to_string(seed) + ": "
                        + generated.error().message };
            measured = std::move(*generated);
            ++m_generationsDone;
            if (value == 0.0) m_baseClips[seed] = measured;
        }
        for (size_t p = 0; p < m_params.prompts.size(); ++p)
            m_run.clips.push_back(SteeringClip { slider, value, seed, m_params.prompts[p], measured[p] });
        return {};
    }

    // How many generations the plan needs: one per (slider, value, seed) that is neither reused nor a value-0
    // batch already made for that seed.
    void countGenerations()
    {
        std::set<uint64_t> baseSeeds;
        for (const std::string& slider : m_params.sliders)
            for (double value : m_params.values)
                for (int64_t s = 0; s < m_params.seeds; ++s) {
                    const uint64_t seed = m_params.firstSeed + static_cast<uint64_t>(s);
                    if (value == 0.0 && !baseSeeds.insert(seed).second) continue;
                    if (!reused(slider, value, seed)) ++m_generationsPlanned;
                }
    }

    // The earlier run's clips of (slider, value, seed), one per prompt in order, when it has every prompt's.
    std::optional<std::vector<std::vector<double>>> reused(const std::string& slider, double value, uint64_t seed) const
    {
        const auto found = m_reuse.find({ value == 0.0 ? std::string() : slider, value, seed });
        if (found == m_reuse.end()) return std::nullopt;
        std::vector<std::vector<double>> measured;
        for (const std::string& prompt : m_params.prompts) {
            const auto clip = found->second.find(prompt);
            if (clip == found->second.end()) return std::nullopt;
            measured.push_back(clip->second);
        }
        return measured;
    }

    Expected<std::vector<std::vector<double>>> generateAndAnalyse(const SliderValues& sliders, uint64_t seed)
    {
        const ModelInfo& info = m_model->info();
        GenerationJobParams job;
        job.request = GenerationRequest::defaultsFor(info);
        job.request.prompts = m_params.prompts;
        job.request.frames
            = std::max<int64_t>(1, std::llround(m_params.durationSeconds * static_cast<double>(info.frameRate)));
        job.request.sampling.seed = seed;
        job.sliders = sliders;
        // Merged, never at run time: the numbers then depend only on the values, not on which clips a resumed
        // report skipped (the run-time path's rounding depends on what was merged before).
        Expected<std::optional<SteeringMergeInfo>> merged = m_steering.applyIfChanged(sliders);
        if (!merged) return merged.error();
        // No cancel token: a cancel lets the generation under way finish, so that its clips count.
        Expected<GenerationJobResult> result = runGenerationJob(m_model, &m_steering, job);
        if (!result) return result.error();
        std::vector<std::vector<double>> measured;
        for (const std::vector<float>& audio : result->generation.audio)
            measured.push_back(steeringMeasurements(analyseSignal(audio, result->generation.sampleRate)));
        if (measured.size() != m_params.prompts.size())
            return Error { ErrorCode::Internal, "the generation returned the wrong number of clips" };
        return measured;
    }

    void report()
    {
        if (!m_callbacks.onProgress) return;
        SteeringEvalProgress progress;
        progress.clipsDone = static_cast<int64_t>(m_run.clips.size());
        progress.clipsTotal = m_run.clipsPlanned;
        progress.elapsedSeconds = std::chrono::duration<double>(Clock::now() - m_start).count();
        // Shared and reused clips take no time: the ETA is over the generations still to run.
        if (m_generationsDone > 0)
            progress.etaSeconds = progress.elapsedSeconds
                * static_cast<double>(m_generationsPlanned - m_generationsDone)
                / static_cast<double>(m_generationsDone);
        m_callbacks.onProgress(progress);
    }

    Expected<SteeringEvalRun> finish()
    {
        TMK_TRY(m_steering.apply(SliderValues {}));
        return std::move(m_run);
    }

    std::shared_ptr<const MusicgenModel> m_model;
    Steering& m_steering;
    const SteeringEvalParams& m_params;
    const SteeringEvalCallbacks& m_callbacks;
    Clock::time_point m_start = Clock::now();
    std::map<uint64_t, std::vector<std::vector<double>>> m_baseClips; // seed -> per prompt
    // (slider, or "" at value 0; value; seed) -> prompt -> measurements, from an earlier run
    std::map<std::tuple<std::string, double, uint64_t>, std::map<std::string, std::vector<double>>> m_reuse;
    SteeringEvalRun m_run;
    int64_t m_generationsPlanned = 0, m_generationsDone = 0;
};

} // namespace

Expected<std::vector<std::string>> chooseSteeringSliders(
    const std::vector<std::string>& requested, const BankSummary& bank, const std::vector<MetricInfo>& metrics)
{
    std::vector<std::string> sliders;
    if (requested.empty()) {
        for (const BankMetric& metric : bank.metrics)
            if (metric.hasPositive() && metric.hasNegative()) sliders.push_back(metric.id);
        if (sliders.empty())
            return Error::inFile(ErrorCode::NotFound, bank.dir.string(), "has no metric with both adapters");
        return sliders;
    }
    for (const std::string& id : requested) {
        if (!findMetric(metrics, id))
            return Error { ErrorCode::InvalidArgument,
                "unknown metric '" + id + "' (the metrics are " + joinMetricIds(metrics) + ")" };
        const BankMetric* metric = bank.find(id);
        if (!metric || !metric->hasPositive() || !metric->hasNegative())
            return Error::inFile(
                ErrorCode::NotFound, bank.dir.string(), "lacks the " + id + "+ or " + id + "- adapter");
        if (std::find(sliders.begin(), sliders.end(), id) == sliders.end()) sliders.push_back(id);
    }
    return sliders;
}

Expected<SteeringEvalRun> runSteeringEvaluation(const std::shared_ptr<const MusicgenModel>& model, Steering& steering,
    const std::vector<MetricInfo>& metrics, const SteeringEvalParams& params, const SteeringEvalCallbacks& callbacks,
    const std::vector<SteeringClip>& reuse)
{
    if (!model) return Error { ErrorCode::InvalidArgument, "no model is loaded; open a model first" };
    TMK_TRY(params.validate());
    SteeringEvalParams resolved = params.resolved();
    Expected<std::vector<std::string>> sliders = chooseSteeringSliders(params.sliders, steering.summary(), metrics);
    if (!sliders) return sliders.error();
    resolved.sliders = std::move(*sliders);
    return Evaluation(model, steering, resolved, callbacks, reuse).run();
}

Expected<SteeringReportInfo> steeringReportInfo(const MusicgenModel& model, const std::filesystem::path& bankDir,
    const std::vector<MetricInfo>& metrics, uint64_t firstSeed)
{
    Expected<ContentIdentity> modelId = modelIdentity(model.info().dir);
    if (!modelId) return modelId.error();
    Expected<ContentIdentity> bankId = bankIdentity(bankDir);
    if (!bankId) return bankId.error();
    SteeringReportInfo info;
    info.model = modelId->name + " (" + modelId->fingerprint + ")";
    info.bank = bankId->name + " (" + bankId->fingerprint + ")";
    info.build = buildIdentity();
    info.analyser = analyserIdentity();
    info.device = deviceKindName(model.info().options.device);
    info.dtype = computeDTypeName(model.info().options.dtype);
    SamplingParams sampling = GenerationRequest::defaultsFor(model.info()).sampling;
    sampling.seed = firstSeed;
    info.sampling = sampling.toString();
    info.sliderMetrics = metricIds(metrics);
    Expected<BankSummary> bank = readBankSummary(bankDir, metrics);
    if (!bank) return bank.error();
    for (const BankMetric& metric : bank->metrics) {
        if (!metric.hasPositive() || !metric.hasNegative()) continue;
        Expected<std::string> fingerprints = sliderAdapterFingerprints(metric);
        if (!fingerprints) return fingerprints.error();
        info.adapters[metric.id] = std::move(*fingerprints);
    }
    return info;
}

} // namespace tmk
