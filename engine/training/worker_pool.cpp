#include "training/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

namespace tmk {

void forEachOnWorkers(int64_t count, int workers, const std::function<void(int64_t)>& work)
{
    if (count <= 0) return;
    const int threads = static_cast<int>(std::clamp<int64_t>(workers, 1, count));
    std::atomic<int64_t> next { 0 };
    std::atomic<bool> stop { false };
    std::mutex mutex; // guards `failure`
    std::exception_ptr failure;
    auto loop = [&] {
        c10::InferenceMode guard;
        for (int64_t i = next++; i < count && !stop; i = next++) {
            try {
                work(i);
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!failure) failure = std::current_exception();
                stop = true;
            }
        }
    };
    {
        const ScopedIntraOpThreads oneEach(1);
        std::vector<std::thread> pool;
        for (int t = 1; t < threads; ++t) pool.emplace_back(loop);
        loop();
        for (std::thread& thread : pool) thread.join();
    }
    if (failure) std::rethrow_exception(failure);
}

ScopedIntraOpThreads::ScopedIntraOpThreads(int threads)
    : m_previous(at::get_num_threads())
{
    if (threads != m_previous) at::set_num_threads(threads);
}

ScopedIntraOpThreads::~ScopedIntraOpThreads()
{
    if (at::get_num_threads() != m_previous) at::set_num_threads(m_previous);
}

} // namespace tmk
