// EngineBridge: playback (the Player is thread-safe, so the GUI thread drives it directly) and the clip
// library (quick, atomic file work done synchronously in the GUI thread).
#include <cmath>

#include "engine_bridge.h"

namespace tmk::ui {

// ---- Playback ----

Expected<std::vector<float>> EngineBridge::clipAudio(const QString& clipId) const
{
    Expected<ClipEntry> entry = findClip(clipId);
    if (!entry) return entry.error();
    return readAudioMono(entry->audioPath, entry->record.sampleRate);
}

Expected<std::vector<float>> EngineBridge::audition(const QString& clipId)
{
    Expected<ClipEntry> entry = findClip(clipId);
    if (!entry) return entry.error();
    Expected<std::vector<float>> samples = readAudioMono(entry->audioPath, entry->record.sampleRate);
    if (!samples) return samples.error();
    m_playingClipId = clipId;
    ++m_auditionSerial; // a generation still running keeps generating, but no longer plays
    if (m_player) {
        TMK_TRY(m_player->load(*samples, entry->record.sampleRate));
        m_player->setLoop(m_loop ? LoopMode::Loop : LoopMode::Once);
        m_player->play();
    }
    return samples;
}

QString EngineBridge::audioDeviceName() const
{
    return m_player ? QString::fromStdString(m_player->deviceName()) : QString();
}

void EngineBridge::play()
{
    if (m_player) m_player->play();
}

void EngineBridge::pause()
{
    if (m_player) m_player->pause();
}

void EngineBridge::togglePlayPause()
{
    if (!m_player) return;
    if (m_player->state() == PlaybackState::Playing)
        m_player->pause();
    else
        m_player->play();
}

void EngineBridge::seek(double seconds)
{
    if (m_player) m_player->seek(seconds);
}

void EngineBridge::setLoop(bool loop)
{
    m_loop = loop;
    if (m_player) m_player->setLoop(loop ? LoopMode::Loop : LoopMode::Once);
}

PlaybackState EngineBridge::playbackState() const
{
    return m_player ? m_player->state() : PlaybackState::Stopped;
}

double EngineBridge::playheadSeconds() const
{
    return m_player ? m_player->positionSeconds() : 0.0;
}

void EngineBridge::pollPlayback()
{
    if (!m_player) return;
    const PlaybackState state = m_player->state();
    const double seconds = m_player->positionSeconds();
    if (state == m_lastState && std::abs(seconds - m_lastSeconds) < 1e-4) return;
    m_lastState = state;
    m_lastSeconds = seconds;
    Q_EMIT playbackChanged(state, seconds);
}

// ---- Clip library ----

Expected<ClipLibrary> EngineBridge::openLibrary() const
{
    return ClipLibrary::open(m_libraryDir.toStdString());
}

Expected<std::vector<ClipEntry>> EngineBridge::listClips()
{
    Expected<ClipLibrary> library = openLibrary();
    if (!library) return library.error();
    return library->list();
}

Expected<ClipEntry> EngineBridge::findClip(const QString& id) const
{
    Expected<ClipLibrary> library = openLibrary();
    if (!library) return library.error();
    return library->find(id.toStdString());
}

Expected<ClipEntry> EngineBridge::renameClip(const QString& id, const QString& title)
{
    Expected<ClipLibrary> library = openLibrary();
    if (!library) return library.error();
    Expected<ClipEntry> renamed = library->rename(id.toStdString(), title.toStdString());
    if (renamed) Q_EMIT libraryChanged();
    return renamed;
}

Expected<void> EngineBridge::removeClip(const QString& id)
{
    Expected<ClipLibrary> library = openLibrary();
    if (!library) return library.error();
    if (id == m_playingClipId && m_player) {
        m_player->stop();
        m_playingClipId.clear();
    }
    TMK_TRY(library->remove(id.toStdString()));
    Q_EMIT libraryChanged();
    return {};
}

Expected<ClipEntry> EngineBridge::restoreClip(const QString& id)
{
    Expected<ClipLibrary> library = openLibrary();
    if (!library) return library.error();
    Expected<ClipEntry> restored = library->restore(id.toStdString());
    if (restored) Q_EMIT libraryChanged();
    return restored;
}

Expected<void> EngineBridge::exportClip(const QString& id, const QString& path, AudioWriteOptions options) const
{
    Expected<ClipEntry> entry = findClip(id);
    if (!entry) return entry.error();
    Expected<AudioBuffer> audio = readAudioFile(entry->audioPath);
    if (!audio) return audio.error();
    if (options.comment.empty()) options.comment = clipComment(entry->record);
    return writeAudioFile(path.toStdString(), audio->samples, audio->channels, audio->sampleRate, options);
}

} // namespace tmk::ui
