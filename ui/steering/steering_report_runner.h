// SteeringReportRunner: runs the steering report (tastemaker/steering_report.h, `tastemaker-cli evaluate`) for the
// open model and bank as one job on EngineBridge's worker. It uses the model and the bank already loaded there: the
// bank is merged at each slider value in turn, and the user's slider values are merged back when the job ends.
// Other engine work (a generation) waits until it has finished.
//
// Progress comes back after every generation (clips done, elapsed time, ETA). cancel() (or EngineBridge::cancel())
// lets the generation under way finish; the report of the clips done so far is still written. The report goes into
// the request's folder, each file atomically (writeSteeringReport). Jobs reach this object through a GuiChannel,
// so one still running after it was destroyed reports nothing (the destructor cancels it).
#pragma once

#include <memory>

#include <QObject>
#include <QString>

#include "gui_channel.h"
#include "tastemaker/cancel.h"
#include "tastemaker/steering_report.h"

namespace tmk::ui {

class EngineBridge;

struct SteeringRunRequest {
    tmk::SteeringEvalParams params;
    QString outDir; // where report.json and the rest are written (created when missing)
};

enum class SteeringRunOutcome { Finished, Cancelled, Failed };

class SteeringReportRunner : public QObject {
    Q_OBJECT

public:
    explicit SteeringReportRunner(EngineBridge& engine, QObject* parent = nullptr);
    ~SteeringReportRunner() override; // cancels the running report
    SteeringReportRunner(const SteeringReportRunner&) = delete;
    SteeringReportRunner& operator=(const SteeringReportRunner&) = delete;

    // Queues the report. Returns false when one is running already (the caller checked the params; the job fails
    // with the engine's message otherwise, e.g. when no model or bank is open).
    bool start(const SteeringRunRequest& request);
    void cancel();
    bool running() const { return m_running; }

Q_SIGNALS:
    void started();
    // After every generation; etaSeconds < 0 while unknown.
    void progress(qint64 clipsDone, qint64 clipsTotal, double elapsedSeconds, double etaSeconds);
    // Once per start(). Finished and Cancelled: `outDir` holds the report (a cancelled run before its first clip
    // writes none: `outDir` is empty then). Failed: `message` is the engine's error.
    void finished(tmk::ui::SteeringRunOutcome outcome, const QString& outDir, const QString& message);

private:
    void onFinished(SteeringRunOutcome outcome, const QString& outDir, const QString& message);

    EngineBridge& m_engine;
    std::shared_ptr<GuiChannel> m_channel;
    tmk::CancelTokenPtr m_token;
    bool m_running = false;
};

} // namespace tmk::ui

Q_DECLARE_METATYPE(tmk::ui::SteeringRunOutcome)
