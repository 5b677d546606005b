#include "script_runner.h"

#include <cstdio>

#include <QAbstractSpinBox>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>
#include <QKeyEvent>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPixmap>
#include <QScreen>
#include <QTextStream>
#include <QWindow>

#include "clip_panel.h"
#include "engine_bridge.h"
#include "mainwindow.h"
#include "widgets/bipolar_slider.h"
#include "widgets/slider_panel.h"

namespace tmk::ui {

namespace {

constexpr int kTickMs = 20;
constexpr double kDefaultTimeoutSeconds = 60.0;

void say(const QString& text)
{
    std::fprintf(stdout, "script: %s\n", qPrintable(text));
    std::fflush(stdout);
}

int keyCode(const QString& name)
{
    static const QMap<QString, int> keys = {
        { "left", Qt::Key_Left },
        { "right", Qt::Key_Right },
        { "up", Qt::Key_Up },
        { "down", Qt::Key_Down },
        { "pageup", Qt::Key_PageUp },
        { "pagedown", Qt::Key_PageDown },
        { "home", Qt::Key_Home },
        { "end", Qt::Key_End },
        { "return", Qt::Key_Return },
        { "enter", Qt::Key_Enter },
        { "space", Qt::Key_Space },
        { "delete", Qt::Key_Delete },
        { "tab", Qt::Key_Tab },
        { "escape", Qt::Key_Escape },
    };
    return keys.value(name.toLower(), 0);
}

void sendKey(QWidget* target, int key, Qt::KeyboardModifiers modifiers, const QString& text)
{
    QKeyEvent press(QEvent::KeyPress, key, modifiers, text);
    QApplication::sendEvent(target, &press);
    QKeyEvent release(QEvent::KeyRelease, key, modifiers, text);
    QApplication::sendEvent(target, &release);
}

void sendMouse(QWidget* target, QEvent::Type type, QPointF local, Qt::MouseButton button, Qt::MouseButtons buttons)
{
    QMouseEvent event(type, local, target->mapToGlobal(local), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(target, &event);
}

} // namespace

ScriptRunner::ScriptRunner(MainWindow& window, QStringList lines, QObject* parent)
    : QObject(parent)
    , m_window(window)
    , m_lines(std::move(lines))
{
    m_timer.setInterval(kTickMs);
    connect(&m_timer, &QTimer::timeout, this, &ScriptRunner::tick);
    connect(&window.bridge(), &EngineBridge::generationFinished, this, [this]() { ++m_generationsFinished; });
    connect(&window.bridge(), &EngineBridge::generationProgress, this, [this]() { ++m_progressSinceClick; });
}

Expected<QStringList> ScriptRunner::readScript(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return Error::inFile(
            ErrorCode::NotFound, path.toStdString(), "cannot be read: " + file.errorString().toStdString());
    QStringList lines;
    QTextStream stream(&file);
    while (!stream.atEnd()) lines << stream.readLine();
    return lines;
}

void ScriptRunner::start()
{
    m_timer.start();
}

void ScriptRunner::fail(const QString& message)
{
    m_timer.stop();
    std::fprintf(stdout, "script error: line %d: %s\n", m_line + 1, qPrintable(message));
    std::fflush(stdout);
    Q_EMIT finished(3);
}

void ScriptRunner::tick()
{
    while (m_line < m_lines.size()) {
        const QString line = m_lines[m_line].trimmed();
        if (line.isEmpty() || line.startsWith('#')) {
            ++m_line;
            continue;
        }
        const QStringList words = line.split(' ', Qt::SkipEmptyParts);
        if (!m_waiting) say(line);
        const Step step = runCommand(words);
        if (step == Step::Done) return;
        if (step == Step::Wait) return; // polled again at the next tick
        ++m_line;
        if (words[0] == "sleep" || words[0] == "click" || words[0] == "drag-slider") return; // let events settle
    }
    m_timer.stop();
    Q_EMIT finished(0);
}

ScriptRunner::Step ScriptRunner::runCommand(const QStringList& words)
{
    const QString& command = words[0];
    if (command.startsWith("wait-") || command == "sleep") {
        bool ok = true;
        if (!m_waiting) {
            m_waiting = true;
            m_waitClock.start();
        }
        if (waitCondition(words, ok)) {
            m_waiting = false;
            return Step::Next;
        }
        if (!ok) return Step::Done;
        return Step::Wait;
    }
    bool ok = false;
    if (command == "resize" && words.size() == 3) {
        m_window.resize(words[1].toInt(), words[2].toInt());
        ok = true;
    } else if (command == "type" && words.size() >= 2) {
        ok = typeText(widget(words[1]), QStringList(words.mid(2)).join(' '));
    } else if (command == "key" && words.size() >= 3) {
        ok = pressKey(widget(words[1]), words[2], words.size() > 3 ? words[3].toInt() : 1);
    } else if (command == "click" && words.size() == 2) {
        m_progressSinceClick = 0;
        ok = click(widget(words[1]));
    } else if (command == "drag-slider" && words.size() == 3) {
        ok = dragSlider(words[1], words[2].toDouble());
    } else if (command == "screenshot" && words.size() == 2) {
        ok = screenshot(words[1]);
    } else if (command == "quit") {
        m_timer.stop();
        Q_EMIT finished(words.size() > 1 ? words[1].toInt() : 0);
        return Step::Done;
    } else {
        fail(QStringLiteral("unknown command or wrong arguments: %1").arg(words.join(' ')));
        return Step::Done;
    }
    if (!ok) {
        fail(QStringLiteral("could not run: %1").arg(words.join(' ')));
        return Step::Done;
    }
    return Step::Next;
}

bool ScriptRunner::waitCondition(const QStringList& words, bool& ok)
{
    const QString& command = words[0];
    EngineBridge& bridge = m_window.bridge();
    if (command == "sleep") return m_waitClock.elapsed() >= (words.size() > 1 ? words[1].toInt() : 0);
    const int timeoutIndex = command == "wait-generated" ? 2 : 1;
    const double timeout = words.size() > timeoutIndex ? words[timeoutIndex].toDouble() : kDefaultTimeoutSeconds;
    bool done = false;
    if (command == "wait-model")
        done = bridge.hasModel() && !bridge.busy();
    else if (command == "wait-bank")
        done = bridge.bank() != nullptr;
    else if (command == "wait-idle")
        done = !bridge.busy();
    else if (command == "wait-progress")
        done = m_progressSinceClick > 0;
    else if (command == "wait-generated")
        done = m_generationsFinished >= (words.size() > 1 ? words[1].toInt() : 1);
    else {
        fail(QStringLiteral("unknown command %1").arg(command));
        ok = false;
        return false;
    }
    if (!done && m_waitClock.elapsed() > timeout * 1000.0) {
        m_waiting = false;
        fail(QStringLiteral("%1 timed out after %2 s").arg(command).arg(timeout));
        ok = false;
    }
    return done;
}

QWidget* ScriptRunner::widget(const QString& name) const
{
    if (name.startsWith("slider:")) return m_window.sliderPanel()->slider(name.mid(7));
    if (name == m_window.objectName()) return &m_window;
    return m_window.findChild<QWidget*>(name);
}

bool ScriptRunner::typeText(QWidget* target, const QString& text)
{
    if (!target) return false;
    if (auto* combo = qobject_cast<QComboBox*>(target); combo && combo->lineEdit()) target = combo->lineEdit();
    if (auto* spin = qobject_cast<QAbstractSpinBox*>(target)) target = spin->findChild<QLineEdit*>();
    if (!target) return false;
    target->setFocus(Qt::OtherFocusReason);
    sendKey(target, Qt::Key_A, Qt::ControlModifier, {}); // select all, so the text replaces it
    sendKey(target, Qt::Key_Delete, Qt::NoModifier, {});
    for (const QChar c : text) {
        const int key = c == ' ' ? int(Qt::Key_Space)
                                 : (c.isLetterOrNumber() ? int(c.toUpper().unicode()) : int(Qt::Key_unknown));
        sendKey(target, key, Qt::NoModifier, QString(c));
    }
    return true;
}

bool ScriptRunner::pressKey(QWidget* target, const QString& keyName, int count)
{
    const int key = keyCode(keyName);
    if (!target || key == 0) return false;
    target->setFocus(Qt::OtherFocusReason);
    for (int i = 0; i < count; ++i)
        sendKey(target, key, Qt::NoModifier, key == Qt::Key_Space ? QStringLiteral(" ") : QString());
    return true;
}

bool ScriptRunner::click(QWidget* target)
{
    if (!target || !target->isVisible() || !target->isEnabled()) return false;
    const QPointF centre = QRectF(target->rect()).center();
    sendMouse(target, QEvent::MouseButtonPress, centre, Qt::LeftButton, Qt::LeftButton);
    sendMouse(target, QEvent::MouseButtonRelease, centre, Qt::LeftButton, Qt::NoButton);
    return true;
}

bool ScriptRunner::dragSlider(const QString& id, double value)
{
    BipolarSlider* slider = m_window.sliderPanel()->slider(id);
    if (!slider || !slider->isEnabled()) return false;
    const double y = slider->trackRect().center().y();
    const double from = slider->xForValue(slider->value());
    const double to = slider->xForValue(value);
    sendMouse(slider, QEvent::MouseButtonPress, QPointF(from, y), Qt::LeftButton, Qt::LeftButton);
    constexpr int kSteps = 8;
    for (int i = 1; i <= kSteps; ++i)
        sendMouse(slider, QEvent::MouseMove, QPointF(from + (to - from) * i / kSteps, y), Qt::NoButton, Qt::LeftButton);
    sendMouse(slider, QEvent::MouseButtonRelease, QPointF(to, y), Qt::LeftButton, Qt::NoButton);
    return true;
}

bool ScriptRunner::screenshot(const QString& path)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QPixmap pixmap;
    QScreen* screen = m_window.screen();
    if (QGuiApplication::platformName() != "offscreen" && screen) pixmap = screen->grabWindow(m_window.winId());
    if (pixmap.isNull()) pixmap = m_window.grab(); // offscreen: a rendering of the window
    if (pixmap.isNull() || !pixmap.save(path, "PNG")) return false;
    say(QStringLiteral("screenshot %1 %2x%3").arg(path).arg(pixmap.width()).arg(pixmap.height()));
    return true;
}

} // namespace tmk::ui
