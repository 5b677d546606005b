// Export a clip: format (WAV / FLAC / OGG), bit depth (WAV: 16, 24, 32-bit float; FLAC: 16, 24; OGG: none,
// Vorbis is lossy) and the file path, with Browse… starting in the last export folder (QSettings
// "export/lastFolder"; the last format is "export/lastFormat"). The suggested file name is the clip's
// title made file-safe, with the format's extension; changing the format changes the extension.
// Accepting remembers the folder and format.
#pragma once

#include <QDialog>
#include <QList>
#include <QString>

#include "tastemaker/audio_file.h"

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace tmk::ui {

struct ExportChoice {
    QString path;
    tmk::AudioWriteOptions options; // container and format; comment as set by setComment
};

class ExportDialog : public QDialog {
    Q_OBJECT

public:
    explicit ExportDialog(const QString& clipTitle, QWidget* parent = nullptr);
    ~ExportDialog() override;

    ExportChoice choice() const;

    void setContainer(tmk::AudioContainer container);
    tmk::AudioContainer container() const;
    // Ignored when the current container does not have `format`.
    void setSampleFormat(tmk::SampleFormat format);
    void setPath(const QString& path);
    QString path() const;
    // Stored in the file's comment field (e.g. tmk::clipComment(record)).
    void setComment(const QString& comment);

    // The bit depths a container offers, best default first is not implied: in menu order.
    static QList<tmk::SampleFormat> formatsFor(tmk::AudioContainer container);
    static QString extensionFor(tmk::AudioContainer container); // "wav", "flac", "ogg"
    // "Lofi hip hop / take 2" -> "Lofi hip hop - take 2.wav"; an empty title gives "clip.<ext>".
    static QString suggestedFileName(const QString& title, tmk::AudioContainer container);
    // QSettings "export/lastFolder", or the Music folder (else home) when unset or gone.
    static QString lastFolder();

public Q_SLOTS:
    void accept() override; // refuses an empty path or a missing folder (message under the fields)

private Q_SLOTS:
    void browse();
    void onContainerChanged();

private:
    void buildUi();
    void fillFormats();

    QString m_title;
    QString m_comment;
    QComboBox* m_container = nullptr;
    QComboBox* m_format = nullptr;
    QLineEdit* m_path = nullptr;
    QLabel* m_problem = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace tmk::ui
