// SteeringReportView (Steering ▸ Steering report…): which sliders do the open bank's adapters really control?
// It shows a steering report (tastemaker/steering_report.h, docs/steering.md):
//   - a table of the sliders with their on-target figures (difference and effect with 95% intervals, Spearman,
//     interference ratio; latent metrics "not measurable") and which of the targets each meets;
//   - for the selected slider, its measured metric against the slider value (mean per value over its 95% band, and
//     every clip as a dot);
//   - the interference matrix as a coloured table (rows: the slider moved; columns: the measured metric).
// It opens an existing report folder (on opening, the bank's own <bank>/steering-report when it ships one, else the
// last report opened), or runs a report for the open model and bank on the engine thread (SteeringReportRunner) with
// progress, ETA and Cancel, writes it into the chosen folder and shows it. A report that cannot be read shows the
// reader's message (the file and the problem) and leaves the view usable.
//
// One view per main window (SteeringMenu); closing it only hides it, so a run goes on and shows when it is reopened.
#pragma once

#include <optional>

#include <QDialog>
#include <QString>

#include "steering/steering_report_runner.h"
#include "tastemaker/steering_report.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QStackedWidget;

namespace tmk::ui {

class EngineBridge;
class InterferenceTable;
class SteeringCurveChart;
class SteeringSliderTable;

class SteeringReportView : public QDialog {
    Q_OBJECT

public:
    explicit SteeringReportView(EngineBridge& engine, QWidget* parent = nullptr);
    ~SteeringReportView() override;

    // The bank's own report folder (<bankDir>/steering-report) when it holds report.json, else "".
    static QString bankReportDir(const QString& bankDir);
    // The bank's own report, else the last report opened (QSettings "steering/lastReportDir"), when no report is
    // shown yet. Returns whether one was opened.
    bool openDefault();
    // Reads `dir`'s report and shows it; false (and the message in errorText()) when it cannot be read.
    bool openReport(const QString& dir);
    void chooseReport(); // a folder chooser, starting at the bank's report
    void chooseRun(); // the run settings (SteeringRunDialog), then startRun()
    // Runs a report for the open model and bank (false when one is running, or no model or bank is open).
    bool startRun(const SteeringRunRequest& request);
    void cancelRun();
    void selectSlider(const QString& metric);

    const std::optional<tmk::SteeringReport>& report() const { return m_report; }
    QString reportDir() const { return m_reportDir; }
    QString errorText() const; // "" while there is no error
    QString statusText() const;
    bool running() const;

    SteeringSliderTable* sliderTable() const { return m_sliders; }
    SteeringCurveChart* chart() const { return m_chart; }
    InterferenceTable* interferenceTable() const { return m_matrix; }
    SteeringReportRunner* runner() const { return m_runner; }
    QPushButton* runButton() const { return m_runButton; }
    QPushButton* cancelButton() const { return m_cancelButton; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* progressLabel() const { return m_progressLabel; }

private:
    QWidget* buildHeader();
    QWidget* buildProgressRow();
    QWidget* buildContent();
    void showReport(const tmk::SteeringReport& report, const QString& dir);
    void showError(const QString& message);
    void updateRunEnabled();
    void onRunProgress(qint64 done, qint64 total, double elapsedSeconds, double etaSeconds);
    void onRunFinished(SteeringRunOutcome outcome, const QString& outDir, const QString& message);

    EngineBridge& m_engine;
    SteeringReportRunner* m_runner = nullptr;
    std::optional<tmk::SteeringReport> m_report;
    QString m_reportDir;
    QLabel* m_source = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_error = nullptr;
    QPushButton* m_openButton = nullptr;
    QPushButton* m_runButton = nullptr;
    QWidget* m_progressRow = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_progressLabel = nullptr;
    QPushButton* m_cancelButton = nullptr;
    QStackedWidget* m_pages = nullptr;
    QLabel* m_placeholder = nullptr;
    SteeringSliderTable* m_sliders = nullptr;
    SteeringCurveChart* m_chart = nullptr;
    InterferenceTable* m_matrix = nullptr;
};

} // namespace tmk::ui
