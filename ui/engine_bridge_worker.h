// EngineBridge's worker side (private to engine_bridge*.cpp): the job queue, and the state that only the
// worker thread touches (the model, the steering merge, the stream's player handle).
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine_bridge.h"
#include "tastemaker/steering.h"

namespace tmk::ui {

struct EngineBridge::Worker {
    struct Job {
        std::function<void()> run;
        bool countsAsBusy = false;
        tmk::CancelTokenPtr token;
    };

    // Shared with the GUI thread, under `mutex`.
    std::thread thread;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Job> queue;
    bool stopping = false;
    std::vector<tmk::CancelTokenPtr> tokens;  // of queued and running jobs
    tmk::SliderValues wantedSliders;          // the newest values setSliders() / generate() asked for
    bool mergeQueued = false;

    // Worker thread only.
    std::shared_ptr<const tmk::MusicgenModel> model;
    std::unique_ptr<tmk::Steering> steering;  // destroying it restores the model's weights (W0)
    std::filesystem::path bankDir;
    std::shared_ptr<tmk::Player> player;

    // Loads the bank onto the model (or only checks bank.json while no model is loaded) and merges the
    // wanted sliders.
    tmk::Expected<tmk::BankSummary> openBank(const std::filesystem::path& dir, const std::vector<tmk::MetricInfo>& metrics);
    // Merges wantedSliders unless they are what is merged already (then nothing: no value).
    tmk::Expected<std::optional<tmk::SteeringMergeInfo>> mergeWanted();
    // Passes progress on at most every 40 ms (and always the last step).
    static tmk::ProgressCallback throttledProgress(std::function<void(const tmk::Progress&)> report);
};

}  // namespace tmk::ui
