// The training wizard (issue 8): Data → Targets → Settings → Run. It owns its TrainingBridge, so closing
// it cancels whatever it started (the trainer saves a checkpoint). In resume mode it opens straight on
// the run page and continues an interrupted run folder.
#pragma once

#include <filesystem>
#include <memory>

#include <QWizard>

#include "tastemaker/training.h"

namespace tmk::ui {

class DataPage;
class EngineBridge;
class RunPage;
class SettingsPage;
class TargetsPage;
class TrainingBridge;
struct WizardContext;

class TrainingWizard : public QWizard {
    Q_OBJECT

public:
    enum PageId { DataPageId = 0, TargetsPageId, SettingsPageId, RunPageId };

    // A new fine-tune.
    explicit TrainingWizard(EngineBridge& engine, QWidget* parent = nullptr);
    // Resume mode: continues `run`; the finished adapter registers in `bankDir` (empty: the run's own bank).
    TrainingWizard(EngineBridge& engine, const tmk::RunInfo& run, const std::filesystem::path& bankDir = {},
        QWidget* parent = nullptr);
    ~TrainingWizard() override;

    TrainingBridge& bridge() const { return *m_bridge; }
    bool isResume() const;
    DataPage* dataPage() const { return m_data; }
    TargetsPage* targetsPage() const { return m_targets; }
    SettingsPage* settingsPage() const { return m_settings; }
    RunPage* runPage() const { return m_run; }

    // While training runs: asks, then cancels and closes once the checkpoint is written.
    void reject() override;

private:
    void buildPages();

    std::unique_ptr<TrainingBridge> m_bridge;
    std::unique_ptr<WizardContext> m_context;
    DataPage* m_data = nullptr;
    TargetsPage* m_targets = nullptr;
    SettingsPage* m_settings = nullptr;
    RunPage* m_run = nullptr;
    bool m_closeWhenStopped = false;
};

} // namespace tmk::ui
