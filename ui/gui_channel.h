// GuiChannel: the way from a job on a worker thread back to an object in the GUI thread. post() queues a call
// on the target (a queued invocation, the "trampoline"); close(), from the target's destructor, makes every later
// post() a no-op, so a job that outlives the object posts nothing (calls still pending are dropped by ~QObject).
// Jobs hold it by shared_ptr.
#pragma once

#include <functional>
#include <mutex>

#include <QMetaObject>
#include <QObject>

namespace tmk::ui {

class GuiChannel {
public:
    explicit GuiChannel(QObject* target)
        : m_target(target)
    {
    }

    void post(std::function<void()> fn)
    {
        std::lock_guard lock(m_mutex);
        if (m_target) QMetaObject::invokeMethod(m_target, std::move(fn), Qt::QueuedConnection);
    }
    void close()
    {
        std::lock_guard lock(m_mutex);
        m_target = nullptr;
    }

private:
    std::mutex m_mutex;
    QObject* m_target = nullptr;
};

} // namespace tmk::ui
