// The engine worker without Qt, on the committed fixture model and adapter bank: slider moves made while
// the worker is busy are coalesced into one merge of the newest values, a generation merges the newest
// sliders, streams and saves its clip through the one GenerationJob, and cancel / no model are errors.
#include <algorithm>
#include <cstdlib>
#include <future>
#include <gtest/gtest.h>
#include <mutex>
#include <thread>

#include "tastemaker/clip_library.h"
#include "tastemaker/engine_worker.h"
#include "tastemaker/generation_job.h"
#include "tastemaker/steering.h"
#include "testsupport.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

fs::path modelDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}
fs::path bankDir()
{
    return test::dataDir() / "adapters-tiny-public" / "bank";
}

std::vector<MetricInfo> metrics()
{
    const char* source = std::getenv("TM_SOURCE_DIR");
    const fs::path root = source && *source ? fs::path(source) : test::dataDir() / ".." / "..";
    auto list = loadMetrics(root / "resources" / "metrics.json");
    EXPECT_TRUE(list.ok()) << (list.ok() ? "" : list.error().message);
    return list.ok() ? *list : std::vector<MetricInfo> {};
}

// What the worker reported, recorded from its thread.
struct Recorder {
    std::mutex mutex;
    std::vector<SliderValues> merges;
    std::vector<EngineFailure> failures;
    std::optional<EngineBankState> bank;
    std::optional<ModelInfo> model;

    EngineWorkerEvents events()
    {
        EngineWorkerEvents events;
        events.onModelLoaded = [this](const fs::path&, const ModelInfo& info) {
            std::lock_guard lock(mutex);
            model = info;
        };
        events.onBankChanged = [this](const EngineBankState& state) {
            std::lock_guard lock(mutex);
            bank = state;
        };
        events.onSlidersMerged = [this](const SteeringMergeInfo& info, const SliderValues& merged) {
            EXPECT_GE(info.milliseconds, 0.0);
            std::lock_guard lock(mutex);
            merges.push_back(merged);
        };
        events.onFailed = [this](const EngineFailure& failure) {
            std::lock_guard lock(mutex);
            failures.push_back(failure);
        };
        return events;
    }
};

// Waits until every job queued so far has run.
void drain(EngineWorker& worker)
{
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> finished = done->get_future();
    ASSERT_TRUE(worker.post([done]() { done->set_value(); }));
    ASSERT_EQ(finished.wait_for(std::chrono::minutes(5)), std::future_status::ready);
}

// A job that holds the worker until release() (or the gate's destruction).
class Gate {
public:
    explicit Gate(EngineWorker& worker)
    {
        std::shared_future<void> opened = m_open.get_future().share();
        EXPECT_TRUE(worker.post([opened]() { opened.wait(); }));
    }
    ~Gate() { release(); }
    void release()
    {
        if (!m_released) m_open.set_value();
        m_released = true;
    }

private:
    std::promise<void> m_open;
    bool m_released = false;
};

class EngineWorkerTest : public ::testing::Test {
protected:
    void loadFixture(EngineWorker& worker)
    {
        ASSERT_TRUE(worker.loadModel(modelDir(), ModelOptions {}));
        ASSERT_TRUE(worker.loadBank(bankDir()));
        drain(worker);
        std::lock_guard lock(m_recorder.mutex);
        ASSERT_TRUE(m_recorder.failures.empty()) << m_recorder.failures.front().error.message;
        ASSERT_TRUE(m_recorder.model.has_value());
        ASSERT_TRUE(m_recorder.bank && m_recorder.bank->summary);
        EXPECT_EQ(m_recorder.bank->summary->adapterCount(), 26);
    }

    Recorder m_recorder;
};

TEST_F(EngineWorkerTest, FortySliderMovesWhileBusyGiveOneMergeOfTheLastValues)
{
    EngineWorker worker(metrics(), m_recorder.events());
    loadFixture(worker);
    SliderValues values;
    {
        Gate busy(worker);
        for (int i = 1; i <= 40; ++i) {
            values = { { "energy", i / 40.0 }, { "tempo", -i / 80.0 } };
            ASSERT_TRUE(worker.setSliders(values));
        }
    }
    drain(worker);
    {
        std::lock_guard lock(m_recorder.mutex);
        ASSERT_EQ(m_recorder.merges.size(), 1u);
        EXPECT_EQ(m_recorder.merges[0].at("energy"), 1.0);
        EXPECT_EQ(m_recorder.merges[0].at("tempo"), -0.5);
    }

    // The same values again (zeros added change nothing): no merge.
    values["valence"] = 0.0;
    ASSERT_TRUE(worker.setSliders(values));
    drain(worker);
    std::lock_guard lock(m_recorder.mutex);
    EXPECT_EQ(m_recorder.merges.size(), 1u);
    EXPECT_TRUE(m_recorder.failures.empty());
}

// A slider move reaches the model at run time (no weight written, the adapters on the decoder's hook), and
// once the worker has had nothing to do for a while it merges them: same values, no run-time terms left.
TEST_F(EngineWorkerTest, SliderMovesGoInAtRunTimeAndAreMergedWhenIdle)
{
    EngineWorker worker(metrics(), m_recorder.events());
    loadFixture(worker);
    const SliderValues values { { "energy", 0.6 }, { "tempo", -0.3 } };
    auto probe = [&worker]() {
        auto result = std::make_shared<std::promise<std::pair<int, SliderValues>>>();
        std::future<std::pair<int, SliderValues>> future = result->get_future();
        EXPECT_TRUE(worker.post([&worker, result]() {
            Steering* steering = worker.steering();
            result->set_value({ steering->runtimeAdapters(), steering->current() });
        }));
        EXPECT_EQ(future.wait_for(std::chrono::minutes(5)), std::future_status::ready);
        return future.get();
    };
    std::future<std::pair<int, SliderValues>> first;
    {
        Gate busy(worker); // the move and the probe run back to back, with no idle moment between them
        ASSERT_TRUE(worker.setSliders(values));
        auto result = std::make_shared<std::promise<std::pair<int, SliderValues>>>();
        first = result->get_future();
        ASSERT_TRUE(worker.post([&worker, result]() {
            result->set_value({ worker.steering()->runtimeAdapters(), worker.steering()->current() });
        }));
    }
    ASSERT_EQ(first.wait_for(std::chrono::minutes(5)), std::future_status::ready);
    const auto [runtime, current] = first.get();
    EXPECT_EQ(runtime, 2) << "energy+ and tempo- at run time";
    EXPECT_EQ(current, values);
    // Idle: merged within a while (400 ms after the move on an idle machine; allow a loaded one minutes).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    std::pair<int, SliderValues> now = probe();
    while (now.first != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        now = probe();
    }
    EXPECT_EQ(now.first, 0);
    EXPECT_EQ(now.second, values);
    std::lock_guard lock(m_recorder.mutex);
    EXPECT_EQ(m_recorder.merges.size(), 1u) << "one event: merging changes how, not which, values apply";
    EXPECT_TRUE(m_recorder.failures.empty());
}

TEST_F(EngineWorkerTest, GenerationMergesTheNewestSlidersStreamsAndSavesItsClip)
{
    EngineWorker worker(metrics(), m_recorder.events());
    loadFixture(worker);
    const ModelInfo info = *m_recorder.model;
    const fs::path library = test::freshOutDir("engine_worker_generate");

    GenerationJobParams params;
    params.request = GenerationRequest::defaultsFor(info);
    params.request.prompts = { "engine worker test" };
    params.request.frames = 12;
    params.request.sampling.seed = 5;
    params.sliders = { { "energy", 0.5 } };
    params.libraryDir = library;
    std::vector<GenerationJobProgress> reports;
    size_t streamed = 0;
    GenerationJobCallbacks callbacks;
    callbacks.onProgress = [&](const GenerationJobProgress& report) { reports.push_back(report); };
    callbacks.onAudio = [&](std::span<const float> samples) { streamed += samples.size(); };
    std::promise<Expected<GenerationJobResult>> finished;
    {
        Gate busy(worker);
        for (int i = 1; i <= 10; ++i) ASSERT_TRUE(worker.setSliders({ { "energy", -i / 10.0 } }));
        ASSERT_TRUE(worker.generate(
            params, callbacks, [&](Expected<GenerationJobResult> result) { finished.set_value(std::move(result)); }));
    }
    std::future<Expected<GenerationJobResult>> future = finished.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::minutes(5)), std::future_status::ready);
    Expected<GenerationJobResult> job = future.get();
    ASSERT_TRUE(job.ok()) << job.error().message;
    drain(worker);

    // One merge, of the generation's sliders (the newest), done by the queued merge before the job.
    {
        std::lock_guard lock(m_recorder.mutex);
        ASSERT_EQ(m_recorder.merges.size(), 1u);
        EXPECT_EQ(m_recorder.merges[0], params.sliders);
    }
    EXPECT_EQ(job->sliders, params.sliders);
    const int64_t samples = params.request.frames * info.hopLength;
    EXPECT_EQ(static_cast<int64_t>(streamed), samples);
    ASSERT_EQ(job->generation.audio.size(), 1u);
    EXPECT_EQ(static_cast<int64_t>(job->generation.audio[0].size()), samples);

    // Figures are reported and well formed (their values depend on the machine).
    const GenerationJobStats& stats = job->stats;
    EXPECT_DOUBLE_EQ(
        stats.audioSeconds, static_cast<double>(params.request.frames) / static_cast<double>(info.frameRate));
    EXPECT_GE(stats.firstAudioSeconds, 0.0);
    EXPECT_GE(stats.computeSeconds, stats.decodeSeconds);
    EXPECT_GE(stats.realtimeFactor, 0.0);
    EXPECT_FALSE(stats.streamedToSink); // no audio output was opened
    EXPECT_FALSE(stats.streamError.has_value());
    auto lastDecoding = std::find_if(reports.rbegin(), reports.rend(),
        [](const GenerationJobProgress& r) { return r.progress.stage == ProgressStage::Decoding; });
    ASSERT_NE(lastDecoding, reports.rend());
    EXPECT_EQ(lastDecoding->progress.done, lastDecoding->progress.total); // the last step always comes
    EXPECT_GE(lastDecoding->etaSeconds, 0.0);

    // The clip and its sidecar.
    ASSERT_EQ(job->clips.size(), 1u);
    auto entry = readSidecar(job->clips[0].sidecarPath);
    ASSERT_TRUE(entry.ok()) << entry.error().message;
    EXPECT_EQ(entry->record.prompt, "engine worker test");
    EXPECT_EQ(entry->record.sliders, params.sliders);
    EXPECT_EQ(entry->record.sampling, params.request.sampling);
    EXPECT_FALSE(entry->record.bank.empty());
    EXPECT_EQ(entry->record.samples, samples);
}

TEST_F(EngineWorkerTest, CancelledGenerationSavesNothingAndNoModelIsAnError)
{
    EngineWorker worker(metrics(), m_recorder.events());
    const fs::path library = test::freshOutDir("engine_worker_cancel");
    GenerationJobParams params;
    params.request.prompts = { "x" };
    params.request.frames = 10;
    params.libraryDir = library;
    std::promise<Expected<GenerationJobResult>> noModel;
    ASSERT_TRUE(worker.generate(params, {}, [&](Expected<GenerationJobResult> r) { noModel.set_value(std::move(r)); }));
    Expected<GenerationJobResult> failed = noModel.get_future().get();
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.error().message.find("model"), std::string::npos) << failed.error().message;

    ASSERT_TRUE(worker.loadModel(modelDir(), ModelOptions {}));
    std::promise<Expected<GenerationJobResult>> cancelled;
    {
        Gate busy(worker);
        auto token = std::make_shared<CancelToken>();
        ASSERT_TRUE(worker.generate(
            params, {}, [&](Expected<GenerationJobResult> r) { cancelled.set_value(std::move(r)); }, token));
        worker.cancel();
        EXPECT_TRUE(token->isCancelled());
    }
    Expected<GenerationJobResult> result = cancelled.get_future().get();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::Cancelled);
    auto clips = ClipLibrary::open(library)->list();
    ASSERT_TRUE(clips.ok());
    EXPECT_TRUE(clips->empty());
}

} // namespace
} // namespace tmk
