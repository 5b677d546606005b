#include "widgets/slider_panel.h"

#include <cmath>

#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QSettings>
#include <QStandardPaths>
#include <QTimer>
#include <QVBoxLayout>

#include "widgets/bipolar_slider.h"
#include "widgets/measured_steering.h"
#include "widgets/qt_text.h"

namespace tmk::ui {

namespace {

const char* kPresetFolderKey = "presets/lastFolder";
const char* kPresetFormat = "tastemaker-preset";
constexpr int kPresetVersion = 1;

tmk::Error presetError(tmk::ErrorCode code, const QString& path, const QString& problem)
{
    return tmk::Error::inFile(code, path.toStdString(), problem.toStdString());
}

QString bankName(const tmk::BankSummary& bank)
{
    std::filesystem::path dir = bank.dir;
    if (dir.filename().empty()) {
        dir = dir.parent_path();
    }
    return qs(dir.filename().string());
}

// "calm-acoustic.json" -> "Calm acoustic".
QString presetTitle(const QFileInfo& file)
{
    QString name = file.completeBaseName();
    name.replace(QLatin1Char('-'), QLatin1Char(' ')).replace(QLatin1Char('_'), QLatin1Char(' '));
    if (!name.isEmpty()) {
        name[0] = name[0].toUpper();
    }
    return name;
}

} // namespace

SliderPanel::SliderPanel(std::vector<tmk::MetricInfo> metrics, QWidget* parent)
    : QWidget(parent)
    , m_metrics(std::move(metrics))
{
    setObjectName(QStringLiteral("sliderPanel"));
    m_coalesce = new QTimer(this);
    m_coalesce->setSingleShot(true);
    m_coalesce->setInterval(kCoalesceMs);
    connect(m_coalesce, &QTimer::timeout, this, &SliderPanel::onCoalesceTimeout);
    buildUi();
}

SliderPanel::~SliderPanel() = default;

void SliderPanel::buildUi()
{
    auto* column = new QVBoxLayout(this);
    column->setContentsMargins(0, 0, 0, 0);
    column->addWidget(buildButtonRow());

    auto* content = new QWidget;
    content->setObjectName(QStringLiteral("sliderColumn"));
    auto* sliders = new QVBoxLayout(content);
    const int gap = fontMetrics().height() / 4;
    sliders->setSpacing(gap);
    sliders->setContentsMargins(gap, gap, gap, gap);
    for (const tmk::MetricInfo& metric : m_metrics) {
        auto* slider = new BipolarSlider(metric, content);
        connect(slider, &BipolarSlider::valueChanged, this, &SliderPanel::onSliderValueChanged);
        sliders->addWidget(slider);
        m_sliders.push_back(slider);
    }
    sliders->addStretch(1);

    m_scroll = new QScrollArea(this);
    m_scroll->setObjectName(QStringLiteral("sliderScroll"));
    m_scroll->setWidgetResizable(true);
    m_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_scroll->setFrameShape(QFrame::NoFrame);
    m_scroll->setWidget(content);
    column->addWidget(m_scroll, 1);
}

QWidget* SliderPanel::buildButtonRow()
{
    auto* row = new QWidget(this);
    auto* buttons = new QHBoxLayout(row);
    buttons->setContentsMargins(0, 0, 0, 0);
    m_exaggerate = new QCheckBox(tr("E&xaggerate (\u00b12)"), row);
    m_exaggerate->setObjectName(QStringLiteral("exaggerateCheck"));
    m_exaggerate->setToolTip(tr("Let the sliders go to \u00b12: twice the trained strength, often with artefacts"));
    m_resetAll = new QPushButton(tr("&Reset all"), row);
    m_resetAll->setObjectName(QStringLiteral("resetAllButton"));
    m_loadPreset = new QPushButton(tr("&Load preset…"), row);
    m_loadPreset->setObjectName(QStringLiteral("loadPresetButton"));
    m_savePreset = new QPushButton(tr("&Save preset…"), row);
    m_savePreset->setObjectName(QStringLiteral("savePresetButton"));
    buttons->addWidget(m_exaggerate);
    buttons->addStretch(1);
    buttons->addWidget(m_resetAll);
    buttons->addWidget(m_loadPreset);
    buttons->addWidget(m_savePreset);

    connect(m_exaggerate, &QCheckBox::toggled, this, &SliderPanel::setExaggerated);
    connect(m_resetAll, &QPushButton::clicked, this, &SliderPanel::resetAll);
    connect(m_savePreset, &QPushButton::clicked, this, &SliderPanel::savePresetInteractive);

    // With bundled presets the Load button opens a menu: each bundled preset, then "From file…".
    const QString bundled = bundledPresetsDir();
    const QFileInfoList files = bundled.isEmpty()
        ? QFileInfoList()
        : QDir(bundled).entryInfoList({ QStringLiteral("*.json") }, QDir::Files, QDir::Name);
    if (files.isEmpty()) {
        connect(m_loadPreset, &QPushButton::clicked, this, &SliderPanel::loadPresetInteractive);
    } else {
        auto* menu = new QMenu(m_loadPreset);
        for (const QFileInfo& file : files) {
            const QString path = file.absoluteFilePath();
            menu->addAction(presetTitle(file), this, [this, path] { loadPresetFromFile(path); });
        }
        menu->addSeparator();
        menu->addAction(tr("From file…"), this, &SliderPanel::loadPresetInteractive);
        m_loadPreset->setMenu(menu);
    }
    return row;
}

// ---- values ----

tmk::SliderValues SliderPanel::values() const
{
    tmk::SliderValues result;
    for (const BipolarSlider* slider : m_sliders) {
        result[slider->metricId().toStdString()] = slider->value();
    }
    return result;
}

void SliderPanel::setValues(const tmk::SliderValues& values)
{
    const tmk::SliderValues before = this->values();
    ++m_bulkDepth;
    bool beyondOne = false;
    for (const auto& [id, value] : values) {
        beyondOne = beyondOne || (slider(qs(id)) != nullptr && std::abs(value) > 1.0 + 1e-9);
    }
    if (beyondOne) {
        m_exaggerate->setChecked(true); // widens every slider first
    }
    for (BipolarSlider* slider : m_sliders) {
        const auto found = values.find(slider->metricId().toStdString());
        slider->setValue(found == values.end() ? 0.0 : found->second);
    }
    --m_bulkDepth;
    if (this->values() != before) {
        emitNow();
    }
}

void SliderPanel::resetAll()
{
    setValues({});
}

void SliderPanel::setExaggerated(bool exaggerated)
{
    if (m_exaggerate->isChecked() != exaggerated) {
        m_exaggerate->setChecked(exaggerated); // re-enters through toggled
        return;
    }
    const tmk::SliderValues before = values();
    ++m_bulkDepth;
    for (BipolarSlider* slider : m_sliders) {
        slider->setRange(exaggerated ? tmk::kSliderLimit : BipolarSlider::kDefaultLimit);
    }
    --m_bulkDepth;
    if (values() != before) {
        emitNow();
    }
}

bool SliderPanel::exaggerated() const
{
    return m_exaggerate->isChecked();
}

BipolarSlider* SliderPanel::slider(const QString& id) const
{
    for (BipolarSlider* slider : m_sliders) {
        if (slider->metricId() == id) {
            return slider;
        }
    }
    return nullptr;
}

// ---- the bank ----

QString SliderPanel::noBankReason()
{
    return tr("Open an adapter bank to use this slider");
}

QString SliderPanel::noAdaptersReason(const QString& bankName, const QString& metricName)
{
    return tr("The bank %1 has no adapters for %2").arg(bankName, metricName);
}

QString SliderPanel::missingSideReason(
    const QString& bankName, const QString& metricName, const QString& missingLabel, const QString& presentLabel)
{
    return tr("The bank %1 has no \"%3\" adapter for %2, so this slider only moves towards \"%4\"")
        .arg(bankName, metricName, missingLabel, presentLabel);
}

void SliderPanel::setBank(const tmk::BankSummary* bank)
{
    const tmk::SliderValues before = values();
    ++m_bulkDepth;
    for (BipolarSlider* slider : m_sliders) {
        const tmk::MetricInfo& metric = slider->metric();
        const tmk::BankMetric* entry = bank != nullptr ? bank->find(metric.id) : nullptr;
        if (bank == nullptr) {
            slider->setAvailable(false, noBankReason());
        } else if (entry == nullptr || (!entry->hasNegative() && !entry->hasPositive())) {
            slider->setAvailable(false, noAdaptersReason(bankName(*bank), qs(metric.name)));
        } else if (!entry->hasNegative()) {
            slider->setSidesAvailable(false, true,
                missingSideReason(
                    bankName(*bank), qs(metric.name), qs(metric.negativeLabel), qs(metric.positiveLabel)));
        } else if (!entry->hasPositive()) {
            slider->setSidesAvailable(true, false,
                missingSideReason(
                    bankName(*bank), qs(metric.name), qs(metric.positiveLabel), qs(metric.negativeLabel)));
        } else {
            slider->setAvailable(true);
        }
    }
    --m_bulkDepth;
    if (values() != before) {
        emitNow();
    }
}

void SliderPanel::setMeasured(const tmk::MeasuredSteering* measured)
{
    for (BipolarSlider* slider : m_sliders) {
        const MeasuredText text = describeMeasured(slider->metric(), measured);
        slider->setMeasured(text.mark, text.summary);
    }
}

// ---- coalescing ----

void SliderPanel::onSliderValueChanged()
{
    if (m_bulkDepth > 0) {
        return;
    }
    m_pending = true;
    if (!m_coalesce->isActive()) {
        emitNow(); // the first move after a quiet spell goes out at once
        m_coalesce->start();
    }
}

void SliderPanel::onCoalesceTimeout()
{
    if (m_pending) {
        emitNow();
        m_coalesce->start(); // keep limiting the rate while the drag goes on
    }
}

void SliderPanel::emitNow()
{
    m_pending = false;
    Q_EMIT valuesChanged(values());
}

// ---- presets ----

tmk::Expected<tmk::SliderValues> SliderPanel::readPresetFile(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return presetError(tmk::ErrorCode::Io, path, QStringLiteral("cannot be read: %1").arg(file.errorString()));
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        return presetError(tmk::ErrorCode::Format, path,
            QStringLiteral("is not valid JSON (%1 at byte %2)").arg(parseError.errorString()).arg(parseError.offset));
    }
    const QJsonObject root = document.object();
    if (!document.isObject() || root.value(QLatin1String("format")).toString() != QLatin1String(kPresetFormat)) {
        return presetError(tmk::ErrorCode::Format, path,
            QStringLiteral("is not a Tastemaker preset (\"format\" must be \"%1\")").arg(kPresetFormat));
    }
    const QJsonValue version = root.value(QLatin1String("version"));
    if (!version.isDouble() || version.toDouble() != kPresetVersion) {
        return presetError(tmk::ErrorCode::Unsupported, path,
            QStringLiteral("has preset version %1; this build reads version %2")
                .arg(version.isDouble() ? QString::number(version.toDouble()) : QStringLiteral("(none)"))
                .arg(kPresetVersion));
    }
    const QJsonValue sliders = root.value(QLatin1String("sliders"));
    if (!sliders.isObject()) {
        return presetError(tmk::ErrorCode::Format, path, QStringLiteral("has no \"sliders\" object"));
    }
    tmk::SliderValues values;
    const QJsonObject object = sliders.toObject();
    for (auto it = object.begin(); it != object.end(); ++it) {
        const double value = it.value().toDouble(std::nan(""));
        if (!it.value().isDouble() || !std::isfinite(value) || std::abs(value) > tmk::kSliderLimit) {
            return presetError(tmk::ErrorCode::Format, path,
                QStringLiteral("slider \"%1\" must be a number from %2 to %3")
                    .arg(it.key())
                    .arg(-tmk::kSliderLimit)
                    .arg(tmk::kSliderLimit));
        }
        values[it.key().toStdString()] = value;
    }
    return values;
}

tmk::Expected<void> SliderPanel::writePresetFile(const QString& path, const tmk::SliderValues& values)
{
    QJsonObject sliders;
    for (const auto& [id, value] : values) {
        sliders.insert(qs(id), std::round(value * 1000.0) / 1000.0);
    }
    QJsonObject root;
    root.insert(QStringLiteral("format"), QLatin1String(kPresetFormat));
    root.insert(QStringLiteral("version"), kPresetVersion);
    root.insert(QStringLiteral("sliders"), sliders);

    QSaveFile file(path); // a temporary file renamed over `path` on commit
    if (!file.open(QIODevice::WriteOnly)) {
        return presetError(tmk::ErrorCode::Io, path, QStringLiteral("cannot be written: %1").arg(file.errorString()));
    }
    const QByteArray bytes = QJsonDocument(root).toJson(QJsonDocument::Indented);
    if (file.write(bytes) != bytes.size() || !file.commit()) {
        return presetError(tmk::ErrorCode::Io, path, QStringLiteral("cannot be written: %1").arg(file.errorString()));
    }
    return {};
}

tmk::Expected<void> SliderPanel::savePreset(const QString& path) const
{
    return writePresetFile(path, values());
}

tmk::Expected<void> SliderPanel::loadPreset(const QString& path, QStringList* unknownIds)
{
    auto read = readPresetFile(path);
    if (!read) {
        return read.error();
    }
    tmk::SliderValues known;
    QStringList unknown;
    for (const auto& [id, value] : *read) {
        if (slider(qs(id)) != nullptr) {
            known[id] = value;
        } else {
            unknown << qs(id);
        }
    }
    setValues(known);
    if (unknownIds != nullptr) {
        *unknownIds = unknown;
    }
    Q_EMIT presetLoaded(path);
    return {};
}

QString SliderPanel::bundledPresetsDir()
{
    const QString dir = QString::fromStdString((tmk::defaultMetricsPath().parent_path() / "presets").string());
    return QFileInfo(dir).isDir() ? QFileInfo(dir).absoluteFilePath() : QString();
}

QString SliderPanel::presetFolder() const
{
    const QString stored = QSettings().value(kPresetFolderKey).toString();
    if (!stored.isEmpty() && QFileInfo(stored).isDir()) {
        return stored;
    }
    const QString data = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (!data.isEmpty() && QDir().mkpath(data + QStringLiteral("/presets"))) {
        return data + QStringLiteral("/presets");
    }
    return QDir::homePath();
}

void SliderPanel::rememberPresetFolder(const QString& path) const
{
    QSettings().setValue(kPresetFolderKey, QFileInfo(path).absolutePath());
}

void SliderPanel::savePresetInteractive()
{
    QString path = QFileDialog::getSaveFileName(
        this, tr("Save preset"), presetFolder() + QStringLiteral("/preset.json"), tr("Tastemaker presets (*.json)"));
    if (path.isEmpty()) {
        return;
    }
    if (QFileInfo(path).suffix().isEmpty()) {
        path += QStringLiteral(".json");
    }
    const auto saved = savePreset(path);
    if (!saved) {
        QMessageBox::warning(this, tr("Could not save the preset"), qs(saved.error().message));
        return;
    }
    rememberPresetFolder(path);
}

void SliderPanel::loadPresetInteractive()
{
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Load preset"), presetFolder(), tr("Tastemaker presets (*.json);;All files (*)"));
    if (path.isEmpty()) {
        return;
    }
    rememberPresetFolder(path);
    loadPresetFromFile(path);
}

void SliderPanel::loadPresetFromFile(const QString& path)
{
    QStringList unknown;
    const auto loaded = loadPreset(path, &unknown);
    if (!loaded) {
        QMessageBox::warning(this, tr("Could not load the preset"), qs(loaded.error().message));
        return;
    }
    if (!unknown.isEmpty()) {
        QMessageBox::information(this, tr("Preset loaded with warnings"),
            tr("%1 names sliders this version does not have, which were ignored: %2")
                .arg(QDir::toNativeSeparators(path), unknown.join(QStringLiteral(", "))));
    }
}

} // namespace tmk::ui
