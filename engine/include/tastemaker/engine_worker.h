// The engine thread. An EngineWorker owns one worker thread and, on it, the loaded model, the adapter bank
// merged into it (Steering) and the audio output. It runs one job at a time, in the order they were asked
// for: open the audio output, load a model, open or close a bank, merge sliders, generate (see
// tastemaker/generation_job.h), or any job post()ed by the caller (e.g. training). No Qt, no torch types.
//
// Sliders are coalesced: setSliders() only stores the newest values and queues at most one merge; the merge
// takes whatever is newest when the worker gets to it, so a burst of moves while the worker is busy costs one
// merge, never a backlog. A generation merges the newest values too before it starts.
//
// Every method returns at once and may be called from any one thread (the UI's, in the app). Results come
// back through EngineWorkerEvents and the generation's callbacks, all called on the worker thread: a UI
// re-posts them to its own thread (EngineBridge does).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "tastemaker/adapters.h"
#include "tastemaker/cancel.h"
#include "tastemaker/error.h"
#include "tastemaker/generation_job.h"
#include "tastemaker/metrics.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/player.h"
#include "tastemaker/progress.h"
#include "tastemaker/steering.h"

namespace tmk {

enum class EngineJobKind { OpenAudio, LoadModel, LoadBank, CloseBank, MergeSliders, Generate, Posted };

// The adapter bank after a bank job (or a model load that re-read it).
struct EngineBankState {
    std::optional<BankSummary> summary; // none: no bank
    std::filesystem::path dir; // empty: no bank
    SliderValues merged; // the slider values the model is steered with now
};

struct EngineFailure {
    EngineJobKind job = EngineJobKind::Posted;
    Error error; // the engine's exact error
    std::filesystem::path path; // the model or bank folder that could not be opened (empty otherwise)
};

// All called on the worker thread, in order.
struct EngineWorkerEvents {
    std::function<void(std::shared_ptr<Player> player)> onAudioOpened;
    std::function<void(const Error& error)> onAudioFailed;
    std::function<void(const Progress& progress)> onLoadProgress; // at most every 40 ms, and the last step
    std::function<void(const std::filesystem::path& dir, const ModelInfo& info)> onModelLoaded;
    // After every bank job, failed or not (a failed open keeps the previous bank when it can).
    std::function<void(const EngineBankState& bank)> onBankChanged;
    std::function<void(const SteeringMergeInfo& info, const SliderValues& merged)> onSlidersMerged;
    std::function<void(const EngineFailure& failure)> onFailed; // a model, bank or merge job failed
    std::function<void(EngineJobKind job)> onJobDone; // after every job, whatever its outcome
};

using GenerationFinishedCallback = std::function<void(Expected<GenerationJobResult> result)>;

class EngineWorker {
public:
    // `metrics`: the slider metrics banks are checked against (tastemaker/metrics.h).
    EngineWorker(std::vector<MetricInfo> metrics, EngineWorkerEvents events);
    ~EngineWorker(); // shutdown()
    EngineWorker(const EngineWorker&) = delete;
    EngineWorker& operator=(const EngineWorker&) = delete;

    // Each returns false (and queues nothing) after shutdown().
    bool openAudio(const PlayerOptions& options = {});
    // Replaces the current model when the new one loads; the bank, if any, is then re-read against it.
    bool loadModel(const std::filesystem::path& dir, const ModelOptions& options);
    // Merged into the model when one is loaded (checked and kept for the next model otherwise). A bank that
    // fails to open leaves the previous one in place.
    bool loadBank(const std::filesystem::path& dir);
    bool reloadBank(); // re-reads the current bank (after training registered an adapter)
    bool closeBank(); // sliders back to 0 (the model's weights to W0), bank dropped
    // Coalesced; onSlidersMerged when the values steering the model changed. A move reaches the model at run
    // time (Steering::applyAtRuntime, milliseconds); after 400 ms with nothing queued the worker merges it,
    // so later steps cost nothing extra (no event: the values are the same).
    bool setSliders(const SliderValues& values);
    // Runs a generation job after the jobs before it, with the newest slider values (params.sliders become
    // the newest now). params.sink: when null, the worker's audio output (openAudio) plays the stream.
    // `cancel` (optional) is polled at every decoding step; cancel() requests it too. onFinished is always
    // called once, on the worker thread, unless the worker shuts down first.
    bool generate(GenerationJobParams params, GenerationJobCallbacks callbacks, GenerationFinishedCallback onFinished,
        CancelTokenPtr cancel = {});
    // Runs `job` after the jobs before it. When `cancel` is given, cancel() requests it.
    bool post(std::function<void()> job, CancelTokenPtr cancel = {});
    // Cancels the running job and every queued one that has a token.
    void cancel();
    // Cancels, drops queued jobs and joins the thread; the bank is closed and the model released on it.
    void shutdown();

    // For jobs running on the worker thread only.
    std::shared_ptr<const MusicgenModel> model() const;
    std::filesystem::path bankDir() const;
    // The bank merged into the model (nullptr without one). A posted job may merge other slider values while it
    // runs (the steering report does); it should put steering()->current() back before it returns.
    Steering* steering() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace tmk
