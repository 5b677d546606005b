// TrainingBridge: the training wizard's only door to the engine. It runs the pair preview, the pair
// builder + tokenizer, and one DPO run per queued adapter as jobs on EngineBridge's worker (post() with a
// CancelToken, so EngineBridge::cancel() and quitting cancel them too), and re-posts their progress and
// TrainLogEntry values to the GUI thread with queued invocations.
//
// A plan runs as a chain of jobs: "prepare" (buildPairs → writePairSet into <runs root>/<stamp>-pairs →
// tokenizeSongs), then one job per adapter (trainDpo with outDir <runs root>/<stamp>-<metric><sign> and
// bankDir = the plan's bank, so the trainer registers the finished adapter). Between two jobs the GUI side
// reloads the bank in EngineBridge, so a finished adapter's slider becomes active at once; other engine
// work (a generation) may run between two adapters, never during one.
//
// Each trainDpo call loads its own copy of the base model from the plan's model folder: the GUI's model
// may have slider weights merged into it, and the reference policy must be the plain base model.
//
// "Analyse my library" (the data page) runs the torch-free Analyser on the bridge's own analysis thread, not
// on the engine's worker: a whole library takes minutes, and generation should not wait for it.
//
// Lifetime: jobs reach this object through a GuiChannel (gui_channel.h) that the destructor closes, so a job
// still running on the worker after the wizard closed posts nothing (and was cancelled by the destructor).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <QObject>
#include <QString>
#include <QThreadPool>

#include "gui_channel.h"
#include "tastemaker/adapters.h"
#include "tastemaker/analysis.h"
#include "tastemaker/cancel.h"
#include "tastemaker/pairs.h"
#include "tastemaker/progress.h"
#include "tastemaker/training.h"

namespace tmk::ui {

class EngineBridge;

struct TrainingTarget {
    std::string metric;
    tmk::AdapterSide side = tmk::AdapterSide::Positive;
    QString name() const; // "energy+"
};

// Everything a new fine-tune needs; the wizard's pages fill it.
struct TrainingPlan {
    tmk::PairBuilderOptions data;
    std::filesystem::path modelDir, bankDir, runsRoot;
    std::vector<TrainingTarget> targets;
    tmk::TrainOptions train; // hyper-parameters; paths, metric and direction are set per target
    double windowSeconds = 10.0; // the token crop window
    double startFraction = 0.3;
};

enum class RunOutcome { Finished, Cancelled, Failed };

class TrainingBridge : public QObject {
    Q_OBJECT

public:
    explicit TrainingBridge(EngineBridge& engine, QObject* parent = nullptr);
    ~TrainingBridge() override; // cancels its jobs
    TrainingBridge(const TrainingBridge&) = delete;
    TrainingBridge& operator=(const TrainingBridge&) = delete;

    EngineBridge& engine() const { return m_engine; }
    const std::vector<tmk::MetricInfo>& metrics() const;

    // Builds the pairs (without writing them) to show what training would get: previewProgress, then
    // previewFinished or previewFailed. A new preview cancels the running one.
    void preview(const tmk::PairBuilderOptions& options);
    void cancelPreview();

    // Analyses every audio file under `audioDir` (analyseLibrary) on the analysis thread: analysisProgress
    // (files), then analysisFinished (files that could not be read are in LibraryAnalysis::skipped) or
    // analysisFailed. A new analysis cancels the running one; after cancelAnalysis() nothing it would
    // report arrives (it stops before its next file).
    void analyseLibrary(const QString& audioDir);
    void cancelAnalysis();
    // A job, maybe a cancelled one finishing its current file, is still on the analysis thread.
    bool analysisBusy() const;

    // Starts a plan (the caller checked it; an invalid option fails the adapter's job with the trainer's
    // message). Returns false when a run is going already.
    bool start(const TrainingPlan& plan);
    // Continues an interrupted run folder (its run.json options; resume = true). The finished adapter is
    // registered in `bankDir` (empty: the run's own bank).
    bool resume(const tmk::RunInfo& run, const std::filesystem::path& bankDir = {});
    void cancel(); // the running plan or resume: the trainer writes a checkpoint
    bool running() const { return m_running; }

    // The targets of the running (or last) plan and the run folder of each, once started.
    const std::vector<TrainingTarget>& targets() const { return m_targets; }
    std::filesystem::path runDir(int index) const;
    std::filesystem::path pairsDir() const { return m_pairsDir; }

    // QStandardPaths::AppDataLocation + "/runs".
    static QString defaultRunsRoot();
    // Reads `bankDir`'s bank.json; nullopt when there is none or it is unreadable (quick file work).
    static std::optional<tmk::BankSummary> readBank(
        const std::filesystem::path& bankDir, const std::vector<tmk::MetricInfo>& metrics);

Q_SIGNALS:
    void previewProgress(tmk::ProgressStage stage, qint64 done, qint64 total);
    void previewFinished(const tmk::PairReport& report);
    void previewFailed(const QString& message);

    void analysisProgress(qint64 done, qint64 total);
    void analysisFinished(const tmk::LibraryAnalysis& analysis);
    void analysisFailed(const QString& message);

    // A line for the run's log ("Building pairs…", "Tokenized 20 songs (0 failed)", ...).
    void runMessage(const QString& text);
    // Preparation: the pair builder's stages (reading the CSVs, matching songs), then Tokenizing.
    void prepareProgress(tmk::ProgressStage stage, qint64 done, qint64 total);
    void adapterStarted(int index, const QString& name, const QString& runDir);
    // Stage Training (optimiser steps) or Evaluation (test pairs), from the trainer.
    void trainProgress(int index, tmk::ProgressStage stage, qint64 done, qint64 total);
    void logEntry(int index, const tmk::TrainLogEntry& entry);
    // After the trainer returned: cancelled (a checkpoint was written) or finished (registered in the bank).
    void adapterFinished(int index, bool cancelled, qint64 step, qint64 totalSteps);
    // Once per start()/resume(). Cancelled: `step` is the step the checkpoint holds (-1 before training).
    void runFinished(tmk::ui::RunOutcome outcome, qint64 step, const QString& message);
    void runningChanged(bool running);

private:
    static QString freeStamp(const TrainingPlan& plan); // "yyyyMMdd-HHmmss", no folder of the root uses it
    void postPrepare(const TrainingPlan& plan); // the job: pairs, then tokens
    void startAdapter(int index);
    void onPrepared(bool ok, bool cancelled, const QString& message);
    void onAdapterDone(int index, const tmk::Expected<tmk::TrainResult>& result);
    void finishRun(RunOutcome outcome, qint64 step, const QString& message);
    void refreshBank(const std::filesystem::path& bankDir);
    tmk::TrainCallbacks trainCallbacks(int index, const tmk::CancelToken* token);

    EngineBridge& m_engine;
    std::shared_ptr<GuiChannel> m_channel;
    tmk::CancelTokenPtr m_previewToken;
    int m_previewGeneration = 0;
    tmk::CancelTokenPtr m_analysisToken;
    int m_analysisGeneration = 0;
    QThreadPool m_analysisPool; // one thread; its destructor waits for the (cancelled) job's current file
    tmk::CancelTokenPtr m_runToken;
    bool m_running = false;
    TrainingPlan m_plan;
    std::vector<TrainingTarget> m_targets;
    std::vector<std::filesystem::path> m_runDirs;
    std::vector<tmk::TrainOptions> m_options; // per target, ready for trainDpo
    std::filesystem::path m_pairsDir;
    int64_t m_lastStep = -1;
};

} // namespace tmk::ui

Q_DECLARE_METATYPE(tmk::PairReport)
Q_DECLARE_METATYPE(tmk::TrainLogEntry)
Q_DECLARE_METATYPE(tmk::LibraryAnalysis)
Q_DECLARE_METATYPE(tmk::ui::RunOutcome)
