// SettingsPage (see settings_page.h).
#include "training/settings_page.h"

#include <cmath>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>

#include "engine_bridge.h"
#include "training/wizard_context.h"

namespace tmk::ui {

namespace {

QSpinBox* intBox(int minimum, int maximum, int value, const QString& name)
{
    auto* box = new QSpinBox();
    box->setRange(minimum, maximum);
    box->setValue(value);
    box->setObjectName(name);
    return box;
}

QDoubleSpinBox* doubleBox(double minimum, double maximum, double value, int decimals, double step, const QString& name)
{
    auto* box = new QDoubleSpinBox();
    box->setRange(minimum, maximum);
    box->setDecimals(decimals);
    box->setSingleStep(step);
    box->setValue(value);
    box->setObjectName(name);
    return box;
}

} // namespace

SettingsPage::SettingsPage(WizardContext& context, QWidget* parent)
    : QWizardPage(parent)
    , m_context(context)
{
    setTitle(tr("Training settings"));
    setSubTitle(tr("The defaults suit most runs. Each adapter is trained with the same settings."));
    setCommitPage(true);
    setButtonText(QWizard::CommitButton, tr("Start training"));

    auto* layout = new QVBoxLayout(this);
    auto* host = new QWidget(this);
    auto* grid = new QGridLayout(host);
    grid->setColumnStretch(2, 1);
    buildEditors(grid);
    grid->setRowStretch(grid->rowCount(), 1); // rows packed at the top
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(host);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    layout->addWidget(scroll, 1);

    m_advanced = new QCheckBox(tr("Show advanced settings"), this);
    m_advanced->setObjectName("advancedToggle");
    layout->addWidget(m_advanced);
    m_message = new QLabel(this);
    m_message->setObjectName("settingsMessage");
    m_message->setWordWrap(true);
    m_message->setStyleSheet("color: #e5534b;");
    layout->addWidget(m_message);
    connect(m_advanced, &QCheckBox::toggled, this, &SettingsPage::setAdvancedVisible);
    setAdvancedVisible(false);
}

SettingsPage::~SettingsPage() = default;

void SettingsPage::addRow(
    QGridLayout* grid, const QString& label, QWidget* editor, const QString& explanation, bool advanced)
{
    const int row = grid->rowCount();
    auto* name = new QLabel(label);
    auto* note = new QLabel(explanation);
    note->setWordWrap(true);
    note->setEnabled(false); // muted
    editor->setToolTip(explanation);
    grid->addWidget(name, row, 0);
    grid->addWidget(editor, row, 1);
    grid->addWidget(note, row, 2);
    if (advanced) m_advancedWidgets.insert(m_advancedWidgets.end(), { name, editor, note });
}

void SettingsPage::buildEditors(QGridLayout* grid)
{
    const TrainOptions defaults;
    m_beta = doubleBox(0.001, 10.0, defaults.beta, 3, 0.05, "beta");
    addRow(grid, tr("β (beta)"), m_beta,
        tr("How far the adapter may move from the base model: lower lets it drift further."), false);
    m_rank = intBox(1, 256, static_cast<int>(defaults.lora.rank), "loraRank");
    addRow(
        grid, tr("LoRA rank"), m_rank, tr("Capacity of the adapter; 8–16 is plenty for one style direction."), false);
    m_alpha = doubleBox(0.1, 1024.0, defaults.lora.alpha, 1, 1.0, "loraAlpha");
    addRow(grid, tr("LoRA alpha"), m_alpha, tr("Scales the adapter's update (alpha / rank); usually twice the rank."),
        false);
    m_learningRate = doubleBox(1e-6, 1.0, defaults.learningRate, 6, 1e-4, "learningRate");
    addRow(grid, tr("Learning rate"), m_learningRate, tr("Peak step size of AdamW after the warm-up."), false);

    auto* length = new QWidget();
    length->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    auto* lengthRow = new QHBoxLayout(length);
    lengthRow->setContentsMargins(0, 0, 0, 0);
    m_lengthMode = new QComboBox(length);
    m_lengthMode->setObjectName("lengthMode");
    m_lengthMode->addItems({ tr("Epochs"), tr("Steps") });
    m_epochs = doubleBox(0.1, 1000.0, defaults.epochs, 1, 0.5, "epochs");
    m_steps = intBox(1, 10'000'000, 500, "steps");
    m_epochs->setParent(length);
    m_steps->setParent(length);
    lengthRow->addWidget(m_lengthMode);
    lengthRow->addWidget(m_epochs);
    lengthRow->addWidget(m_steps);
    addRow(
        grid, tr("Length"), length, tr("Passes over the training pairs, or a fixed number of optimiser steps."), false);
    connect(m_lengthMode, &QComboBox::currentIndexChanged, this, &SettingsPage::updateLengthMode);
    updateLengthMode();

    m_batch = intBox(1, 512, static_cast<int>(defaults.batchSize), "batchSize");
    addRow(grid, tr("Batch size"), m_batch, tr("Pairs per forward pass; memory grows with it."), false);
    m_accumulation = intBox(1, 256, static_cast<int>(defaults.gradientAccumulation), "gradientAccumulation");
    addRow(grid, tr("Accumulation"), m_accumulation,
        tr("Batches summed per optimiser step: a larger batch without more memory."), false);
    m_window = doubleBox(0.5, 30.0, 10.0, 1, 1.0, "windowSeconds");
    addRow(grid, tr("Crop window (s)"), m_window, tr("Seconds of each song that are tokenized and trained on."), false);
    m_evalEvery = intBox(0, 1'000'000, static_cast<int>(defaults.evalEvery), "evalEvery");
    addRow(grid, tr("Evaluate every"), m_evalEvery,
        tr("Optimiser steps between evaluations on the test pairs (0: only at the end)."), false);
    m_checkpointEvery = intBox(0, 1'000'000, static_cast<int>(defaults.checkpointEvery), "checkpointEvery");
    addRow(grid, tr("Checkpoint every"), m_checkpointEvery,
        tr("Steps between checkpoints that an interrupted run resumes from (0: only on cancel)."), false);
    m_checkpointLayers = new QCheckBox(tr("Recompute layers in the backward pass"));
    m_checkpointLayers->setObjectName("checkpointLayers");
    addRow(grid, tr("Save memory"), m_checkpointLayers,
        tr("Keep only each decoder layer's input and recompute the layer: at musicgen-small's size a 10 s pair "
           "needs 3.1 GiB instead of 8.6 GiB (2.3 GiB with a bf16 model), for up to half again the time."),
        false);
    m_seed = intBox(0, 2'000'000'000, 0, "seed");
    addRow(
        grid, tr("Seed"), m_seed, tr("Same seed, same data order and initialisation: a run can be repeated."), false);

    buildAdvancedEditors(grid);
}

void SettingsPage::buildAdvancedEditors(QGridLayout* grid)
{
    const TrainOptions defaults;
    m_loss = new QComboBox();
    m_loss->setObjectName("lossType");
    for (DpoLossType type : { DpoLossType::Sigmoid, DpoLossType::Ipo, DpoLossType::Hinge })
        m_loss->addItem(dpoLossTypeName(type));
    addRow(grid, tr("Loss"), m_loss, tr("sigmoid is standard DPO; ipo and hinge are more robust to noisy preferences."),
        true);
    m_rslora = new QCheckBox(tr("rsLoRA"));
    m_rslora->setObjectName("rslora");
    addRow(grid, tr("Scaling"), m_rslora,
        tr("Scale by alpha / √rank instead of alpha / rank (steadier at high ranks)."), true);
    m_targets = new QLineEdit(QString::fromStdString([&] {
        std::string joined;
        for (const std::string& t : defaults.lora.targets) joined += (joined.empty() ? "" : ", ") + t;
        return joined;
    }()));
    m_targets->setObjectName("loraTargets");
    m_targets->setMinimumWidth(300);
    addRow(grid, tr("Target modules"), m_targets, tr("Decoder linears that get an adapter (comma-separated)."), true);
    m_warmup = intBox(0, 1'000'000, static_cast<int>(defaults.warmupSteps), "warmupSteps");
    addRow(grid, tr("Warm-up steps"), m_warmup, tr("Steps over which the learning rate ramps up from 0."), true);
    m_schedule = new QComboBox();
    m_schedule->setObjectName("schedule");
    for (LrSchedule schedule : { LrSchedule::Linear, LrSchedule::Cosine, LrSchedule::Constant })
        m_schedule->addItem(lrScheduleName(schedule));
    addRow(grid, tr("Schedule"), m_schedule, tr("How the learning rate decays after the warm-up."), true);
    m_weightDecay = doubleBox(0.0, 1.0, defaults.weightDecay, 4, 0.01, "weightDecay");
    addRow(grid, tr("Weight decay"), m_weightDecay, tr("AdamW's pull of the adapter weights towards 0."), true);
    m_gradClip = doubleBox(0.0, 1000.0, defaults.maxGradNorm, 2, 0.1, "maxGradNorm");
    addRow(grid, tr("Gradient clip"), m_gradClip, tr("Largest gradient norm per step (0: no clipping)."), true);
    m_startFraction = doubleBox(0.0, 1.0, 0.3, 2, 0.05, "startFraction");
    addRow(grid, tr("Crop start"), m_startFraction, tr("Where the window starts, as a fraction of the song's length."),
        true);
}

void SettingsPage::updateLengthMode()
{
    const bool steps = m_lengthMode->currentIndex() == 1;
    m_steps->setVisible(steps);
    m_epochs->setVisible(!steps);
}

void SettingsPage::setAdvancedVisible(bool visible)
{
    if (m_advanced->isChecked() != visible) m_advanced->setChecked(visible);
    for (QWidget* widget : m_advancedWidgets) widget->setVisible(visible);
}

bool SettingsPage::advancedVisible() const
{
    return m_advanced->isChecked();
}
QString SettingsPage::messageText() const
{
    return m_message->text();
}

void SettingsPage::setSteps(int steps)
{
    m_lengthMode->setCurrentIndex(1);
    m_steps->setValue(steps);
}
void SettingsPage::setBatchSize(int batch)
{
    m_batch->setValue(batch);
}
void SettingsPage::setEvalEvery(int steps)
{
    m_evalEvery->setValue(steps);
}
void SettingsPage::setCheckpointEvery(int steps)
{
    m_checkpointEvery->setValue(steps);
}
void SettingsPage::setWindowSeconds(double seconds)
{
    m_window->setValue(seconds);
}
void SettingsPage::setLoraRank(int rank)
{
    m_rank->setValue(rank);
}

void SettingsPage::applyTo(TrainingPlan& plan) const
{
    TrainOptions& o = plan.train;
    o.beta = m_beta->value();
    o.loss = parseDpoLossType(m_loss->currentText().toStdString()).value();
    o.lora.rank = m_rank->value();
    o.lora.alpha = m_alpha->value();
    o.lora.rslora = m_rslora->isChecked();
    o.lora.targets.clear();
    for (const QString& target : m_targets->text().split(',', Qt::SkipEmptyParts))
        if (!target.trimmed().isEmpty()) o.lora.targets.push_back(target.trimmed().toStdString());
    o.learningRate = m_learningRate->value();
    const bool steps = m_lengthMode->currentIndex() == 1;
    o.maxSteps = steps ? m_steps->value() : 0;
    o.epochs = m_epochs->value();
    o.batchSize = m_batch->value();
    o.gradientAccumulation = m_accumulation->value();
    o.evalEvery = m_evalEvery->value();
    o.checkpointEvery = m_checkpointEvery->value();
    o.seed = static_cast<uint64_t>(m_seed->value());
    o.checkpointLayers = m_checkpointLayers->isChecked();
    o.warmupSteps = m_warmup->value();
    o.schedule = parseLrSchedule(m_schedule->currentText().toStdString()).value();
    o.weightDecay = m_weightDecay->value();
    o.maxGradNorm = m_gradClip->value();
    // The trainer crops token sequences to maxFrames: keep the whole window.
    const ModelInfo* model = m_context.bridge.engine().modelInfo();
    const double frameRate = model && model->frameRate > 0 ? static_cast<double>(model->frameRate) : 50.0;
    o.maxFrames = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(m_window->value() * frameRate)));
    if (model) o.model.device = model->options.device;
    plan.windowSeconds = m_window->value();
    plan.startFraction = m_startFraction->value();
}

QString SettingsPage::problem() const
{
    TrainingPlan plan;
    applyTo(plan);
    TrainOptions check = plan.train;
    check.modelDir = check.pairsDir = check.outDir = "placeholder";
    check.metric = "placeholder";
    Expected<void> valid = check.validate();
    return valid ? QString() : QString::fromStdString(valid.error().message);
}

bool SettingsPage::validatePage()
{
    const QString text = problem();
    m_message->setText(text);
    if (!text.isEmpty()) return false;
    applyTo(m_context.plan);
    return true;
}

} // namespace tmk::ui
