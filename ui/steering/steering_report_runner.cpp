// SteeringReportRunner (see steering_report_runner.h).
#include "steering/steering_report_runner.h"

#include "engine_bridge.h"

namespace tmk::ui {

namespace fs = std::filesystem;

namespace {

struct ReportJobResult {
    SteeringRunOutcome outcome = SteeringRunOutcome::Failed;
    bool written = false;
    Error error;
};

// On the worker: evaluates with the worker's model and bank, puts the user's slider values back, and writes the
// report (also a cancelled one, when it has clips).
ReportJobResult runReport(EngineBridge& engine, const std::vector<MetricInfo>& metrics,
    const SteeringRunRequest& request, const SteeringEvalCallbacks& callbacks)
{
    ReportJobResult result;
    const std::shared_ptr<const MusicgenModel> model = engine.workerModel();
    Steering* steering = engine.workerSteering();
    if (!model) {
        result.error = Error { ErrorCode::InvalidArgument, "no model is open; open a model first" };
        return result;
    }
    if (!steering) {
        result.error = Error { ErrorCode::InvalidArgument, "no adapter bank is open; open a bank first" };
        return result;
    }
    Expected<SteeringReportInfo> info
        = steeringReportInfo(*model, steering->bankDir(), metrics, request.params.firstSeed);
    if (!info) {
        result.error = info.error();
        return result;
    }
    // A report already in the folder (a cancelled run, or fewer sliders or seeds) is continued; one made with other
    // settings is left as it is and the run refused, so nothing is overwritten.
    Expected<ReusableSteeringClips> reuse
        = reusableSteeringClipsIn(fs::path(request.outDir.toStdString()), *info, request.params);
    if (!reuse) {
        result.error = reuse.error();
        return result;
    }
    // The report so far after every slider but the last, so that a crash or a killed app keeps those clips for a
    // run into the same folder (a failed write is left to the final one, which reports it).
    SteeringEvalCallbacks saving = callbacks;
    saving.onSliderDone = reportSoFarWriter(request.outDir.toStdString(), *info);
    const SliderValues before = steering->current();
    Expected<SteeringEvalRun> run
        = runSteeringEvaluation(model, *steering, metrics, request.params, saving, reuse->clips);
    Expected<SteeringMergeInfo> restored = steering->apply(before);
    if (!run) {
        result.error = run.error();
        return result;
    }
    if (!restored) {
        result.error = restored.error();
        return result;
    }
    const SteeringReport report = buildSteeringReport(*run, *info);
    if (report.clipsDone > 0) {
        if (Expected<void> written = writeSteeringReport(fs::path(request.outDir.toStdString()), report); !written) {
            result.error = written.error();
            return result;
        }
        result.written = true;
    }
    result.outcome = run->cancelled ? SteeringRunOutcome::Cancelled : SteeringRunOutcome::Finished;
    return result;
}

} // namespace

SteeringReportRunner::SteeringReportRunner(EngineBridge& engine, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_channel(std::make_shared<GuiChannel>(this))
{
    qRegisterMetaType<tmk::ui::SteeringRunOutcome>("tmk::ui::SteeringRunOutcome");
}

SteeringReportRunner::~SteeringReportRunner()
{
    m_channel->close();
    if (m_token) m_token->requestCancel();
}

bool SteeringReportRunner::start(const SteeringRunRequest& request)
{
    if (m_running) return false;
    m_running = true;
    m_token = std::make_shared<CancelToken>();
    std::shared_ptr<GuiChannel> channel = m_channel;
    CancelTokenPtr token = m_token;
    std::vector<MetricInfo> metrics = m_engine.metrics();
    EngineBridge* engine = &m_engine; // outlives its worker's jobs (its destructor joins the worker)
    m_engine.post(
        [this, engine, channel, token, metrics, request]() {
            SteeringEvalCallbacks callbacks;
            callbacks.cancel = token.get();
            callbacks.onProgress = [this, channel](const SteeringEvalProgress& p) {
                channel->post([this, p]() {
                    if (m_running) Q_EMIT progress(p.clipsDone, p.clipsTotal, p.elapsedSeconds, p.etaSeconds);
                });
            };
            ReportJobResult result;
            try {
                result = runReport(*engine, metrics, request, callbacks);
            } catch (const std::exception& e) {
                result.error = Error { ErrorCode::Internal, std::string("the steering report failed: ") + e.what() };
            }
            const QString outDir = result.written ? request.outDir : QString();
            const QString message = QString::fromStdString(result.error.message);
            channel->post([this, result, outDir, message]() { onFinished(result.outcome, outDir, message); });
        },
        m_token);
    Q_EMIT started();
    return true;
}

void SteeringReportRunner::cancel()
{
    if (m_token) m_token->requestCancel();
}

void SteeringReportRunner::onFinished(SteeringRunOutcome outcome, const QString& outDir, const QString& message)
{
    m_running = false;
    m_token.reset();
    Q_EMIT finished(outcome, outDir, message);
}

} // namespace tmk::ui
