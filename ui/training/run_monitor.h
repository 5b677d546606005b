// RunMonitor: the live view of a TrainingBridge run (the wizard's run page shows one). Overall and
// per-adapter progress bars with an ETA, a status line, tabs with the curves (CurveCharts), the latest
// values (LatestValuesTable) and the run's log, a Cancel button (the trainer writes a checkpoint), and
// curve export as PNG and CSV. Every adapter's curves are kept; a selector picks which one is shown
// (it follows the adapter being trained).
#pragma once

#include <optional>
#include <vector>

#include <QElapsedTimer>
#include <QString>
#include <QWidget>

#include "tastemaker/error.h"
#include "tastemaker/training.h"
#include "training/training_bridge.h"

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTabWidget;

namespace tmk::ui {

class CurveCharts;
class LatestValuesTable;

// Remaining time from the fraction done: the rate is measured from the first update (so time spent
// before any progress, e.g. loading the model, and progress made by an earlier session do not count).
class EtaEstimator {
public:
    void reset();
    void update(double fraction);
    std::optional<double> secondsLeft() const;
    static QString format(std::optional<double> seconds); // "ETA 1:05", "ETA 1:02:03", "ETA –"

private:
    QElapsedTimer m_clock;
    double m_startFraction = 0.0, m_fraction = 0.0;
    bool m_started = false;
};

class RunMonitor : public QWidget {
    Q_OBJECT

public:
    explicit RunMonitor(TrainingBridge& bridge, QWidget* parent = nullptr);
    ~RunMonitor() override;

    // Before bridge.start() / resume(): whether the run builds pairs and tokenizes first (a new plan) or
    // only trains (resume). `history` holds the curves a resumed run logged so far.
    void prepareForPlan(int adapterCount);
    void prepareForResume(const QString& adapterName, const std::vector<tmk::TrainLogEntry>& history);

    CurveCharts* charts() const { return m_charts; }
    LatestValuesTable* table() const { return m_table; }
    QProgressBar* overallBar() const { return m_overall; }
    QPushButton* cancelButton() const { return m_cancel; }
    QString statusText() const;
    QString adapterText() const;
    QString logText() const;
    std::optional<tmk::ui::RunOutcome> outcome() const { return m_outcome; }
    // Shows adapter `index`'s curves (the selector does this).
    void showAdapter(int index);

    tmk::Expected<void> exportPng(const QString& path) const;
    tmk::Expected<void> exportCsv(const QString& path) const;

Q_SIGNALS:
    void finished(tmk::ui::RunOutcome outcome);

private:
    void buildUi();
    void onRunMessage(const QString& text);
    void onPrepareProgress(tmk::ProgressStage stage, qint64 done, qint64 total);
    void onAdapterStarted(int index, const QString& name, const QString& runDir);
    void onTrainProgress(int index, tmk::ProgressStage stage, qint64 done, qint64 total);
    void onLogEntry(int index, const tmk::TrainLogEntry& entry);
    void showAdapterStep(qint64 step); // the current adapter's bar, label and ETA
    void onAdapterFinished(int index, bool cancelled, qint64 step, qint64 totalSteps);
    void onRunFinished(tmk::ui::RunOutcome outcome, qint64 step, const QString& message);
    void onCancelClicked();
    void updateOverall();
    void setStatus(const QString& text, bool error = false);
    void exportInteractive(bool png);

    TrainingBridge& m_bridge;
    QLabel* m_status = nullptr;
    QLabel* m_overallLabel = nullptr;
    QLabel* m_adapterLabel = nullptr;
    QProgressBar* m_overall = nullptr;
    QProgressBar* m_adapter = nullptr;
    QTabWidget* m_tabs = nullptr;
    CurveCharts* m_charts = nullptr;
    LatestValuesTable* m_table = nullptr;
    QPlainTextEdit* m_log = nullptr;
    QComboBox* m_adapterChoice = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_exportPng = nullptr;
    QPushButton* m_exportCsv = nullptr;

    std::vector<std::vector<tmk::TrainLogEntry>> m_curves; // per adapter
    int m_shown = -1;
    int m_adapters = 0; // queued adapters
    bool m_hasPrepare = false; // a new plan: pairs and tokens first
    double m_prepareFraction = 0.0;
    int m_adaptersDone = 0;
    double m_adapterFraction = 0.0;
    qint64 m_adapterTotal = 0; // optimiser steps of the current adapter (from its progress reports)
    int m_current = -1;
    EtaEstimator m_overallEta, m_adapterEta;
    std::optional<RunOutcome> m_outcome;
};

} // namespace tmk::ui
