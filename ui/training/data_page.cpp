// DataPage (see data_page.h).
#include "training/data_page.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QTableWidget>
#include <QVBoxLayout>

#include "training/library_tracks.h"
#include "training/wizard_context.h"
#include "widgets/qt_text.h"

namespace tmk::ui {

namespace {

QLabel* hintLabel(const QString& text, QWidget* parent)
{
    auto* label = new QLabel(text, parent);
    label->setWordWrap(true);
    label->setEnabled(false); // the palette's muted text
    return label;
}

} // namespace

DataPage::DataPage(WizardContext& context, QWidget* parent)
    : QWizardPage(parent)
    , m_context(context)
{
    setTitle(tr("Training data"));
    setSubTitle(
        tr("Songs with metadata and audio. Songs with similar genres are paired; in each pair the song higher on a "
           "metric is the one the \"+\" adapter learns to prefer."));
    auto* layout = new QVBoxLayout(this);
    m_grid = new QGridLayout();
    m_grid->setColumnStretch(1, 1);
    layout->addLayout(m_grid);

    m_tracks = addPathRow(tr("Tracks CSV"),
        tr("Spotify Tracks format (.csv or .csv.gz): track_id, track_genre, the audio "
           "features, popularity, …"),
        false, "tracksCsv");
    m_youtube = addPathRow(tr("YouTube CSV (optional)"),
        tr("Spotify-YouTube statistics (Views, Likes, Comments), joined by "
           "artist and title."),
        false, "youtubeCsv");
    m_audio = addPathRow(tr("Audio folder"),
        tr("Files named <track_id>.wav / .flac / .ogg / .mp3; songs without a file are "
           "left out."),
        true, "audioDir");
    const int analysisRow = m_grid->rowCount();
    m_grid->addWidget(makeAnalysisRow(), analysisRow, 1, 1, 2);
    m_grid->addWidget(hintLabel(tr("No tracks CSV? \"Analyse my library\" measures tempo, energy, valence, … of "
                                   "every audio file under the audio folder and writes %1.csv there (the genre of "
                                   "a song is its top-level folder). Popularity and the YouTube metrics need "
                                   "real metadata.")
                                    .arg(kLibraryTracksName),
                          this),
        analysisRow + 1, 1, 1, 2);
    m_rating = new QLineEdit(this);
    m_rating->setObjectName("ratingColumn");
    m_rating->setPlaceholderText(tr("e.g. my_rating"));
    const int row = m_grid->rowCount();
    m_grid->addWidget(new QLabel(tr("Rating column (optional)"), this), row, 0);
    m_grid->addWidget(m_rating, row, 1, 1, 2);
    m_grid->addWidget(
        hintLabel(tr("A column of the tracks CSV holding your own ratings: the \"rating\" metric."), this), row + 1, 1,
        1, 2);
    connect(m_rating, &QLineEdit::textChanged, this, &DataPage::inputsChanged);

    auto* previewRow = new QHBoxLayout();
    m_preview = new QPushButton(tr("Preview"), this);
    m_preview->setObjectName("previewButton");
    m_preview->setToolTip(tr("Build the pairs (nothing is written) and show what training would get."));
    m_progress = new QProgressBar(this);
    m_progress->setObjectName("previewProgress");
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    previewRow->addWidget(m_preview);
    previewRow->addWidget(m_progress, 1);
    layout->addLayout(previewRow);

    m_message = new QLabel(this);
    m_message->setObjectName("dataMessage");
    m_message->setWordWrap(true);
    layout->addWidget(m_message);
    m_summary = new QLabel(this);
    m_summary->setObjectName("dataSummary");
    m_summary->setWordWrap(true);
    layout->addWidget(m_summary);

    m_table = new QTableWidget(0, 4, this);
    m_table->setObjectName("pairsTable");
    m_table->setHorizontalHeaderLabels({ tr("Metric"), tr("Train pairs"), tr("Test pairs"), tr("Status") });
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    layout->addWidget(m_table, 1);

    connect(m_preview, &QPushButton::clicked, this, &DataPage::startPreview);
    connect(&m_context.bridge, &TrainingBridge::previewProgress, this, &DataPage::onPreviewProgress);
    connect(&m_context.bridge, &TrainingBridge::previewFinished, this, &DataPage::onPreviewFinished);
    connect(&m_context.bridge, &TrainingBridge::previewFailed, this, &DataPage::onPreviewFailed);
    connect(&m_context.bridge, &TrainingBridge::analysisProgress, this, &DataPage::onAnalysisProgress);
    connect(&m_context.bridge, &TrainingBridge::analysisFinished, this, &DataPage::onAnalysisFinished);
    connect(&m_context.bridge, &TrainingBridge::analysisFailed, this, &DataPage::onAnalysisFailed);

    QSettings settings;
    m_tracks->setText(settings.value(training_settings::kTracksCsv).toString());
    m_youtube->setText(settings.value(training_settings::kYoutubeCsv).toString());
    m_audio->setText(settings.value(training_settings::kAudioDir).toString());
    m_rating->setText(settings.value(training_settings::kRatingColumn).toString());
    inputsChanged();
}

DataPage::~DataPage() = default;

QLineEdit* DataPage::addPathRow(const QString& label, const QString& hint, bool folder, const QString& name)
{
    QGridLayout* grid = m_grid;
    const int row = grid->rowCount();
    auto* edit = new QLineEdit(this);
    edit->setObjectName(name);
    edit->setClearButtonEnabled(true);
    auto* browse = new QPushButton(tr("Browse…"), this);
    browse->setObjectName(name + "Browse");
    grid->addWidget(new QLabel(label, this), row, 0);
    grid->addWidget(edit, row, 1);
    grid->addWidget(browse, row, 2);
    grid->addWidget(hintLabel(hint, this), row + 1, 1, 1, 2);
    connect(edit, &QLineEdit::textChanged, this, &DataPage::inputsChanged);
    connect(browse, &QPushButton::clicked, this, [this, edit, folder, label]() {
        const QString start = edit->text().isEmpty() ? QString() : QFileInfo(edit->text()).absolutePath();
        const QString chosen = folder
            ? QFileDialog::getExistingDirectory(this, label, edit->text())
            : QFileDialog::getOpenFileName(this, label, start, tr("CSV files (*.csv *.csv.gz);;All files (*)"));
        if (!chosen.isEmpty()) edit->setText(chosen);
    });
    return edit;
}

void DataPage::setTracksCsv(const QString& path)
{
    m_tracks->setText(path);
}
void DataPage::setYoutubeCsv(const QString& path)
{
    m_youtube->setText(path);
}
void DataPage::setAudioDir(const QString& path)
{
    m_audio->setText(path);
}
void DataPage::setRatingColumn(const QString& column)
{
    m_rating->setText(column);
}

QString DataPage::messageText() const
{
    return m_message->text();
}
QString DataPage::summaryText() const
{
    return m_summary->text();
}
bool DataPage::previewOk() const
{
    return m_previewUsable && !m_running && m_previewedKey == previewKey();
}

PairBuilderOptions DataPage::options() const
{
    PairBuilderOptions options;
    options.tracksCsv = m_tracks->text().trimmed().toStdString();
    options.youtubeCsv = m_youtube->text().trimmed().toStdString();
    options.audioDir = m_audio->text().trimmed().toStdString();
    options.ratingColumn = m_rating->text().trimmed().toStdString();
    return options;
}

QString DataPage::previewKey() const
{
    return QStringList { m_tracks->text().trimmed(), m_youtube->text().trimmed(), m_audio->text().trimmed(),
        m_rating->text().trimmed() }
        .join('\n');
}

QString DataPage::inputProblem() const
{
    const QString tracks = m_tracks->text().trimmed();
    const QString youtube = m_youtube->text().trimmed();
    const QString audio = m_audio->text().trimmed();
    if (tracks.isEmpty())
        return QFileInfo(audio).isDir()
            ? tr("Choose the tracks CSV, or press \"Analyse my library\" to make one from the audio folder.")
            : tr("Choose the tracks CSV.");
    if (!QFileInfo(tracks).isFile()) return tr("The tracks CSV %1 does not exist.").arg(tracks);
    if (!youtube.isEmpty() && !QFileInfo(youtube).isFile())
        return tr("The YouTube CSV %1 does not exist.").arg(youtube);
    if (audio.isEmpty()) return tr("Choose the audio folder: training learns from the songs' audio.");
    if (!QFileInfo(audio).isDir()) return tr("The audio folder %1 does not exist.").arg(audio);
    return {};
}

void DataPage::setMessage(const QString& text, bool error)
{
    m_message->setText(text);
    m_message->setStyleSheet(error ? "color: #e5534b;" : QString());
    m_message->setToolTip(QString());
}

void DataPage::inputsChanged()
{
    const QString problem = inputProblem();
    m_preview->setEnabled(problem.isEmpty() && !m_running && !m_analysing);
    m_analyse->setEnabled(QFileInfo(m_audio->text().trimmed()).isDir() && !m_running && !m_analysing);
    if (m_analysing) {
        // the analysis reports its own progress
    } else if (!problem.isEmpty()) {
        setMessage(problem, !m_tracks->text().trimmed().isEmpty() || !m_audio->text().trimmed().isEmpty());
    } else if (m_previewUsable && m_previewedKey == previewKey()) {
        setMessage(tr("The preview is up to date."), false);
    } else if (!m_running) {
        setMessage(tr("Press Preview to see the pairs this data gives."), false);
    }
    Q_EMIT completeChanged();
}

void DataPage::startPreview()
{
    if (!inputProblem().isEmpty()) return;
    m_running = true;
    m_previewUsable = false;
    m_previewedKey = previewKey();
    m_preview->setEnabled(false);
    m_analyse->setEnabled(false);
    m_progress->setRange(0, 0); // busy until the first progress report
    setMessage(tr("Building the pairs…"), false);
    m_context.bridge.preview(options());
    Q_EMIT completeChanged();
}

void DataPage::onPreviewProgress(ProgressStage stage, qint64 done, qint64 total)
{
    if (total > 0) {
        m_progress->setRange(0, 1000);
        m_progress->setValue(static_cast<int>(1000 * done / total));
    }
    setMessage(tr("Preview: %1…").arg(QString::fromUtf8(progressStageName(stage))), false);
}

void DataPage::onPreviewFinished(const PairReport& report)
{
    m_running = false;
    m_progress->setRange(0, 1000);
    m_progress->setValue(1000);
    showReport(report);
    if (report.songsWithAudio == 0) {
        m_previewUsable = false;
        setMessage(tr("None of the %1 songs has an audio file in the audio folder: there is nothing to train on.")
                       .arg(report.songs),
            true);
    } else if (report.totalPairs() == 0) {
        m_previewUsable = false;
        setMessage(tr("The data gives no pairs (no two songs with audio share a genre)."), true);
    } else {
        m_previewUsable = true;
        m_context.report = report;
        setMessage(tr("Preview done: %1 pairs in all.").arg(report.totalPairs()), false);
    }
    if (m_previewedKey != previewKey()) inputsChanged(); // edited while it ran
    m_preview->setEnabled(inputProblem().isEmpty());
    m_analyse->setEnabled(QFileInfo(m_audio->text().trimmed()).isDir());
    Q_EMIT completeChanged();
}

void DataPage::onPreviewFailed(const QString& message)
{
    m_running = false;
    m_previewUsable = false;
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_summary->clear();
    m_table->setRowCount(0);
    setMessage(message, true);
    m_preview->setEnabled(inputProblem().isEmpty());
    m_analyse->setEnabled(QFileInfo(m_audio->text().trimmed()).isDir());
    Q_EMIT completeChanged();
}

void DataPage::showReport(const PairReport& report)
{
    QString summary = tr("%1 rows · %2 songs · %3 with audio · %4 without audio · %5 genres")
                          .arg(report.rows)
                          .arg(report.songs)
                          .arg(report.songsWithAudio)
                          .arg(report.songsWithoutAudio)
                          .arg(report.genres);
    if (report.youtubeRows > 0)
        summary += tr(" · YouTube: %1 rows, %2 songs matched").arg(report.youtubeRows).arg(report.youtubeMatchedSongs);
    int64_t skipped = 0;
    for (const SkippedRows& rows : report.skipped) skipped += rows.count;
    if (skipped > 0) summary += tr(" · %1 rows skipped (%2)").arg(skipped).arg(qs(report.skipped.front().reason));
    m_summary->setText(summary);

    m_table->setRowCount(static_cast<int>(report.metrics.size()));
    const auto& metrics = m_context.bridge.metrics();
    for (int row = 0; row < static_cast<int>(report.metrics.size()); ++row) {
        const MetricPairStats& stats = report.metrics[row];
        const MetricInfo* info = findMetric(metrics, stats.metric);
        auto* name = new QTableWidgetItem(info ? qs(info->name) : qs(stats.metric));
        name->setData(Qt::UserRole, qs(stats.metric));
        m_table->setItem(row, 0, name);
        m_table->setItem(
            row, 1, new QTableWidgetItem(stats.available ? QString::number(stats.trainPairs) : QString("–")));
        m_table->setItem(
            row, 2, new QTableWidgetItem(stats.available ? QString::number(stats.testPairs) : QString("–")));
        QString status = stats.available
            ? tr("available (%1 songs with a value; %2 ties and %3 near-equal pairs dropped)")
                  .arg(stats.songsWithValue)
                  .arg(stats.ties)
                  .arg(stats.belowGap)
            : tr("unavailable: %1").arg(qs(stats.unavailableReason));
        auto* statusItem = new QTableWidgetItem(status);
        statusItem->setToolTip(status);
        m_table->setItem(row, 3, statusItem);
    }
}

void DataPage::initializePage()
{
    inputsChanged();
}

bool DataPage::isComplete() const
{
    return previewOk();
}

bool DataPage::validatePage()
{
    if (!previewOk()) return false;
    m_context.plan.data = options();
    QSettings settings;
    settings.setValue(training_settings::kTracksCsv, m_tracks->text().trimmed());
    settings.setValue(training_settings::kYoutubeCsv, m_youtube->text().trimmed());
    settings.setValue(training_settings::kAudioDir, m_audio->text().trimmed());
    settings.setValue(training_settings::kRatingColumn, m_rating->text().trimmed());
    return true;
}

void DataPage::cleanupPage()
{
    m_context.bridge.cancelPreview();
    cancelAnalysis();
}

// ---- Analyse my library ----

QWidget* DataPage::makeAnalysisRow()
{
    auto* row = new QWidget(this);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    m_analyse = new QPushButton(tr("Analyse my library"), row);
    m_analyse->setObjectName("analyseButton");
    m_analyse->setToolTip(tr("Measure every audio file under the audio folder and write a tracks CSV for it."));
    m_cancelAnalysis = new QPushButton(tr("Cancel"), row);
    m_cancelAnalysis->setObjectName("cancelAnalysisButton");
    m_cancelAnalysis->setEnabled(false);
    m_analysisProgress = new QProgressBar(row);
    m_analysisProgress->setObjectName("analysisProgress");
    m_analysisProgress->setRange(0, 1000);
    m_analysisProgress->setValue(0);
    layout->addWidget(m_analyse);
    layout->addWidget(m_cancelAnalysis);
    layout->addWidget(m_analysisProgress, 1);
    connect(m_analyse, &QPushButton::clicked, this, &DataPage::startAnalysis);
    connect(m_cancelAnalysis, &QPushButton::clicked, this, &DataPage::cancelAnalysis);
    return row;
}

void DataPage::startAnalysis()
{
    const QString audio = m_audio->text().trimmed();
    if (m_analysing || m_running || !QFileInfo(audio).isDir()) return;
    m_analysing = true;
    m_analysedDir = audio;
    m_cancelAnalysis->setEnabled(true);
    m_analysisProgress->setRange(0, 0); // busy while the files are listed
    setMessage(tr("Looking for audio files in %1…").arg(audio), false);
    m_context.bridge.analyseLibrary(audio);
    inputsChanged();
}

void DataPage::cancelAnalysis()
{
    if (!m_analysing) return;
    m_context.bridge.cancelAnalysis();
    analysisStopped();
    setMessage(tr("The analysis was cancelled; nothing was written."), false);
}

void DataPage::analysisStopped()
{
    m_analysing = false;
    m_cancelAnalysis->setEnabled(false);
    m_analysisProgress->setRange(0, 1000);
    m_analysisProgress->setValue(0);
    inputsChanged();
}

void DataPage::onAnalysisProgress(qint64 done, qint64 total)
{
    if (!m_analysing || total <= 0) return;
    m_analysisProgress->setRange(0, 1000);
    m_analysisProgress->setValue(static_cast<int>(1000 * done / total));
    setMessage(tr("Analysing the audio files: %1 of %2 done…").arg(done).arg(total), false);
}

void DataPage::onAnalysisFinished(const LibraryAnalysis& analysis)
{
    if (!m_analysing) return;
    analysisStopped();
    QString skipped;
    QStringList reasons;
    if (!analysis.skipped.empty()) {
        skipped = tr(" Skipped %1 file(s) that could not be read (%2).")
                      .arg(analysis.skipped.size())
                      .arg(qs(analysis.skipped.front().second)
                               .chopped(analysis.skipped.front().second.ends_with('.') ? 1 : 0));
        for (size_t i = 0; i < analysis.skipped.size() && i < 10; ++i) reasons << qs(analysis.skipped[i].second);
    }
    if (analysis.songs.empty()) {
        setMessage(tr("No audio file in %1 could be analysed.").arg(m_analysedDir) + skipped, true);
    } else if (Expected<LibraryTracksFile> file = writeLibraryTracks(analysis.songs, m_analysedDir.toStdString());
               !file) {
        setMessage(tr("The tracks CSV could not be written: %1").arg(qs(file.error().message)), true);
    } else {
        m_audio->setText(m_analysedDir);
        m_tracks->setText(qs(file->path.string()));
        m_analysisProgress->setValue(1000);
        setMessage(tr("Analysed %1 files into %2 (%3 genres). Press Preview to see the pairs.")
                       .arg(file->songs)
                       .arg(qs(file->path.string()))
                       .arg(file->genres)
                + skipped,
            false);
    }
    m_message->setToolTip(reasons.join('\n'));
}

void DataPage::onAnalysisFailed(const QString& message)
{
    if (!m_analysing) return;
    analysisStopped();
    setMessage(tr("The audio folder could not be analysed: %1").arg(message), true);
}

} // namespace tmk::ui
