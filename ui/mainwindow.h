// The main window: where users type prompts, move the 13 sliders, generate and audition clips.
//
// It composes the GenerationPanel (prompt, settings, Generate/Stop, progress), the SliderPanel and the
// ClipPanel (library, waveform, clip actions) over one EngineBridge, and a WelcomePanel on first run (no
// model remembered). Settings (QSettings: the application's organisation and name) keep the last model
// and bank, the window geometry and state, the slider values and the generation settings.
#pragma once

#include <QMainWindow>
#include <QPointer>

#include "tastemaker/adapters.h"
#include "tastemaker/clip_library.h"

class QAction;
class QLabel;
class QMessageBox;
class QPushButton;
class QSplitter;
class QStackedWidget;
class QTimer;
class QUndoStack;

namespace tmk::ui {

class ClipPanel;
class EngineBridge;
class GenerationPanel;
class SliderPanel;
class WelcomePanel;

struct MainWindowOptions {
    QString defaultModelDir; // the bundled default model ("Use the bundled default model"); empty: none
    QString defaultBankDir; // its adapter bank, opened with it when no bank is chosen; empty: none
    // The default is the trained demo model (tmk::isBundledDemoModel): a first start opens it and its bank
    // instead of showing the welcome panel, and the welcome panel describes it. False for the untrained tiny model.
    bool defaultIsDemo = false;
};

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(EngineBridge& bridge, MainWindowOptions options = {}, QWidget* parent = nullptr);
    ~MainWindow() override; // saves the settings

    // Startup: opens `modelDir` (else the remembered model, else the demo model with its bank when it is the
    // default, else shows the welcome panel) and `bankDir` (else the remembered bank).
    void openInitial(const QString& modelDir = {}, const QString& bankDir = {});

    void openModel(const QString& dir); // a job; errors in a dialog
    // "Use the bundled default model": the default model, and the demo's bank when no bank is open.
    void openDefaultModel();
    void openBank(const QString& dir);
    void generateOrStop(); // what the Generate/Stop button and Ctrl+Enter do
    void restoreClipSettings(const tmk::ClipEntry& clip);
    void saveSettings() const;

    bool welcomeShown() const;
    QString modelDescription() const;

    EngineBridge& bridge() const { return m_bridge; }
    GenerationPanel* generationPanel() const { return m_generation; }
    SliderPanel* sliderPanel() const { return m_sliders; }
    ClipPanel* clipPanel() const { return m_clips; }
    QUndoStack* undoStack() const { return m_undo; }

    // A line in the status bar; with undoable, an "Undo" button next to it (for a few seconds).
    void showStatus(const QString& text, bool undoable = false);
    QString statusText() const;
    // A non-blocking error dialog (window-modal), like every job failure shows.
    void showError(const QString& title, const QString& message);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    QWidget* buildWorkspace();
    QWidget* buildSliderColumn(QWidget* parent);
    void buildMenus();
    void buildStatusBar();
    void connectBridge();
    void restoreSettings();
    void onModelLoaded();
    void applyModelDefaultsToNewModel(const tmk::ModelInfo& info);
    void onBankLoaded();
    void onJobFailed(const QString& title, const QString& message);
    void onGenerationFinished(bool cancelled, const QString& clipId);
    void onSlidersChanged(const tmk::SliderValues& values);
    void updateModelLabel();
    void updateBankLabel();
    void updateAudioLabel();
    void updateGenerateEnabled();
    void chooseModelFolder();
    void chooseBankFolder();
    void showAbout();

    EngineBridge& m_bridge;
    MainWindowOptions m_options;
    QUndoStack* m_undo = nullptr;
    QStackedWidget* m_pages = nullptr;
    WelcomePanel* m_welcome = nullptr;
    QWidget* m_workspace = nullptr;
    GenerationPanel* m_generation = nullptr;
    SliderPanel* m_sliders = nullptr;
    ClipPanel* m_clips = nullptr;
    QSplitter* m_splitter = nullptr;
    QLabel* m_bankLabel = nullptr;
    QLabel* m_statusLabel = nullptr;
    QPushButton* m_undoButton = nullptr;
    QTimer* m_statusTimer = nullptr;
    QLabel* m_modelLabel = nullptr;
    QLabel* m_audioLabel = nullptr;
    QAction* m_defaultModelAction = nullptr;
    QAction* m_generateAction = nullptr;
    QPointer<QMessageBox> m_errorBox;
    tmk::SliderValues m_sliderValues; // what the user set (kept while no bank can take them)
    QString m_loadingModelDir; // a model load in flight
    QString m_samplingModelDir; // the model whose defaults the sampling controls started from (cleaned path)
    double m_generationStartSeconds = 0;
    bool m_closing = false;
};

} // namespace tmk::ui
