// The wizard's last page: starts the plan (or continues the resumed run) when shown and hosts the
// RunMonitor. Finish is enabled once the run stopped (finished, cancelled or failed).
#pragma once

#include <QWizardPage>

namespace tmk::ui {

class RunMonitor;
struct WizardContext;

class RunPage : public QWizardPage {
    Q_OBJECT

public:
    explicit RunPage(WizardContext& context, QWidget* parent = nullptr);
    ~RunPage() override;

    RunMonitor* monitor() const { return m_monitor; }
    bool started() const { return m_started; }

    void initializePage() override;
    bool isComplete() const override;

private:
    void startPlan();
    void startResume();

    WizardContext& m_context;
    RunMonitor* m_monitor = nullptr;
    bool m_started = false;
};

} // namespace tmk::ui
