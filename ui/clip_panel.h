// The right side of the main window: the clip library (newest first), the selected clip's waveform with
// a moving playhead (click seeks), and the clip's actions: play/pause, loop, rename, export, restore
// settings and delete (undoable through the window's QUndoStack). While a generation runs the waveform
// shows its audio as it streams in.
#pragma once

#include <vector>

#include <QString>
#include <QWidget>

#include "tastemaker/clip_library.h"
#include "tastemaker/player.h"

class QLabel;
class QPushButton;
class QToolButton;
class QUndoStack;

namespace tmk::ui {

class ClipListView;
class EngineBridge;
class WaveformView;

class ClipPanel : public QWidget {
    Q_OBJECT

public:
    ClipPanel(EngineBridge& bridge, QUndoStack& undoStack, QWidget* parent = nullptr);
    ~ClipPanel() override;

    ClipListView* list() const { return m_list; }
    WaveformView* waveform() const { return m_waveform; }

    // Re-reads the library (keeps the current clip when it is still there).
    void refresh();
    QString currentClipId() const;
    bool selectClip(const QString& id); // makes it current and shows its waveform (no playback)
    int clipCount() const;

    void audition(const QString& id); // selects and plays it
    void deleteClip(const QString& id); // undoable
    void renameClip(const QString& id, const QString& title); // undoable
    void exportClip(const QString& id); // the export dialog, then the export
    void startRename(); // edits the current clip's title in place

    // A generation started / ended: the waveform follows the streamed audio.
    void beginGeneration(int sampleRate, double expectedSeconds);
    void appendGenerationAudio(const std::vector<float>& samples, int sampleRate);
    void endGeneration(const QString& newClipId); // empty: cancelled or failed

Q_SIGNALS:
    void restoreSettingsRequested(const tmk::ClipEntry& clip);
    // A line for the status bar; undoable: the window offers an Undo button next to it.
    void statusMessage(const QString& text, bool undoable);
    void errorOccurred(const QString& title, const QString& message);

private:
    QWidget* buildTransport();
    void showClipAudio(const QString& id);
    void onPlaybackChanged(tmk::PlaybackState state, double seconds);
    void onSeekRequested(double seconds);
    void updateActions();

    EngineBridge& m_bridge;
    QUndoStack& m_undo;
    ClipListView* m_list = nullptr;
    WaveformView* m_waveform = nullptr;
    QString m_waveformClipId; // the clip the waveform shows; empty while streaming or none
    bool m_streaming = false;
    QToolButton* m_play = nullptr;
    QToolButton* m_loop = nullptr;
    QLabel* m_time = nullptr;
    QPushButton* m_rename = nullptr;
    QPushButton* m_export = nullptr;
    QPushButton* m_restore = nullptr;
    QPushButton* m_delete = nullptr;
};

} // namespace tmk::ui
