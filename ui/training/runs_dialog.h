// Training ▸ Resume…: the run folders under the runs folder (findRuns), with their adapter, the step
// reached and whether they finished. "Resume" continues an interrupted run that has a checkpoint;
// "Curves…" shows a run's logged curves (metrics.jsonl) with PNG and CSV export.
#pragma once

#include <optional>
#include <vector>

#include <QDialog>
#include <QString>

#include "tastemaker/training.h"

class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace tmk::ui {

class CurveCharts;

class RunsDialog : public QDialog {
    Q_OBJECT

public:
    explicit RunsDialog(const QString& runsRoot, QWidget* parent = nullptr);
    ~RunsDialog() override;

    void setRunsRoot(const QString& root); // and refresh
    QString runsRoot() const;
    void refresh();
    const std::vector<tmk::RunInfo>& runs() const { return m_runs; }
    QTableWidget* table() const { return m_table; }
    QPushButton* resumeButton() const { return m_resume; }

    // Selects the run whose folder is named `folderName`; false when there is none.
    bool selectRun(const QString& folderName);
    std::optional<tmk::RunInfo> selectedRun() const;
    static bool resumable(const tmk::RunInfo& run) { return !run.finished && run.hasCheckpoint; }
    static QString statusText(const tmk::RunInfo& run);

    // Emits resumeRequested for the selected run (when resumable) and closes.
    void resumeSelected();

Q_SIGNALS:
    void resumeRequested(const tmk::RunInfo& run);

private:
    void updateButtons();
    void showCurves();

    QLineEdit* m_root = nullptr;
    QTableWidget* m_table = nullptr;
    QLabel* m_empty = nullptr;
    QPushButton* m_resume = nullptr;
    QPushButton* m_curves = nullptr;
    std::vector<tmk::RunInfo> m_runs;
};

// A run's curves from its metrics.jsonl, with Export PNG… / Export CSV….
class CurvesDialog : public QDialog {
    Q_OBJECT

public:
    CurvesDialog(const tmk::RunInfo& run, QWidget* parent = nullptr);
    CurveCharts* charts() const { return m_charts; }
    QString errorText() const;

private:
    CurveCharts* m_charts = nullptr;
    QLabel* m_error = nullptr;
    QString m_dir;
};

} // namespace tmk::ui

Q_DECLARE_METATYPE(tmk::RunInfo)
