// The top of the main window: the prompt (with history), the Generate/Stop button, the generation settings
// (duration, seed with "new seed" and a lock, temperature, top-k, top-p, CFG scale, the model's device and
// dtype) and a progress bar that shows loading progress, and while generating the ETA and real-time factor.
#pragma once

#include <QStringList>
#include <QWidget>

#include "tastemaker/musicgen.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSettings;
class QLineEdit;
class QSpinBox;
class QToolButton;

namespace tmk::ui {

class GenerationPanel : public QWidget {
    Q_OBJECT

public:
    static constexpr int kHistoryLimit = 30;
    static constexpr double kDefaultDurationSeconds = 8.0;

    explicit GenerationPanel(QWidget* parent = nullptr);
    ~GenerationPanel() override;

    QString prompt() const;
    void setPrompt(const QString& prompt);
    QStringList promptHistory() const;
    void addToHistory(const QString& prompt); // most recent first, no duplicates

    quint64 seed() const;
    void setSeed(quint64 seed);
    bool seedLocked() const;
    void setSeedLocked(bool locked);
    void newSeed(); // a random seed

    double durationSeconds() const;
    void setDurationSeconds(double seconds);

    // Limits from the model (maximum duration, top-k up to the codebook size). nullptr: no model.
    void setModelInfo(const tmk::ModelInfo* info);
    // The request the controls describe (prompt, frames, sampling, seed).
    tmk::GenerationRequest request(const tmk::ModelInfo& info) const;
    // Puts a request's settings into the controls (duration, sampling, seed; not the prompt).
    void setRequestSettings(const tmk::GenerationRequest& request, int64_t frameRate);
    // The model's own sampling settings (from its generation_config.json) into the controls. MainWindow calls
    // it when a model opens that the controls were not already set up for (see applyModelDefaultsToNewModel).
    void applyModelDefaults(const tmk::SamplingParams& defaults);

    tmk::ModelOptions modelOptions() const;
    void setModelOptions(const tmk::ModelOptions& options); // emits nothing

    // The button: "Generate" or "Stop".
    void setGenerating(bool generating);
    void setGenerateEnabled(bool enabled, const QString& reason = {});
    QPushButton* generateButton() const { return m_generate; }
    QComboBox* promptBox() const { return m_prompt; }

    void showGenerationProgress(qint64 done, qint64 total, double etaSeconds, double realtimeFactor);
    void showLoadProgress(const QString& stage, double fraction);
    void showIdle(const QString& text = {});

    // Settings under the current QSettings group: prompt, history, seed, lock, duration, sampling, device, dtype.
    void saveSettings(QSettings& settings) const;
    void restoreSettings(QSettings& settings);

Q_SIGNALS:
    void generateClicked(); // Generate pressed (or Enter in the prompt)
    void stopClicked();
    void modelOptionsChanged(const tmk::ModelOptions& options); // the user picked another device or dtype

private:
    QWidget* buildPromptRow();
    QWidget* buildSettingsRow();
    QWidget* buildProgressRow();
    void onButton();

    QComboBox* m_prompt = nullptr;
    QPushButton* m_generate = nullptr;
    QDoubleSpinBox* m_duration = nullptr;
    QLineEdit* m_seed = nullptr;
    QToolButton* m_newSeed = nullptr;
    QToolButton* m_lockSeed = nullptr;
    QDoubleSpinBox* m_temperature = nullptr;
    QSpinBox* m_topK = nullptr;
    QDoubleSpinBox* m_topP = nullptr;
    QDoubleSpinBox* m_cfg = nullptr;
    QComboBox* m_device = nullptr;
    QComboBox* m_dtype = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_progressLabel = nullptr;
    bool m_generating = false;
};

} // namespace tmk::ui
