// Drives a MainWindow from a small script of UI actions: the app's `--script FILE` option, used by the
// Xvfb test and for documentation screenshots. Actions are delivered as ordinary Qt input events (key
// presses, mouse presses, moves and releases) to the named widgets, so they go through the same handlers
// as a user's input.
//
// One command per line; blank lines and lines starting with '#' are ignored:
//   wait-model [SECONDS]           until a model is loaded and no job is running (default timeout 60 s)
//   wait-bank [SECONDS]            until an adapter bank is loaded
//   wait-idle [SECONDS]            until no job is running
//   wait-progress [SECONDS]        until a generation reported progress since the last click
//   wait-generated N [SECONDS]     until N generations have finished since the start
//   resize W H                     the window's size (logical pixels)
//   type NAME TEXT...              focuses NAME, selects all and types TEXT (key events, one per character)
//   key NAME KEY [COUNT]           presses KEY (Left, Right, Up, Down, PageUp, PageDown, Home, End,
//                                  Return, Enter, Space, Delete, Tab, Escape) COUNT times on NAME
//   click NAME                     a left click in the middle of NAME
//   drag-slider ID VALUE           drags metric ID's slider handle from where it is to VALUE with the mouse
//   sleep MILLISECONDS
//   screenshot PATH                saves the window as PNG (from the screen; a rendering on offscreen)
//   quit [CODE]                    exits the application with CODE (default 0)
// NAME is a widget's objectName, or "slider:ID" for a metric's slider. Each command is echoed on stdout
// ("script: ..."); a screenshot prints "script: screenshot PATH WIDTHxHEIGHT". An error (unknown command or
// widget, a timeout) prints "script error: line N: ..." and exits with code 3.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>

#include "tastemaker/error.h"

class QWidget;

namespace tmk::ui {

class MainWindow;

class ScriptRunner : public QObject {
    Q_OBJECT

public:
    ScriptRunner(MainWindow& window, QStringList lines, QObject* parent = nullptr);
    static tmk::Expected<QStringList> readScript(const QString& path);

    void start(); // runs the commands from the event loop

Q_SIGNALS:
    void finished(int exitCode);

private:
    enum class Step { Next, Wait, Done };
    Step runCommand(const QStringList& words);
    bool waitCondition(const QStringList& words, bool& ok);
    void tick();
    void fail(const QString& message);
    QWidget* widget(const QString& name) const;
    bool typeText(QWidget* target, const QString& text);
    bool pressKey(QWidget* target, const QString& keyName, int count);
    bool click(QWidget* target);
    bool dragSlider(const QString& id, double value);
    bool screenshot(const QString& path);

    MainWindow& m_window;
    QStringList m_lines;
    int m_line = 0;
    QTimer m_timer;
    QElapsedTimer m_waitClock;
    bool m_waiting = false;
    int m_generationsFinished = 0;
    int m_progressSinceClick = 0;
};

} // namespace tmk::ui
