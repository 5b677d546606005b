// A cancellation token shared between the thread that asks and the job that polls it at every step.
#pragma once

#include <atomic>
#include <memory>

namespace tmk {

class CancelToken {
public:
    void requestCancel() { m_cancelled.store(true, std::memory_order_relaxed); }
    bool isCancelled() const { return m_cancelled.load(std::memory_order_relaxed); }
    void reset() { m_cancelled.store(false, std::memory_order_relaxed); }

private:
    std::atomic<bool> m_cancelled { false };
};

using CancelTokenPtr = std::shared_ptr<CancelToken>;

} // namespace tmk
