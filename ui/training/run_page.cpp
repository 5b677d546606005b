// RunPage (see run_page.h).
#include "training/run_page.h"

#include <algorithm>

#include <QVBoxLayout>

#include "training/run_monitor.h"
#include "training/wizard_context.h"

namespace tmk::ui {

RunPage::RunPage(WizardContext& context, QWidget* parent)
    : QWizardPage(parent)
    , m_context(context)
{
    setTitle(tr("Training"));
    setSubTitle(
        tr("Pairs, tokens, then each adapter in turn. You can keep using Tastemaker meanwhile; cancelling saves a "
           "checkpoint."));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_monitor = new RunMonitor(context.bridge, this);
    layout->addWidget(m_monitor);
    connect(&context.bridge, &TrainingBridge::runningChanged, this, &RunPage::completeChanged);
}

RunPage::~RunPage() = default;

void RunPage::initializePage()
{
    if (m_started) return;
    m_started = true;
    if (m_context.resumeRun)
        startResume();
    else
        startPlan();
    Q_EMIT completeChanged();
}

void RunPage::startPlan()
{
    m_monitor->prepareForPlan(static_cast<int>(m_context.plan.targets.size()));
    m_context.bridge.start(m_context.plan); // each wizard has its own bridge: nothing else is running
}

void RunPage::startResume()
{
    const RunInfo& run = *m_context.resumeRun;
    // The curves so far: what the checkpoint holds (the trainer drops later lines when it resumes).
    std::vector<TrainLogEntry> history;
    if (Expected<std::vector<TrainLogEntry>> logged = readTrainLog(run.dir)) {
        for (TrainLogEntry& entry : *logged)
            if (entry.step <= run.step) history.push_back(std::move(entry));
    }
    m_monitor->prepareForResume(
        QString::fromStdString(adapterName(run.options.metric, run.options.direction)), history);
    m_context.bridge.resume(run, m_context.resumeBankDir);
}

bool RunPage::isComplete() const
{
    return m_started && !m_context.bridge.running();
}

} // namespace tmk::ui
