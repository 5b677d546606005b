#include "generation_panel.h"

#include <algorithm>
#include <cmath>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpressionValidator>
#include <QSettings>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

namespace tmk::ui {

namespace {

// A small caption above a control, as music tools label their knobs.
QWidget* captioned(
    const QString& caption, QWidget* control, QWidget* parent, QWidget* extra1 = nullptr, QWidget* extra2 = nullptr)
{
    auto* box = new QWidget(parent);
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    auto* label = new QLabel(caption, box);
    label->setObjectName("captionLabel");
    label->setBuddy(control);
    QFont font = label->font();
    font.setPointSizeF(font.pointSizeF() * 0.9);
    label->setFont(font);
    layout->addWidget(label);
    auto* row = new QHBoxLayout();
    row->setSpacing(4);
    row->addWidget(control, 1);
    if (extra1) row->addWidget(extra1);
    if (extra2) row->addWidget(extra2);
    layout->addLayout(row);
    return box;
}

QString formatSeconds(double seconds)
{
    if (seconds < 0) return QStringLiteral("…");
    if (seconds < 60) return QObject::tr("%1 s").arg(std::ceil(seconds));
    return QObject::tr("%1 min %2 s").arg(static_cast<int>(seconds) / 60).arg(static_cast<int>(seconds) % 60);
}

} // namespace

GenerationPanel::GenerationPanel(QWidget* parent)
    : QWidget(parent)
{
    setObjectName("generationPanel");
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(8);
    layout->addWidget(buildPromptRow());
    layout->addWidget(buildSettingsRow());
    layout->addWidget(buildProgressRow());
    setModelInfo(nullptr);
    showIdle();
}

GenerationPanel::~GenerationPanel() = default;

QWidget* GenerationPanel::buildPromptRow()
{
    auto* row = new QWidget(this);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(8);
    m_prompt = new QComboBox(row);
    m_prompt->setObjectName("promptBox");
    m_prompt->setEditable(true);
    m_prompt->setInsertPolicy(QComboBox::NoInsert);
    m_prompt->setMaxCount(kHistoryLimit);
    m_prompt->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    m_prompt->lineEdit()->setPlaceholderText(
        tr("Describe the music, e.g. “Classic rock, electric guitar, keyboard, drums”"));
    m_prompt->lineEdit()->setClearButtonEnabled(true);
    m_prompt->setToolTip(tr("The text prompt. Earlier prompts are in the list. Ctrl+Enter generates."));
    QFont font = m_prompt->font();
    font.setPointSizeF(font.pointSizeF() * 1.15);
    m_prompt->setFont(font);
    connect(m_prompt->lineEdit(), &QLineEdit::returnPressed, this, [this]() {
        if (!m_generating && m_generate->isEnabled()) Q_EMIT generateClicked();
    });
    m_generate = new QPushButton(tr("Generate"), row);
    m_generate->setObjectName("generateButton");
    m_generate->setDefault(true);
    m_generate->setMinimumWidth(m_generate->fontMetrics().horizontalAdvance(tr("Generate")) * 2);
    m_generate->setFont(font);
    connect(m_generate, &QPushButton::clicked, this, &GenerationPanel::onButton);
    layout->addWidget(m_prompt, 1);
    layout->addWidget(m_generate);
    return row;
}

QWidget* GenerationPanel::buildSettingsRow()
{
    auto* row = new QWidget(this);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(12);

    m_duration = new QDoubleSpinBox(row);
    m_duration->setObjectName("durationBox");
    m_duration->setDecimals(1);
    m_duration->setSingleStep(1.0);
    m_duration->setSuffix(tr(" s"));
    m_duration->setValue(kDefaultDurationSeconds);
    m_duration->setToolTip(tr("Length of the clip"));

    m_seed = new QLineEdit(row);
    m_seed->setObjectName("seedBox");
    m_seed->setValidator(new QRegularExpressionValidator(QRegularExpression("[0-9]{1,19}"), m_seed));
    m_seed->setText("0");
    m_seed->setToolTip(tr("Random seed: the same seed, settings and model give the same clip"));
    m_seed->setMinimumWidth(m_seed->fontMetrics().horizontalAdvance("0000000000") + 16);
    m_newSeed = new QToolButton(row);
    m_newSeed->setObjectName("newSeedButton");
    m_newSeed->setText(tr("New"));
    m_newSeed->setToolTip(tr("Pick a new random seed"));
    connect(m_newSeed, &QToolButton::clicked, this, &GenerationPanel::newSeed);
    m_lockSeed = new QToolButton(row);
    m_lockSeed->setObjectName("lockSeedButton");
    m_lockSeed->setCheckable(true);
    m_lockSeed->setText(tr("Lock"));
    m_lockSeed->setToolTip(tr("Locked: every Generate uses this seed. Unlocked: each Generate picks a new one."));

    m_temperature = new QDoubleSpinBox(row);
    m_temperature->setObjectName("temperatureBox");
    m_temperature->setRange(0.05, 4.0);
    m_temperature->setSingleStep(0.05);
    m_temperature->setValue(1.0);
    m_temperature->setToolTip(tr("Sampling temperature: higher is more adventurous"));
    m_topK = new QSpinBox(row);
    m_topK->setObjectName("topKBox");
    m_topK->setRange(0, 1 << 16);
    m_topK->setValue(250);
    m_topK->setSpecialValueText(tr("off"));
    m_topK->setToolTip(tr("Sample from the K most likely codes (off: all)"));
    m_topP = new QDoubleSpinBox(row);
    m_topP->setObjectName("topPBox");
    m_topP->setRange(0.0, 1.0);
    m_topP->setSingleStep(0.05);
    m_topP->setSpecialValueText(tr("off"));
    m_topP->setToolTip(tr("Nucleus sampling threshold (off: not used)"));
    m_cfg = new QDoubleSpinBox(row);
    m_cfg->setObjectName("cfgBox");
    m_cfg->setRange(0.0, 20.0);
    m_cfg->setSingleStep(0.5);
    m_cfg->setValue(3.0);
    m_cfg->setToolTip(tr("Classifier-free guidance: how closely to follow the prompt (1 or less: off)"));

    m_device = new QComboBox(row);
    m_device->setObjectName("deviceBox");
    m_device->addItem(tr("CPU"), int(DeviceKind::Cpu));
    m_device->addItem(tr("CUDA"), int(DeviceKind::Cuda));
    m_device->setToolTip(tr("Where the model runs; changing it reloads the model"));
    m_dtype = new QComboBox(row);
    m_dtype->setObjectName("dtypeBox");
    m_dtype->addItem("float32", int(ComputeDType::F32));
    m_dtype->addItem("bfloat16", int(ComputeDType::BF16));
    m_dtype->addItem("float16", int(ComputeDType::F16));
    m_dtype->setToolTip(tr("The model's number format; changing it reloads the model"));
    auto changed = [this]() { Q_EMIT modelOptionsChanged(modelOptions()); };
    connect(m_device, &QComboBox::activated, this, changed);
    connect(m_dtype, &QComboBox::activated, this, changed);

    layout->addWidget(captioned(tr("Duration"), m_duration, row));
    layout->addWidget(captioned(tr("Seed"), m_seed, row, m_newSeed, m_lockSeed));
    layout->addWidget(captioned(tr("Temperature"), m_temperature, row));
    layout->addWidget(captioned(tr("Top-k"), m_topK, row));
    layout->addWidget(captioned(tr("Top-p"), m_topP, row));
    layout->addWidget(captioned(tr("CFG scale"), m_cfg, row));
    layout->addStretch(1);
    layout->addWidget(captioned(tr("Device"), m_device, row));
    layout->addWidget(captioned(tr("Precision"), m_dtype, row));
    return row;
}

QWidget* GenerationPanel::buildProgressRow()
{
    auto* row = new QWidget(this);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(8);
    m_progress = new QProgressBar(row);
    m_progress->setObjectName("generationProgress");
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(false);
    m_progress->setMaximumHeight(8);
    m_progressLabel = new QLabel(row);
    m_progressLabel->setObjectName("progressLabel");
    m_progressLabel->setMinimumWidth(
        m_progressLabel->fontMetrics().horizontalAdvance("ETA 00 min 00 s · 00.0× real time") + 8);
    m_progressLabel->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    layout->addWidget(m_progress, 1);
    layout->addWidget(m_progressLabel);
    return row;
}

void GenerationPanel::onButton()
{
    if (m_generating)
        Q_EMIT stopClicked();
    else
        Q_EMIT generateClicked();
}

// ---- Prompt and seed ----

QString GenerationPanel::prompt() const
{
    return m_prompt->currentText().trimmed();
}

void GenerationPanel::setPrompt(const QString& prompt)
{
    m_prompt->setEditText(prompt);
}

QStringList GenerationPanel::promptHistory() const
{
    QStringList history;
    for (int i = 0; i < m_prompt->count(); ++i) history << m_prompt->itemText(i);
    return history;
}

void GenerationPanel::addToHistory(const QString& prompt)
{
    const QString text = prompt.trimmed();
    if (text.isEmpty()) return;
    const QString current = m_prompt->currentText();
    if (int existing = m_prompt->findText(text); existing >= 0) m_prompt->removeItem(existing);
    m_prompt->insertItem(0, text);
    while (m_prompt->count() > kHistoryLimit) m_prompt->removeItem(m_prompt->count() - 1);
    m_prompt->setEditText(current);
}

quint64 GenerationPanel::seed() const
{
    return m_seed->text().toULongLong();
}

void GenerationPanel::setSeed(quint64 seed)
{
    m_seed->setText(QString::number(seed));
}

bool GenerationPanel::seedLocked() const
{
    return m_lockSeed->isChecked();
}

void GenerationPanel::setSeedLocked(bool locked)
{
    m_lockSeed->setChecked(locked);
}

void GenerationPanel::newSeed()
{
    setSeed(QRandomGenerator::global()->bounded(1u << 31));
}

double GenerationPanel::durationSeconds() const
{
    return m_duration->value();
}

void GenerationPanel::setDurationSeconds(double seconds)
{
    m_duration->setValue(seconds);
}

// ---- Model and request ----

void GenerationPanel::setModelInfo(const ModelInfo* info)
{
    const double value = m_duration->value();
    if (!info || info->frameRate <= 0) {
        m_duration->setRange(0.1, 600.0);
    } else {
        const double frameSeconds = 1.0 / static_cast<double>(info->frameRate);
        // Rounded down to the box's one decimal, so that the longest value still fits the model.
        m_duration->setRange(
            std::max(0.1, frameSeconds), std::floor(static_cast<double>(info->maxFrames) * frameSeconds * 10.0) / 10.0);
        m_topK->setMaximum(static_cast<int>(std::max<int64_t>(1, info->codebookSize)));
    }
    m_duration->setValue(value);
}

GenerationRequest GenerationPanel::request(const ModelInfo& info) const
{
    GenerationRequest request = GenerationRequest::defaultsFor(info);
    request.prompts = { prompt().toStdString() };
    request.frames = std::clamp<int64_t>(std::llround(m_duration->value() * static_cast<double>(info.frameRate)), 1,
        std::max<int64_t>(1, info.maxFrames));
    request.sampling.greedy = false;
    request.sampling.temperature = m_temperature->value();
    request.sampling.topK = m_topK->value();
    request.sampling.topP = m_topP->value();
    request.sampling.guidanceScale = m_cfg->value();
    request.sampling.seed = seed();
    return request;
}

void GenerationPanel::setRequestSettings(const GenerationRequest& request, int64_t frameRate)
{
    if (frameRate > 0) m_duration->setValue(static_cast<double>(request.frames) / static_cast<double>(frameRate));
    m_temperature->setValue(request.sampling.temperature);
    m_topK->setValue(static_cast<int>(request.sampling.topK));
    m_topP->setValue(request.sampling.topP);
    m_cfg->setValue(request.sampling.guidanceScale);
    setSeed(request.sampling.seed);
}

void GenerationPanel::applyModelDefaults(const SamplingParams& defaults)
{
    m_temperature->setValue(defaults.temperature);
    m_topK->setValue(static_cast<int>(defaults.topK));
    m_topP->setValue(defaults.topP);
    m_cfg->setValue(defaults.guidanceScale);
}

ModelOptions GenerationPanel::modelOptions() const
{
    ModelOptions options;
    options.device = static_cast<DeviceKind>(m_device->currentData().toInt());
    options.dtype = static_cast<ComputeDType>(m_dtype->currentData().toInt());
    return options;
}

void GenerationPanel::setModelOptions(const ModelOptions& options)
{
    m_device->setCurrentIndex(std::max(0, m_device->findData(int(options.device))));
    m_dtype->setCurrentIndex(std::max(0, m_dtype->findData(int(options.dtype))));
}

// ---- Button and progress ----

void GenerationPanel::setGenerating(bool generating)
{
    m_generating = generating;
    m_generate->setText(generating ? tr("Stop") : tr("Generate"));
    m_generate->setProperty("stop", generating); // the stylesheet may colour it
    m_generate->setToolTip(generating ? tr("Stop generating (Ctrl+Enter)") : tr("Generate a clip (Ctrl+Enter)"));
    m_generate->style()->unpolish(m_generate);
    m_generate->style()->polish(m_generate);
    if (generating) m_generate->setEnabled(true);
}

void GenerationPanel::setGenerateEnabled(bool enabled, const QString& reason)
{
    if (m_generating) return;
    m_generate->setEnabled(enabled);
    m_generate->setToolTip(enabled ? tr("Generate a clip (Ctrl+Enter)") : reason);
}

void GenerationPanel::showGenerationProgress(qint64 done, qint64 total, double etaSeconds, double realtimeFactor)
{
    m_progress->setRange(0, 1000);
    m_progress->setValue(total > 0 ? static_cast<int>(1000 * done / total) : 0);
    m_progressLabel->setText(
        tr("ETA %1 · %2× real time").arg(formatSeconds(etaSeconds)).arg(realtimeFactor, 0, 'f', 1));
}

void GenerationPanel::showLoadProgress(const QString& stage, double fraction)
{
    if (fraction > 0) {
        m_progress->setRange(0, 1000);
        m_progress->setValue(static_cast<int>(1000 * fraction));
    } else {
        m_progress->setRange(0, 0); // busy indicator
    }
    m_progressLabel->setText(tr("Loading: %1").arg(stage));
}

void GenerationPanel::showIdle(const QString& text)
{
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_progressLabel->setText(text);
}

// ---- Settings ----

void GenerationPanel::saveSettings(QSettings& settings) const
{
    settings.setValue("prompt", m_prompt->currentText());
    settings.setValue("promptHistory", promptHistory());
    settings.setValue("seed", QString::number(seed()));
    settings.setValue("seedLocked", seedLocked());
    settings.setValue("durationSeconds", m_duration->value());
    settings.setValue("temperature", m_temperature->value());
    settings.setValue("topK", m_topK->value());
    settings.setValue("topP", m_topP->value());
    settings.setValue("cfg", m_cfg->value());
    settings.setValue("device", deviceKindName(modelOptions().device));
    settings.setValue("dtype", computeDTypeName(modelOptions().dtype));
}

void GenerationPanel::restoreSettings(QSettings& settings)
{
    const QStringList history = settings.value("promptHistory").toStringList();
    m_prompt->clear();
    for (const QString& item : history) m_prompt->addItem(item);
    m_prompt->setEditText(settings.value("prompt").toString());
    setSeed(settings.value("seed", "0").toString().toULongLong());
    setSeedLocked(settings.value("seedLocked", false).toBool());
    m_duration->setValue(settings.value("durationSeconds", kDefaultDurationSeconds).toDouble());
    m_temperature->setValue(settings.value("temperature", m_temperature->value()).toDouble());
    m_topK->setValue(settings.value("topK", m_topK->value()).toInt());
    m_topP->setValue(settings.value("topP", m_topP->value()).toDouble());
    m_cfg->setValue(settings.value("cfg", m_cfg->value()).toDouble());
    ModelOptions options;
    if (auto device = parseDeviceKind(settings.value("device", "cpu").toString().toStdString()))
        options.device = *device;
    if (auto dtype = parseComputeDType(settings.value("dtype", "f32").toString().toStdString())) options.dtype = *dtype;
    setModelOptions(options);
}

} // namespace tmk::ui
