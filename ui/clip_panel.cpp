#include "clip_panel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QToolButton>
#include <QUndoCommand>
#include <QUndoStack>
#include <QVBoxLayout>

#include "engine_bridge.h"
#include "widgets/clip_list.h"
#include "widgets/export_dialog.h"
#include "widgets/qt_text.h"
#include "widgets/waveform_view.h"

namespace tmk::ui {

namespace {

QString clock(double seconds)
{
    const int total = static_cast<int>(std::max(0.0, seconds));
    return QStringLiteral("%1:%2").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}

// Delete: the clip's files move into the library's trash; undo moves them back.
class DeleteClipCommand : public QUndoCommand {
public:
    DeleteClipCommand(EngineBridge& bridge, ClipPanel& panel, QString id, const QString& title)
        : QUndoCommand(QObject::tr("Delete “%1”").arg(title))
        , m_bridge(bridge)
        , m_panel(panel)
        , m_id(std::move(id))
    {
    }
    void redo() override
    {
        if (Expected<void> removed = m_bridge.removeClip(m_id); !removed) {
            setObsolete(true);
            Q_EMIT m_panel.errorOccurred(QObject::tr("Could not delete the clip"), qs(removed.error().message));
        }
    }
    void undo() override
    {
        if (Expected<ClipEntry> restored = m_bridge.restoreClip(m_id); !restored)
            Q_EMIT m_panel.errorOccurred(QObject::tr("Could not restore the clip"), qs(restored.error().message));
        else
            m_panel.selectClip(m_id);
    }

private:
    EngineBridge& m_bridge;
    ClipPanel& m_panel;
    QString m_id;
};

// Rename: the sidecar's title changes (the id and files keep their names).
class RenameClipCommand : public QUndoCommand {
public:
    RenameClipCommand(EngineBridge& bridge, ClipPanel& panel, QString id, QString oldTitle, QString newTitle)
        : QUndoCommand(QObject::tr("Rename “%1”").arg(oldTitle))
        , m_bridge(bridge)
        , m_panel(panel)
        , m_id(std::move(id))
        , m_old(std::move(oldTitle))
        , m_new(std::move(newTitle))
    {
    }
    void redo() override { apply(m_new, true); }
    void undo() override { apply(m_old, false); }

private:
    void apply(const QString& title, bool first)
    {
        if (Expected<ClipEntry> renamed = m_bridge.renameClip(m_id, title); !renamed) {
            if (first) setObsolete(true);
            m_panel.refresh(); // the list showed the new title already
            Q_EMIT m_panel.errorOccurred(QObject::tr("Could not rename the clip"), qs(renamed.error().message));
        }
    }
    EngineBridge& m_bridge;
    ClipPanel& m_panel;
    QString m_id, m_old, m_new;
};

} // namespace

ClipPanel::ClipPanel(EngineBridge& bridge, QUndoStack& undoStack, QWidget* parent)
    : QWidget(parent)
    , m_bridge(bridge)
    , m_undo(undoStack)
{
    setObjectName("clipPanel");
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(8);
    auto* title = new QLabel(tr("Clips"), this);
    title->setObjectName("sectionTitle");
    layout->addWidget(title);
    m_list = new ClipListView(this);
    m_list->setObjectName("clipList");
    layout->addWidget(m_list, 3);
    m_waveform = new WaveformView(this);
    m_waveform->setObjectName("waveform");
    layout->addWidget(m_waveform, 1);
    layout->addWidget(buildTransport());

    connect(m_list, &ClipListView::auditionRequested, this, &ClipPanel::audition);
    connect(m_list, &ClipListView::deleteRequested, this, &ClipPanel::deleteClip);
    connect(m_list, &ClipListView::exportRequested, this, &ClipPanel::exportClip);
    connect(m_list, &ClipListView::restoreSettingsRequested, this, [this](const QString& id) {
        if (const ClipEntry* clip = m_list->clipModel()->clip(id)) Q_EMIT restoreSettingsRequested(*clip);
    });
    connect(m_list, &ClipListView::currentClipChanged, this, [this](const QString& id) {
        if (!id.isEmpty() && id != m_waveformClipId) showClipAudio(id);
        updateActions();
    });
    connect(m_list->clipModel(), &ClipListModel::renameRequested, this, &ClipPanel::renameClip);
    connect(m_waveform, &WaveformView::seekRequested, this, &ClipPanel::onSeekRequested);
    connect(&m_bridge, &EngineBridge::playbackChanged, this, &ClipPanel::onPlaybackChanged);
    connect(&m_bridge, &EngineBridge::libraryChanged, this, &ClipPanel::refresh);
    refresh();
}

ClipPanel::~ClipPanel() = default;

QWidget* ClipPanel::buildTransport()
{
    auto* row = new QWidget(this);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(6);
    m_play = new QToolButton(row);
    m_play->setObjectName("playButton");
    m_play->setText(tr("Play"));
    m_play->setToolTip(tr("Play or pause the selected clip (Space in the list)"));
    connect(m_play, &QToolButton::clicked, this, [this]() {
        const QString id = currentClipId();
        if (id.isEmpty()) return;
        if (m_bridge.playingClipId() == id && m_bridge.playbackState() != PlaybackState::Finished)
            m_bridge.togglePlayPause();
        else
            audition(id);
    });
    m_loop = new QToolButton(row);
    m_loop->setObjectName("loopButton");
    m_loop->setText(tr("Loop"));
    m_loop->setCheckable(true);
    m_loop->setToolTip(tr("Play the clip in a loop"));
    connect(m_loop, &QToolButton::toggled, &m_bridge, &EngineBridge::setLoop);
    m_time = new QLabel(clock(0) + " / " + clock(0), row);
    m_time->setObjectName("timeLabel");
    m_rename = new QPushButton(tr("Rename"), row);
    m_rename->setObjectName("renameButton");
    connect(m_rename, &QPushButton::clicked, this, &ClipPanel::startRename);
    m_export = new QPushButton(tr("Export…"), row);
    m_export->setObjectName("exportButton");
    m_export->setToolTip(tr("Export the clip as WAV, FLAC or OGG (Ctrl+E)"));
    connect(m_export, &QPushButton::clicked, this, [this]() { exportClip(currentClipId()); });
    m_restore = new QPushButton(tr("Restore settings"), row);
    m_restore->setObjectName("restoreButton");
    m_restore->setToolTip(tr("Put this clip's prompt, sliders and seed back into the controls"));
    connect(m_restore, &QPushButton::clicked, this, [this]() {
        if (const ClipEntry* clip = m_list->clipModel()->clip(currentClipId())) Q_EMIT restoreSettingsRequested(*clip);
    });
    m_delete = new QPushButton(tr("Delete"), row);
    m_delete->setObjectName("deleteButton");
    m_delete->setToolTip(tr("Delete the clip (Delete in the list; Ctrl+Z undoes)"));
    connect(m_delete, &QPushButton::clicked, this, [this]() { deleteClip(currentClipId()); });
    layout->addWidget(m_play);
    layout->addWidget(m_loop);
    layout->addWidget(m_time);
    layout->addStretch(1);
    for (QPushButton* button : { m_rename, m_export, m_restore, m_delete }) layout->addWidget(button);
    updateActions();
    return row;
}

void ClipPanel::refresh()
{
    Expected<std::vector<ClipEntry>> clips = m_bridge.listClips();
    if (!clips) {
        Q_EMIT statusMessage(tr("The clip library cannot be read: %1").arg(qs(clips.error().message)), false);
        return;
    }
    const QString current = currentClipId();
    m_list->clipModel()->setClips(std::move(*clips));
    if (!current.isEmpty() && !m_list->selectClip(current) && current == m_waveformClipId) {
        m_waveform->clear();
        m_waveformClipId.clear();
    }
    updateActions();
}

QString ClipPanel::currentClipId() const
{
    return m_list->currentClipId();
}

int ClipPanel::clipCount() const
{
    return m_list->clipModel()->rowCount();
}

bool ClipPanel::selectClip(const QString& id)
{
    if (!m_list->selectClip(id)) return false;
    if (id != m_waveformClipId) showClipAudio(id);
    updateActions();
    return true;
}

void ClipPanel::showClipAudio(const QString& id)
{
    const ClipEntry* clip = m_list->clipModel()->clip(id);
    Expected<std::vector<float>> samples = m_bridge.clipAudio(id);
    if (!clip || !samples) {
        m_waveform->clear();
        m_waveformClipId.clear();
        if (!samples) Q_EMIT statusMessage(qs(samples.error().message), false);
        return;
    }
    m_streaming = false;
    m_waveformClipId = id;
    m_waveform->setAudio(std::move(*samples), clip->record.sampleRate);
    m_waveform->setPlayhead(m_bridge.playingClipId() == id ? m_bridge.playheadSeconds() : 0.0);
}

void ClipPanel::audition(const QString& id)
{
    if (id.isEmpty()) return;
    if (currentClipId() != id) m_list->selectClip(id);
    Expected<std::vector<float>> samples = m_bridge.audition(id);
    if (!samples) {
        Q_EMIT errorOccurred(tr("Could not play the clip"), qs(samples.error().message));
        return;
    }
    if (const ClipEntry* clip = m_list->clipModel()->clip(id)) {
        m_streaming = false;
        m_waveformClipId = id;
        m_waveform->setAudio(std::move(*samples), clip->record.sampleRate);
    }
    if (!m_bridge.hasAudioOutput())
        Q_EMIT statusMessage(tr("No audio output: %1").arg(m_bridge.audioOutputError()), false);
    updateActions();
}

void ClipPanel::deleteClip(const QString& id)
{
    const ClipEntry* clip = m_list->clipModel()->clip(id);
    if (!clip) return;
    const QString title = qs(clip->record.title);
    m_undo.push(new DeleteClipCommand(m_bridge, *this, id, title));
    if (!m_list->clipModel()->clip(id)) Q_EMIT statusMessage(tr("Deleted “%1”").arg(title), true);
}

void ClipPanel::renameClip(const QString& id, const QString& title)
{
    const ClipEntry* clip = m_list->clipModel()->clip(id);
    if (!clip || title.trimmed().isEmpty()) {
        refresh();
        return;
    }
    const QString oldTitle = qs(clip->record.title);
    if (oldTitle == title.trimmed()) return;
    m_undo.push(new RenameClipCommand(m_bridge, *this, id, oldTitle, title.trimmed()));
}

void ClipPanel::startRename()
{
    const int row = m_list->clipModel()->rowOf(currentClipId());
    if (row >= 0) m_list->edit(m_list->clipModel()->index(row));
}

void ClipPanel::exportClip(const QString& id)
{
    const ClipEntry* clip = m_list->clipModel()->clip(id);
    if (!clip) {
        Q_EMIT statusMessage(tr("Select a clip to export."), false);
        return;
    }
    const ClipEntry entry = *clip; // the list may change while the dialog is open
    ExportDialog dialog(qs(entry.record.title), this);
    dialog.setObjectName("exportDialog");
    dialog.setComment(qs(clipComment(entry.record)));
    if (dialog.exec() != QDialog::Accepted) return;
    const ExportChoice choice = dialog.choice();
    if (Expected<void> written = m_bridge.exportClip(qs(entry.id), choice.path, choice.options); !written) {
        Q_EMIT errorOccurred(tr("Could not export the clip"), qs(written.error().message));
        return;
    }
    Q_EMIT statusMessage(tr("Exported “%1” to %2").arg(qs(entry.record.title), choice.path), false);
}

// ---- Generation and playback ----

void ClipPanel::beginGeneration(int sampleRate, double expectedSeconds)
{
    m_streaming = true;
    m_waveformClipId.clear();
    m_waveform->setAudio({}, sampleRate);
    m_waveform->setExpectedDuration(expectedSeconds);
}

void ClipPanel::appendGenerationAudio(const std::vector<float>& samples, int sampleRate)
{
    if (!m_streaming) return;
    if (m_waveform->sampleRate() != sampleRate) m_waveform->setAudio({}, sampleRate);
    m_waveform->appendAudio(samples);
}

void ClipPanel::endGeneration(const QString& newClipId)
{
    const bool wasStreaming = m_streaming;
    m_streaming = false;
    m_waveform->setExpectedDuration(0);
    if (!newClipId.isEmpty()) {
        refresh();
        if (wasStreaming || currentClipId().isEmpty()) selectClip(newClipId);
    } else if (wasStreaming) {
        m_waveform->clear();
        if (!currentClipId().isEmpty()) showClipAudio(currentClipId());
    }
}

void ClipPanel::onPlaybackChanged(PlaybackState state, double seconds)
{
    const bool ours = m_streaming || (!m_waveformClipId.isEmpty() && m_bridge.playingClipId() == m_waveformClipId);
    if (ours) {
        m_waveform->setPlayhead(seconds);
        m_time->setText(clock(seconds) + " / " + clock(m_waveform->displayedSeconds()));
    }
    m_play->setText(ours && state == PlaybackState::Playing ? tr("Pause") : tr("Play"));
}

void ClipPanel::onSeekRequested(double seconds)
{
    if (m_streaming || (!m_waveformClipId.isEmpty() && m_bridge.playingClipId() == m_waveformClipId)) {
        m_bridge.seek(seconds);
        return;
    }
    if (m_waveformClipId.isEmpty()) return;
    audition(m_waveformClipId);
    m_bridge.seek(seconds);
}

void ClipPanel::updateActions()
{
    const bool has = !currentClipId().isEmpty();
    for (QWidget* widget : std::initializer_list<QWidget*> { m_play, m_rename, m_export, m_restore, m_delete })
        if (widget) widget->setEnabled(has);
    if (m_time && !has && !m_streaming) m_time->setText(clock(0) + " / " + clock(0));
}

} // namespace tmk::ui
