#include "widgets/export_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QStandardPaths>
#include <QVBoxLayout>

namespace tmk::ui {

namespace {

const char* kLastFolderKey = "export/lastFolder";
const char* kLastFormatKey = "export/lastFormat";

QString formatLabel(tmk::SampleFormat format)
{
    switch (format) {
    case tmk::SampleFormat::S16:
        return ExportDialog::tr("16-bit");
    case tmk::SampleFormat::S24:
        return ExportDialog::tr("24-bit");
    case tmk::SampleFormat::F32:
        return ExportDialog::tr("32-bit float");
    }
    return {};
}

// The path with its extension replaced by `extension` (no dot).
QString withExtension(const QString& path, const QString& extension)
{
    if (path.isEmpty()) {
        return path;
    }
    const QFileInfo info(path);
    static const QStringList kAudioSuffixes
        = { QStringLiteral("wav"), QStringLiteral("flac"), QStringLiteral("ogg"), QStringLiteral("oga") };
    // Only a known audio extension is replaced: "v1.2 mix" keeps its dot.
    const bool hasAudioSuffix = kAudioSuffixes.contains(info.suffix().toLower());
    const QString name = hasAudioSuffix ? info.completeBaseName() : info.fileName();
    const QString file = name + QLatin1Char('.') + extension;
    const QString dir = info.path();
    return dir == QLatin1String(".") && !path.startsWith(QLatin1String("./")) ? file : QDir(dir).filePath(file);
}

} // namespace

ExportDialog::ExportDialog(const QString& clipTitle, QWidget* parent)
    : QDialog(parent)
    , m_title(clipTitle)
{
    setObjectName(QStringLiteral("exportDialog"));
    setWindowTitle(tr("Export clip"));
    buildUi();

    QSettings settings;
    const int lastContainer = settings.value(kLastFormatKey, 0).toInt();
    if (lastContainer >= 0 && lastContainer < m_container->count()) {
        m_container->setCurrentIndex(lastContainer);
    }
    fillFormats();
    m_path->setText(QDir(lastFolder()).filePath(suggestedFileName(m_title, container())));
}

ExportDialog::~ExportDialog() = default;

void ExportDialog::buildUi()
{
    auto* form = new QFormLayout;
    m_container = new QComboBox(this);
    m_container->setObjectName(QStringLiteral("formatCombo"));
    m_container->addItem(tr("WAV"), static_cast<int>(tmk::AudioContainer::Wav));
    m_container->addItem(tr("FLAC (lossless)"), static_cast<int>(tmk::AudioContainer::Flac));
    m_container->addItem(tr("OGG Vorbis (lossy)"), static_cast<int>(tmk::AudioContainer::Ogg));
    form->addRow(tr("&Format:"), m_container);

    m_format = new QComboBox(this);
    m_format->setObjectName(QStringLiteral("bitDepthCombo"));
    form->addRow(tr("&Bit depth:"), m_format);

    auto* pathRow = new QHBoxLayout;
    m_path = new QLineEdit(this);
    m_path->setObjectName(QStringLiteral("pathEdit"));
    m_path->setMinimumWidth(fontMetrics().horizontalAdvance(QLatin1Char('M')) * 28);
    auto* browse = new QPushButton(tr("Browse…"), this);
    browse->setObjectName(QStringLiteral("browseButton"));
    browse->setAutoDefault(false);
    pathRow->addWidget(m_path, 1);
    pathRow->addWidget(browse);
    auto* pathLabel = new QLabel(tr("&File:"), this);
    pathLabel->setBuddy(m_path);
    form->addRow(pathLabel, pathRow);

    m_problem = new QLabel(this);
    m_problem->setObjectName(QStringLiteral("problemLabel"));
    m_problem->setWordWrap(true);
    m_problem->setStyleSheet(QStringLiteral("color: palette(bright-text);"));
    m_problem->hide();

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Export"));

    auto* column = new QVBoxLayout(this);
    column->addLayout(form);
    column->addWidget(m_problem);
    column->addWidget(m_buttons);

    connect(m_container, &QComboBox::currentIndexChanged, this, &ExportDialog::onContainerChanged);
    connect(browse, &QPushButton::clicked, this, &ExportDialog::browse);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &ExportDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &ExportDialog::reject);
}

void ExportDialog::fillFormats()
{
    const QVariant previous = m_format->currentData();
    m_format->clear();
    const QList<tmk::SampleFormat> formats = formatsFor(container());
    for (const tmk::SampleFormat format : formats) {
        m_format->addItem(formatLabel(format), static_cast<int>(format));
    }
    if (formats.isEmpty()) {
        m_format->addItem(tr("— (set by the encoder)"));
        m_format->setEnabled(false);
        return;
    }
    m_format->setEnabled(true);
    const int keep = previous.isValid() ? m_format->findData(previous) : -1;
    m_format->setCurrentIndex(keep >= 0 ? keep : 0);
}

void ExportDialog::onContainerChanged()
{
    fillFormats();
    m_path->setText(withExtension(m_path->text(), extensionFor(container())));
}

QList<tmk::SampleFormat> ExportDialog::formatsFor(tmk::AudioContainer container)
{
    switch (container) {
    case tmk::AudioContainer::Wav:
        return { tmk::SampleFormat::S16, tmk::SampleFormat::S24, tmk::SampleFormat::F32 };
    case tmk::AudioContainer::Flac:
        return { tmk::SampleFormat::S16, tmk::SampleFormat::S24 };
    case tmk::AudioContainer::Ogg:
        return {};
    }
    return {};
}

QString ExportDialog::extensionFor(tmk::AudioContainer container)
{
    switch (container) {
    case tmk::AudioContainer::Wav:
        return QStringLiteral("wav");
    case tmk::AudioContainer::Flac:
        return QStringLiteral("flac");
    case tmk::AudioContainer::Ogg:
        return QStringLiteral("ogg");
    }
    return QStringLiteral("wav");
}

QString ExportDialog::suggestedFileName(const QString& title, tmk::AudioContainer container)
{
    QString name = title;
    // Characters that are unsafe in file names on some system become " - " or go.
    name.replace(QRegularExpression(QStringLiteral(R"(\s*[/\\:|]+\s*)")), QStringLiteral(" - "));
    name.remove(QRegularExpression(QStringLiteral(R"([<>"?*\x00-\x1f])")));
    name = name.simplified();
    while (name.startsWith(QLatin1Char('.')) || name.startsWith(QLatin1Char('-'))) {
        name = name.mid(1).trimmed();
    }
    if (name.size() > 80) {
        name = name.left(80).trimmed();
    }
    if (name.isEmpty()) {
        name = QStringLiteral("clip");
    }
    return name + QLatin1Char('.') + extensionFor(container);
}

QString ExportDialog::lastFolder()
{
    const QString stored = QSettings().value(kLastFolderKey).toString();
    if (!stored.isEmpty() && QFileInfo(stored).isDir()) {
        return stored;
    }
    const QString music = QStandardPaths::writableLocation(QStandardPaths::MusicLocation);
    if (!music.isEmpty() && QFileInfo(music).isDir()) {
        return music;
    }
    return QDir::homePath();
}

ExportChoice ExportDialog::choice() const
{
    ExportChoice result;
    result.path = path();
    result.options.container = container();
    const QVariant format = m_format->currentData();
    result.options.format = format.isValid() ? static_cast<tmk::SampleFormat>(format.toInt()) : tmk::SampleFormat::S16;
    result.options.comment = m_comment.toStdString();
    return result;
}

void ExportDialog::setContainer(tmk::AudioContainer container)
{
    const int index = m_container->findData(static_cast<int>(container));
    if (index >= 0) {
        m_container->setCurrentIndex(index);
    }
}

tmk::AudioContainer ExportDialog::container() const
{
    return static_cast<tmk::AudioContainer>(m_container->currentData().toInt());
}

void ExportDialog::setSampleFormat(tmk::SampleFormat format)
{
    const int index = m_format->findData(static_cast<int>(format));
    if (index >= 0) {
        m_format->setCurrentIndex(index);
    }
}

void ExportDialog::setPath(const QString& path)
{
    m_path->setText(path);
}

QString ExportDialog::path() const
{
    return m_path->text().trimmed();
}

void ExportDialog::setComment(const QString& comment)
{
    m_comment = comment;
}

void ExportDialog::browse()
{
    const QString ext = extensionFor(container());
    const QString filter = tr("%1 files (*.%2)").arg(ext.toUpper(), ext);
    const QFileInfo current(path());
    const QString start
        = current.dir().exists() ? path() : QDir(lastFolder()).filePath(suggestedFileName(m_title, container()));
    const QString chosen = QFileDialog::getSaveFileName(this, tr("Export clip"), start, filter);
    if (!chosen.isEmpty()) {
        m_path->setText(withExtension(chosen, ext));
    }
}

void ExportDialog::accept()
{
    const QString target = path();
    QString problem;
    if (target.isEmpty()) {
        problem = tr("Choose a file to export to.");
    } else if (QFileInfo(target).fileName().isEmpty() || QFileInfo(target).isDir()) {
        problem = tr("%1 is a folder; add a file name.").arg(target);
    } else if (!QFileInfo(QFileInfo(target).absolutePath()).isDir()) {
        problem = tr("The folder %1 does not exist.").arg(QFileInfo(target).absolutePath());
    }
    if (!problem.isEmpty()) {
        m_problem->setText(problem);
        m_problem->show();
        return;
    }
    // The extension always matches the format (the writer picks the container from it too).
    m_path->setText(withExtension(target, extensionFor(container())));
    QSettings settings;
    settings.setValue(kLastFolderKey, QFileInfo(path()).absolutePath());
    settings.setValue(kLastFormatKey, m_container->currentIndex());
    QDialog::accept();
}

} // namespace tmk::ui
