// The 13 metric sliders in a scrollable column, with "Reset all", an "Exaggerate (±2)" switch and preset
// Save / Load buttons.
//
// A preset is JSON: {"format": "tastemaker-preset", "version": 1, "sliders": {"energy": 0.7, ...}}, values
// finite and within ±tmk::kSliderLimit. Saving writes it atomically (QSaveFile). Loading sets every slider
// (metrics the preset omits go to 0); ids that are not metrics are ignored and reported.
//
// valuesChanged is coalesced: the first move after a quiet spell is emitted at once, later moves within
// kCoalesceMs are folded into one emission when the timer fires, so a drag emits at most every
// kCoalesceMs and the final values are always emitted. Bulk changes (setValues, resetAll, loadPreset,
// setBank) emit once, at once.
#pragma once

#include <vector>

#include <QString>
#include <QStringList>
#include <QWidget>

#include "tastemaker/adapters.h"
#include "tastemaker/error.h"
#include "tastemaker/metrics.h"
#include "tastemaker/steering_report.h"

class QCheckBox;
class QPushButton;
class QScrollArea;
class QTimer;
class QVBoxLayout;

namespace tmk::ui {

class BipolarSlider;

class SliderPanel : public QWidget {
    Q_OBJECT

public:
    static constexpr int kCoalesceMs = 50;

    explicit SliderPanel(std::vector<tmk::MetricInfo> metrics, QWidget* parent = nullptr);
    ~SliderPanel() override;

    const std::vector<tmk::MetricInfo>& metrics() const { return m_metrics; }

    // Every metric's value (zeros included), by id.
    tmk::SliderValues values() const;
    // Sets every slider: ids in `values` get their value (clamped to the slider's reachable range; values
    // beyond ±1 switch on Exaggerate), metrics not in `values` go to 0, unknown ids are ignored.
    void setValues(const tmk::SliderValues& values);
    void resetAll();

    // nullptr: no bank, every slider disabled ("Open an adapter bank to use this slider"). Otherwise a
    // metric with neither adapter is disabled ("The bank <name> has no adapters for <Metric>") and one
    // with a single side is clamped to it. The summary is read at once; the pointer is not kept.
    void setBank(const tmk::BankSummary* bank);
    // What the open bank's steering report measured of each slider (nullptr: no report): each slider's mark
    // and a paragraph of its tooltip (describeMeasured, widgets/measured_steering.h). Read at once, not kept.
    void setMeasured(const tmk::MeasuredSteering* measured);

    // ±1 (false) or ±2 (true) on every slider.
    void setExaggerated(bool exaggerated);
    bool exaggerated() const;

    // nullptr when `id` is not a metric.
    BipolarSlider* slider(const QString& id) const;

    // Presets (the buttons use these; errors name the file and the problem).
    tmk::Expected<void> savePreset(const QString& path) const;
    // `unknownIds` (optional) receives the preset's ids that are not metrics, which are ignored.
    tmk::Expected<void> loadPreset(const QString& path, QStringList* unknownIds = nullptr);
    static tmk::Expected<tmk::SliderValues> readPresetFile(const QString& path);
    static tmk::Expected<void> writePresetFile(const QString& path, const tmk::SliderValues& values);
    // The bundled presets folder (<resources>/presets), empty when it does not exist.
    static QString bundledPresetsDir();

    // The tooltip texts (also used by the tests).
    static QString noBankReason();
    static QString noAdaptersReason(const QString& bankName, const QString& metricName);
    static QString missingSideReason(
        const QString& bankName, const QString& metricName, const QString& missingLabel, const QString& presentLabel);

public Q_SLOTS:
    void savePresetInteractive(); // Save preset…: a file dialog, then savePreset (errors in a QMessageBox)
    void loadPresetInteractive(); // Load preset…: a file dialog, then loadPreset (errors in a QMessageBox)
    void loadPresetFromFile(const QString& path); // loadPreset with message boxes for errors and warnings

Q_SIGNALS:
    void valuesChanged(const tmk::SliderValues& values);
    void presetLoaded(const QString& path);

private:
    void buildUi();
    QWidget* buildButtonRow();
    void onSliderValueChanged();
    void emitNow();
    void onCoalesceTimeout();
    QString presetFolder() const;
    void rememberPresetFolder(const QString& path) const;

    std::vector<tmk::MetricInfo> m_metrics;
    std::vector<BipolarSlider*> m_sliders;
    QScrollArea* m_scroll = nullptr;
    QCheckBox* m_exaggerate = nullptr;
    QPushButton* m_resetAll = nullptr;
    QPushButton* m_savePreset = nullptr;
    QPushButton* m_loadPreset = nullptr;
    QTimer* m_coalesce = nullptr;
    bool m_pending = false;
    int m_bulkDepth = 0;
};

} // namespace tmk::ui
