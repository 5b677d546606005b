// The wizard's settings page: DPO and LoRA hyper-parameters with sensible defaults (TrainOptions') and a
// one-line explanation beside each. "Show advanced settings" reveals the rarely changed ones (loss type,
// rsLoRA, target modules, warm-up, schedule, weight decay, gradient clipping, crop start). It is the
// wizard's commit page: its button reads "Start training".
#pragma once

#include <vector>

#include <QString>
#include <QWizardPage>

#include "tastemaker/training.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace tmk::ui {

struct TrainingPlan;
struct WizardContext;

class SettingsPage : public QWizardPage {
    Q_OBJECT

public:
    explicit SettingsPage(WizardContext& context, QWidget* parent = nullptr);
    ~SettingsPage() override;

    void setAdvancedVisible(bool visible);
    bool advancedVisible() const;
    // Fills plan.train's hyper-parameters and the token window from the editors.
    void applyTo(TrainingPlan& plan) const;
    // The trainer's own check of the options (with placeholder paths); empty when valid.
    QString problem() const;
    QString messageText() const;

    // Convenience for tests and presets: a fixed number of optimiser steps.
    void setSteps(int steps);
    void setBatchSize(int batch);
    void setEvalEvery(int steps);
    void setCheckpointEvery(int steps);
    void setWindowSeconds(double seconds);
    void setLoraRank(int rank);

    bool validatePage() override;

private:
    void buildEditors(QGridLayout* grid); // the everyday ones
    void buildAdvancedEditors(QGridLayout* grid); // hidden until "Show advanced settings"
    void addRow(QGridLayout* grid, const QString& label, QWidget* editor, const QString& explanation, bool advanced);
    void updateLengthMode();

    WizardContext& m_context;
    QCheckBox* m_advanced = nullptr;
    std::vector<QWidget*> m_advancedWidgets;
    QDoubleSpinBox* m_beta = nullptr;
    QComboBox* m_loss = nullptr;
    QSpinBox* m_rank = nullptr;
    QDoubleSpinBox* m_alpha = nullptr;
    QCheckBox* m_rslora = nullptr;
    QCheckBox* m_checkpointLayers = nullptr;
    QLineEdit* m_targets = nullptr;
    QDoubleSpinBox* m_learningRate = nullptr;
    QComboBox* m_lengthMode = nullptr;
    QSpinBox* m_steps = nullptr;
    QDoubleSpinBox* m_epochs = nullptr;
    QSpinBox* m_batch = nullptr;
    QSpinBox* m_accumulation = nullptr;
    QDoubleSpinBox* m_window = nullptr;
    QDoubleSpinBox* m_startFraction = nullptr;
    QSpinBox* m_evalEvery = nullptr;
    QSpinBox* m_checkpointEvery = nullptr;
    QSpinBox* m_seed = nullptr;
    QSpinBox* m_warmup = nullptr;
    QComboBox* m_schedule = nullptr;
    QDoubleSpinBox* m_weightDecay = nullptr;
    QDoubleSpinBox* m_gradClip = nullptr;
    QLabel* m_message = nullptr;
};

} // namespace tmk::ui
