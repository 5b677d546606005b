#include "mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTimer>
#include <QUndoStack>
#include <QVBoxLayout>

#include "clip_panel.h"
#include "engine_bridge.h"
#include "generation_panel.h"
#include "steering/steering_menu.h"
#include "training/training_menu.h"
#include "widgets/slider_panel.h"
#include "widgets/welcome_panel.h"

namespace tmk::ui {

namespace {

QVariantMap toVariantMap(const SliderValues& values)
{
    QVariantMap map;
    for (const auto& [id, value] : values) map.insert(QString::fromStdString(id), value);
    return map;
}

SliderValues fromVariantMap(const QVariantMap& map)
{
    SliderValues values;
    for (auto it = map.begin(); it != map.end(); ++it) values[it.key().toStdString()] = it.value().toDouble();
    return values;
}

QString cleanModelDir(const QString& dir)
{
    return dir.isEmpty() ? QString() : QDir::cleanPath(QFileInfo(dir).absoluteFilePath());
}

} // namespace

MainWindow::MainWindow(EngineBridge& bridge, MainWindowOptions options, QWidget* parent)
    : QMainWindow(parent)
    , m_bridge(bridge)
    , m_options(std::move(options))
{
    setObjectName("MainWindow");
    setWindowTitle(tr("Tastemaker"));
    resize(1280, 800);
    m_undo = new QUndoStack(this);

    m_pages = new QStackedWidget(this);
    m_welcome = new WelcomePanel(m_pages);
    m_welcome->setObjectName("welcomePanel");
    const bool hasDefault
        = !m_options.defaultModelDir.isEmpty() && QFileInfo(m_options.defaultModelDir + "/config.json").exists();
    m_welcome->setDefaultModelAvailable(hasDefault, tr("This build has no bundled default model."));
    if (hasDefault && m_options.defaultIsDemo) m_welcome->setDefaultModelKind(WelcomePanel::DefaultModelKind::Demo);
    m_workspace = buildWorkspace();
    m_pages->addWidget(m_welcome);
    m_pages->addWidget(m_workspace);
    m_pages->setCurrentWidget(m_workspace);
    setCentralWidget(m_pages);

    buildMenus();
    buildStatusBar();
    connectBridge();
    connect(m_welcome, &WelcomePanel::openModelRequested, this, &MainWindow::chooseModelFolder);
    connect(m_welcome, &WelcomePanel::openBankRequested, this, &MainWindow::chooseBankFolder);
    connect(m_welcome, &WelcomePanel::useDefaultModelRequested, this, &MainWindow::openDefaultModel);
    restoreSettings();
    updateModelLabel();
    updateBankLabel();
    updateAudioLabel();
    updateGenerateEnabled();
}

MainWindow::~MainWindow()
{
    saveSettings();
}

QWidget* MainWindow::buildWorkspace()
{
    auto* workspace = new QWidget(m_pages);
    workspace->setObjectName("workspace");
    auto* layout = new QVBoxLayout(workspace);
    layout->setContentsMargins(16, 12, 16, 8);
    layout->setSpacing(12);
    m_generation = new GenerationPanel(workspace);
    layout->addWidget(m_generation);

    m_splitter = new QSplitter(Qt::Horizontal, workspace);
    m_splitter->setObjectName("mainSplitter");
    m_splitter->setChildrenCollapsible(false);
    m_splitter->addWidget(buildSliderColumn(m_splitter));
    m_clips = new ClipPanel(m_bridge, *m_undo, m_splitter);
    m_splitter->addWidget(m_clips);
    m_splitter->setStretchFactor(0, 5);
    m_splitter->setStretchFactor(1, 6);
    layout->addWidget(m_splitter, 1);

    connect(m_generation, &GenerationPanel::generateClicked, this, &MainWindow::generateOrStop);
    connect(m_generation, &GenerationPanel::stopClicked, this, &MainWindow::generateOrStop);
    connect(m_generation, &GenerationPanel::modelOptionsChanged, this, [this](const ModelOptions& options) {
        if (!m_bridge.hasModel()) return;
        m_loadingModelDir = m_bridge.modelDir();
        m_bridge.loadModel(m_loadingModelDir, options);
        updateGenerateEnabled();
    });
    connect(m_sliders, &SliderPanel::valuesChanged, this, &MainWindow::onSlidersChanged);
    connect(m_clips, &ClipPanel::restoreSettingsRequested, this, &MainWindow::restoreClipSettings);
    connect(m_clips, &ClipPanel::statusMessage, this, &MainWindow::showStatus);
    connect(m_clips, &ClipPanel::errorOccurred, this, &MainWindow::showError);
    return workspace;
}

QWidget* MainWindow::buildSliderColumn(QWidget* parent)
{
    auto* column = new QWidget(parent);
    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 8, 0);
    layout->setSpacing(6);
    auto* title = new QLabel(tr("Steering"), column);
    title->setObjectName("sectionTitle");
    m_bankLabel = new QLabel(column);
    m_bankLabel->setObjectName("bankLabel");
    m_bankLabel->setWordWrap(true);
    m_sliders = new SliderPanel(m_bridge.metrics(), column);
    m_sliders->setObjectName("sliderPanel");
    m_sliders->setBank(nullptr);
    layout->addWidget(title);
    layout->addWidget(m_bankLabel);
    layout->addWidget(m_sliders, 1);
    return column;
}

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* openModelAction = file->addAction(tr("Open &model folder…"), this, &MainWindow::chooseModelFolder);
    openModelAction->setObjectName("actionOpenModel");
    openModelAction->setShortcut(QKeySequence::Open);
    QAction* openBankAction = file->addAction(tr("Open adapter &bank…"), this, &MainWindow::chooseBankFolder);
    openBankAction->setObjectName("actionOpenBank");
    openBankAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    QAction* closeBank = file->addAction(tr("&Close adapter bank"), &m_bridge, &EngineBridge::closeBank);
    closeBank->setObjectName("actionCloseBank");
    m_defaultModelAction = file->addAction(tr("Use the bundled &default model"), this, &MainWindow::openDefaultModel);
    m_defaultModelAction->setObjectName("actionDefaultModel");
    m_defaultModelAction->setEnabled(m_welcome->defaultModelButton()->isEnabled());
    file->addSeparator();
    QAction* exportClip
        = file->addAction(tr("&Export clip…"), this, [this]() { m_clips->exportClip(m_clips->currentClipId()); });
    exportClip->setObjectName("actionExport");
    exportClip->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setObjectName("actionQuit");
    quit->setShortcut(QKeySequence::Quit);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_undo->createUndoAction(this, tr("&Undo"));
    undo->setObjectName("actionUndo");
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = m_undo->createRedoAction(this, tr("&Redo"));
    redo->setObjectName("actionRedo");
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    QAction* rename = edit->addAction(tr("Re&name clip"), m_clips, &ClipPanel::startRename);
    rename->setObjectName("actionRename");
    rename->setShortcut(QKeySequence(Qt::Key_F2));
    QAction* restore = edit->addAction(tr("Restore clip &settings"), this, [this]() {
        if (auto found = m_bridge.findClip(m_clips->currentClipId())) restoreClipSettings(*found);
    });
    restore->setObjectName("actionRestoreSettings");

    QMenu* music = menuBar()->addMenu(tr("&Generate"));
    m_generateAction = music->addAction(tr("&Generate / Stop"), this, &MainWindow::generateOrStop);
    m_generateAction->setObjectName("actionGenerate");
    m_generateAction->setShortcuts({ QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter) });
    QAction* newSeed = music->addAction(tr("New &seed"), m_generation, &GenerationPanel::newSeed);
    newSeed->setObjectName("actionNewSeed");
    QAction* resetSliders = music->addAction(tr("&Reset all sliders"), m_sliders, &SliderPanel::resetAll);
    resetSliders->setObjectName("actionResetSliders");

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* about = help->addAction(tr("&About Tastemaker"), this, &MainWindow::showAbout);
    about->setObjectName("actionAbout");
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);

    // Steering ▸ Steering report… and Training ▸ New fine-tune… / Resume… (each inserted before Help). The
    // slider panel follows bankLoaded, which the training bridge triggers when an adapter is registered, so the
    // training menu needs no panel of its own.
    new SteeringMenu(menuBar(), m_bridge, this);
    new TrainingMenu(menuBar(), m_bridge, nullptr, this);
}

void MainWindow::buildStatusBar()
{
    m_statusLabel = new QLabel(this);
    m_statusLabel->setObjectName("statusLabel");
    m_undoButton = new QPushButton(tr("Undo"), this);
    m_undoButton->setObjectName("undoNoticeButton");
    m_undoButton->setFlat(true);
    m_undoButton->hide();
    connect(m_undoButton, &QPushButton::clicked, this, [this]() {
        m_undo->undo();
        showStatus(tr("Undone."));
    });
    m_statusTimer = new QTimer(this);
    m_statusTimer->setSingleShot(true);
    connect(m_statusTimer, &QTimer::timeout, this, [this]() {
        m_statusLabel->clear();
        m_undoButton->hide();
    });
    m_audioLabel = new QLabel(this);
    m_audioLabel->setObjectName("audioStatus");
    m_modelLabel = new QLabel(this);
    m_modelLabel->setObjectName("modelStatus");
    statusBar()->addWidget(m_statusLabel, 1);
    statusBar()->addWidget(m_undoButton);
    statusBar()->addPermanentWidget(m_audioLabel);
    statusBar()->addPermanentWidget(m_modelLabel);
}

void MainWindow::connectBridge()
{
    connect(&m_bridge, &EngineBridge::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(&m_bridge, &EngineBridge::bankLoaded, this, &MainWindow::onBankLoaded);
    connect(&m_bridge, &EngineBridge::jobFailed, this, &MainWindow::onJobFailed);
    connect(&m_bridge, &EngineBridge::modelLoadFailed, this, [this](const QString& dir, const QString&) {
        if (dir == m_loadingModelDir) m_loadingModelDir.clear();
        QSettings settings;
        if (settings.value("model/dir").toString() == dir && !m_bridge.hasModel()) settings.remove("model/dir");
        if (!m_bridge.hasModel()) m_pages->setCurrentWidget(m_welcome);
        m_generation->showIdle();
        updateGenerateEnabled();
    });
    connect(&m_bridge, &EngineBridge::loadProgress, m_generation, &GenerationPanel::showLoadProgress);
    connect(&m_bridge, &EngineBridge::generationProgress, m_generation, &GenerationPanel::showGenerationProgress);
    connect(&m_bridge, &EngineBridge::generationAudio, m_clips, &ClipPanel::appendGenerationAudio);
    connect(&m_bridge, &EngineBridge::generationFinished, this, &MainWindow::onGenerationFinished);
    connect(&m_bridge, &EngineBridge::slidersMerged, this,
        [this](double ms) { m_bankLabel->setToolTip(tr("Last slider merge: %1 ms").arg(ms, 0, 'f', 0)); });
    connect(&m_bridge, &EngineBridge::audioOutputChanged, this, [this]() {
        updateAudioLabel();
        if (!m_bridge.hasAudioOutput() && !m_bridge.audioOutputError().isEmpty())
            showStatus(tr("No audio output: %1").arg(m_bridge.audioOutputError()));
    });
    connect(&m_bridge, &EngineBridge::busyChanged, this, &MainWindow::updateGenerateEnabled);
}

// ---- Settings ----

void MainWindow::restoreSettings()
{
    QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    restoreState(settings.value("window/state").toByteArray());
    m_splitter->restoreState(settings.value("window/splitter").toByteArray());
    settings.beginGroup("generation");
    m_generation->restoreSettings(settings);
    settings.endGroup();
    // The sampling values just restored were chosen with this model open (settings from before the key
    // existed: the remembered model); see applyModelDefaultsToNewModel.
    m_samplingModelDir
        = cleanModelDir(settings.value("generation/samplingModelDir", settings.value("model/dir")).toString());
    m_sliderValues = fromVariantMap(settings.value("sliders/values").toMap());
    m_sliders->setExaggerated(settings.value("sliders/exaggerated", false).toBool());
    m_bridge.setSliders(m_sliderValues); // merged as soon as a bank is loaded
}

void MainWindow::saveSettings() const
{
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState());
    settings.setValue("window/splitter", m_splitter->saveState());
    settings.beginGroup("generation");
    m_generation->saveSettings(settings);
    settings.endGroup();
    settings.setValue("generation/samplingModelDir", m_samplingModelDir);
    settings.setValue("sliders/values", toVariantMap(m_sliderValues));
    settings.setValue("sliders/exaggerated", m_sliders->exaggerated());
    if (m_bridge.hasModel()) settings.setValue("model/dir", m_bridge.modelDir());
    if (m_bridge.bank())
        settings.setValue("bank/dir", m_bridge.bankDir());
    else
        settings.remove("bank/dir");
}

void MainWindow::openInitial(const QString& modelDir, const QString& bankDir)
{
    QSettings settings;
    QString model = modelDir.isEmpty() ? settings.value("model/dir").toString() : modelDir;
    QString bank = bankDir.isEmpty() ? settings.value("bank/dir").toString() : bankDir;
    // First start with the trained demo model bundled: open it and its bank, so every slider is live at once.
    if (model.isEmpty() && m_options.defaultIsDemo && !m_options.defaultModelDir.isEmpty()) {
        model = m_options.defaultModelDir;
        if (bank.isEmpty()) bank = m_options.defaultBankDir;
    }
    if (model.isEmpty())
        m_pages->setCurrentWidget(m_welcome);
    else
        openModel(model);
    if (!bank.isEmpty()) openBank(bank);
}

// ---- Model and bank ----

void MainWindow::openDefaultModel()
{
    openModel(m_options.defaultModelDir);
    if (m_options.defaultIsDemo && !m_options.defaultBankDir.isEmpty() && !m_bridge.bank())
        openBank(m_options.defaultBankDir);
}

void MainWindow::chooseModelFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face MusicGen folder"),
        m_bridge.hasModel() ? QFileInfo(m_bridge.modelDir()).path() : QDir::homePath());
    if (!dir.isEmpty()) openModel(dir);
}

void MainWindow::chooseBankFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open an adapter bank (a folder with bank.json)"),
        m_bridge.bank() ? m_bridge.bankDir() : QDir::homePath());
    if (!dir.isEmpty()) openBank(dir);
}

void MainWindow::openModel(const QString& dir)
{
    if (dir.isEmpty()) return;
    m_loadingModelDir = dir;
    m_pages->setCurrentWidget(m_workspace);
    m_generation->showLoadProgress(tr("opening %1").arg(QFileInfo(dir).fileName()), 0.0);
    m_bridge.loadModel(dir, m_generation->modelOptions());
    updateGenerateEnabled();
}

void MainWindow::openBank(const QString& dir)
{
    if (dir.isEmpty()) return;
    m_bankLabel->setText(tr("Opening the adapter bank %1…").arg(QFileInfo(dir).fileName()));
    m_bridge.loadBank(dir);
}

void MainWindow::onModelLoaded()
{
    const ModelInfo& info = *m_bridge.modelInfo();
    m_loadingModelDir.clear();
    m_pages->setCurrentWidget(m_workspace);
    m_generation->setModelInfo(&info);
    m_generation->setModelOptions(info.options);
    applyModelDefaultsToNewModel(info);
    m_generation->showIdle(tr("Ready"));
    QSettings().setValue("model/dir", m_bridge.modelDir());
    setWindowTitle(tr("Tastemaker — %1").arg(QString::fromStdString(info.name)));
    updateModelLabel();
    updateGenerateEnabled();
    showStatus(tr("Opened the model %1.").arg(QString::fromStdString(info.name)));
}

// A model's generation_config.json (guidance scale, top-k, top-p, temperature) reaches the sampling controls
// when that model is opened and the controls were not already set up for it. Reopening the same model (the
// remembered one at startup, or after a device or dtype change) keeps what the controls hold: the user's
// choices restored from the settings are never silently replaced. Opening a different model applies its
// defaults, replacing the previous model's values (and any edits made on top of them).
void MainWindow::applyModelDefaultsToNewModel(const ModelInfo& info)
{
    const QString dir = cleanModelDir(m_bridge.modelDir());
    if (dir == m_samplingModelDir) return;
    m_samplingModelDir = dir;
    m_generation->applyModelDefaults(info.sampling);
}

void MainWindow::onBankLoaded()
{
    const BankSummary* bank = m_bridge.bank();
    {
        const QSignalBlocker blocker(m_sliders); // the panel's clamping is not the user's choice
        m_sliders->setBank(bank);
    }
    m_sliders->setMeasured(m_bridge.measuredSteering());
    if (!m_bridge.measuredSteeringError().isEmpty())
        showStatus(tr("The bank's steering report could not be read: %1").arg(m_bridge.measuredSteeringError()));
    if (bank) {
        m_sliders->setValues(m_sliderValues); // emits valuesChanged: merged (coalesced) by the bridge
        QSettings().setValue("bank/dir", m_bridge.bankDir());
    }
    updateBankLabel();
}

void MainWindow::onSlidersChanged(const SliderValues& values)
{
    if (!m_bridge.bank()) return; // disabled sliders sit at 0; keep what the user set for the next bank
    m_sliderValues = values;
    m_bridge.setSliders(values);
}

void MainWindow::onJobFailed(const QString& title, const QString& message)
{
    updateBankLabel();
    showError(title, message);
}

void MainWindow::showError(const QString& title, const QString& message)
{
    auto* box = new QMessageBox(QMessageBox::Critical, title, title, QMessageBox::Ok, this);
    box->setObjectName("errorDialog");
    box->setInformativeText(message);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setWindowModality(Qt::WindowModal);
    m_errorBox = box;
    box->open();
}

// ---- Generation ----

void MainWindow::generateOrStop()
{
    if (m_bridge.generating()) {
        m_bridge.cancel();
        m_generation->showIdle(tr("Stopping…"));
        return;
    }
    const ModelInfo* info = m_bridge.modelInfo();
    if (!info || !m_loadingModelDir.isEmpty()) {
        showStatus(
            info ? tr("Wait for the model to finish loading.") : tr("Open a model first (File ▸ Open model folder…)."));
        return;
    }
    if (!m_generation->seedLocked()) m_generation->newSeed();
    const GenerationRequest request = m_generation->request(*info);
    if (Expected<void> valid = request.validate(*info); !valid) {
        showError(tr("These settings cannot generate"), QString::fromStdString(valid.error().message));
        return;
    }
    m_generation->addToHistory(m_generation->prompt());
    const double seconds
        = static_cast<double>(request.frames) / static_cast<double>(std::max<int64_t>(1, info->frameRate));
    m_clips->beginGeneration(info->sampleRate, seconds);
    m_generation->setGenerating(true);
    m_generation->showGenerationProgress(0, 0, -1, 0);
    m_bridge.generate(request, m_bridge.bank() ? m_sliders->values() : SliderValues {});
}

void MainWindow::onGenerationFinished(bool cancelled, const QString& clipId)
{
    m_generation->setGenerating(false);
    m_clips->endGeneration(clipId);
    updateGenerateEnabled();
    if (cancelled) {
        m_generation->showIdle(tr("Stopped"));
        showStatus(tr("Generation stopped; nothing was saved."));
    } else if (!clipId.isEmpty()) {
        m_generation->showIdle(tr("Done"));
        showStatus(tr("Saved the new clip in %1.").arg(QDir::toNativeSeparators(m_bridge.libraryDir())));
    } else {
        m_generation->showIdle();
    }
}

void MainWindow::restoreClipSettings(const ClipEntry& clip)
{
    const ClipRecord& record = clip.record;
    m_generation->setPrompt(QString::fromStdString(record.prompt));
    m_generation->setRequestSettings(
        requestForRecord(record), m_bridge.modelInfo() ? m_bridge.modelInfo()->frameRate : 0);
    m_generation->setSeed(record.sampling.seed);
    m_generation->setSeedLocked(true); // else the next Generate would pick a new one
    m_sliderValues = record.sliders;
    if (m_bridge.bank()) m_sliders->setValues(record.sliders);
    QString note;
    if (!record.bank.empty() && QDir(QString::fromStdString(record.bank.path.string())) != QDir(m_bridge.bankDir()))
        note = tr(" It was made with the bank %1.").arg(QString::fromStdString(record.bank.name));
    showStatus(tr("Restored the prompt, sliders and seed of “%1”.").arg(QString::fromStdString(record.title)) + note);
}

void MainWindow::updateGenerateEnabled()
{
    const bool ready = m_bridge.hasModel() && m_loadingModelDir.isEmpty();
    m_generation->setGenerateEnabled(
        ready, m_bridge.hasModel() ? tr("The model is loading…") : tr("Open a model first"));
    if (m_generateAction) m_generateAction->setEnabled(ready || m_bridge.generating());
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About Tastemaker"),
        tr("<h3>Tastemaker</h3><p>Make music with Meta's MusicGen and steer it with 13 sliders, "
           "each an adapter trained on what listeners liked.</p>"
           "<p>MusicGen weights are CC-BY-NC-4.0 and are not bundled: open a Hugging Face MusicGen "
           "folder (e.g. facebook/musicgen-small saved with safetensors).</p>"));
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (m_bridge.busy() && !m_closing) {
        QMessageBox box(QMessageBox::Question, tr("Quit Tastemaker?"),
            tr("A job is still running (generation, loading or training). Stop it and quit? A training run saves a "
               "checkpoint first, so it can be resumed from Training ▸ Resume…."),
            QMessageBox::Yes | QMessageBox::No, this);
        box.setObjectName("quitQuestion");
        box.setDefaultButton(QMessageBox::No);
        if (box.exec() != QMessageBox::Yes) {
            event->ignore();
            return;
        }
        m_closing = true;
        m_bridge.shutdown(); // cancels the job and waits for the worker to finish it
    }
    saveSettings();
    event->accept();
}

} // namespace tmk::ui
