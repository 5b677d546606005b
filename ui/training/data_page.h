// The wizard's first page: the tracks CSV (Spotify Tracks format), the optional Spotify-YouTube CSV, the
// audio folder and an optional rating column. "Preview" runs the pair builder as a job (with progress)
// and shows songs, songs with audio, pairs per metric and unavailable metrics with their reason. Next is
// allowed only after a successful preview of the current inputs that has songs with audio and pairs.
// "Analyse my library" serves an audio folder without metadata: it analyses every audio file under the
// folder (with progress and Cancel), writes a tracks CSV there (library_tracks.h) and fills the tracks CSV
// field with it.
#pragma once

#include <QString>
#include <QWizardPage>

#include "tastemaker/analysis.h"
#include "tastemaker/pairs.h"
#include "tastemaker/progress.h"

class QGridLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace tmk::ui {

struct WizardContext;

class DataPage : public QWizardPage {
    Q_OBJECT

public:
    explicit DataPage(WizardContext& context, QWidget* parent = nullptr);
    ~DataPage() override;

    void setTracksCsv(const QString& path);
    void setYoutubeCsv(const QString& path);
    void setAudioDir(const QString& path);
    void setRatingColumn(const QString& column);

    QPushButton* previewButton() const { return m_preview; }
    QPushButton* analyseButton() const { return m_analyse; }
    QPushButton* cancelAnalysisButton() const { return m_cancelAnalysis; }
    QProgressBar* analysisProgress() const { return m_analysisProgress; }
    bool analysing() const { return m_analysing; }
    QTableWidget* metricsTable() const { return m_table; }
    QString messageText() const; // what is missing, or the preview's outcome
    QString summaryText() const; // songs, songs with audio, ... of the last preview
    bool previewOk() const; // a usable preview of the current inputs

    // The inputs as the pair builder takes them.
    tmk::PairBuilderOptions options() const;
    void startPreview();
    // Analyses the audio folder and writes its tracks CSV; cancelAnalysis() stops it and writes nothing.
    void startAnalysis();
    void cancelAnalysis();

    void initializePage() override;
    bool isComplete() const override;
    bool validatePage() override;
    void cleanupPage() override;

private:
    QLineEdit* addPathRow(const QString& label, const QString& hint, bool folder, const QString& name);
    void inputsChanged();
    // Empty when the inputs can be previewed; otherwise what is wrong.
    QString inputProblem() const;
    void onPreviewProgress(tmk::ProgressStage stage, qint64 done, qint64 total);
    void onPreviewFinished(const tmk::PairReport& report);
    void onPreviewFailed(const QString& message);
    void showReport(const tmk::PairReport& report);
    QWidget* makeAnalysisRow();
    void onAnalysisProgress(qint64 done, qint64 total);
    void onAnalysisFinished(const tmk::LibraryAnalysis& analysis);
    void onAnalysisFailed(const QString& message);
    void analysisStopped(); // buttons and progress back to idle
    QString previewKey() const;
    void setMessage(const QString& text, bool error);

    WizardContext& m_context;
    QGridLayout* m_grid = nullptr;
    QLineEdit* m_tracks = nullptr;
    QLineEdit* m_youtube = nullptr;
    QLineEdit* m_audio = nullptr;
    QLineEdit* m_rating = nullptr;
    QPushButton* m_preview = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_message = nullptr;
    QLabel* m_summary = nullptr;
    QTableWidget* m_table = nullptr;
    QString m_previewedKey; // the inputs the shown report is for
    bool m_previewUsable = false;
    bool m_running = false;
    QPushButton* m_analyse = nullptr;
    QPushButton* m_cancelAnalysis = nullptr;
    QProgressBar* m_analysisProgress = nullptr;
    QString m_analysedDir; // the audio folder being analysed
    bool m_analysing = false;
};

} // namespace tmk::ui
