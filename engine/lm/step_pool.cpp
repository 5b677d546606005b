#include "lm/step_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <immintrin.h>
#include <mutex>
#include <thread>
#include <vector>

namespace tmk::steppool {

namespace {

// The job word: generation (24 bits) | next chunk (20) | chunk count (20). A chunk is claimed by a compare-exchange
// of the whole word, so a claim can only succeed for the job that is posted, and the job's fields stay fixed until
// every claimed chunk is counted done.
constexpr int kCountBits = 20;
constexpr uint64_t kCountMask = (uint64_t { 1 } << kCountBits) - 1;
constexpr int64_t kMaxChunks = static_cast<int64_t>(kCountMask);

uint64_t pack(uint64_t generation, uint64_t next, uint64_t chunks)
{
    return (generation << (2 * kCountBits)) | (next << kCountBits) | chunks;
}
uint64_t generationOf(uint64_t word)
{
    return word >> (2 * kCountBits);
}
uint64_t nextOf(uint64_t word)
{
    return (word >> kCountBits) & kCountMask;
}
uint64_t chunksOf(uint64_t word)
{
    return word & kCountMask;
}

// How long a worker spins for the next product before it sleeps: a step's products follow each other within tens
// of microseconds; between steps (sampling, the next token) and between generations the workers sleep.
constexpr auto kSpin = std::chrono::microseconds(200);

class Pool {
public:
    void run(int threads, int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& fn)
    {
        grain = std::max<int64_t>({ grain, 1, (total + kMaxChunks - 1) / kMaxChunks });
        const int64_t chunks = (total + grain - 1) / grain;
        std::unique_lock lock(m_runMutex, std::try_to_lock);
        if (threads <= 1 || chunks <= 1 || !lock.owns_lock()) {
            fn(0, total);
            return;
        }
        const int workers = std::min<int>(threads - 1, static_cast<int>(chunks) - 1);
        while (static_cast<int>(m_threads.size()) < workers) {
            const int index = static_cast<int>(m_threads.size());
            m_threads.emplace_back([this, index] { work(index); });
        }
        m_fn = &fn;
        m_total = total;
        m_grain = grain;
        m_allowed.store(workers, std::memory_order_relaxed);
        m_done.store(0, std::memory_order_relaxed);
        const uint64_t generation = generationOf(m_state.load(std::memory_order_relaxed)) + 1;
        m_state.store(pack(generation & ((uint64_t { 1 } << 24) - 1), 0, static_cast<uint64_t>(chunks)),
            std::memory_order_release);
        // Sequentially consistent, with the worker's sleepers increment and its wait's load: either this sees the
        // sleeper and wakes it, or the sleeper's wait sees the new epoch and does not sleep.
        m_epoch.fetch_add(1);
        if (m_sleepers.load() > 0) m_epoch.notify_all();
        claimAndRun();
        for (int spins = 0; m_done.load(std::memory_order_acquire) < chunks; ++spins) {
            if (spins < 4096)
                _mm_pause();
            else
                std::this_thread::yield(); // a worker was descheduled in the middle of its chunk
        }
    }

private:
    // Claims chunks of the posted job until none is left.
    void claimAndRun()
    {
        uint64_t word = m_state.load(std::memory_order_acquire);
        while (nextOf(word) < chunksOf(word)) {
            if (!m_state.compare_exchange_weak(word, word + (uint64_t { 1 } << kCountBits), std::memory_order_acq_rel))
                continue; // word was reloaded
            const int64_t first = static_cast<int64_t>(nextOf(word)) * m_grain;
            (*m_fn)(first, std::min(m_total, first + m_grain));
            m_done.fetch_add(1, std::memory_order_release);
            word = m_state.load(std::memory_order_acquire);
        }
    }

    void work(int index)
    {
        uint32_t seen = m_epoch.load(std::memory_order_acquire);
        auto idleSince = std::chrono::steady_clock::now();
        for (int spins = 0;; ++spins) {
            const uint32_t epoch = m_epoch.load(std::memory_order_acquire);
            if (epoch != seen) {
                seen = epoch;
                if (index < m_allowed.load(std::memory_order_relaxed)) claimAndRun();
                idleSince = std::chrono::steady_clock::now();
                spins = 0;
                continue;
            }
            if ((spins & 63) != 63 || std::chrono::steady_clock::now() - idleSince < kSpin) {
                _mm_pause();
                continue;
            }
            m_sleepers.fetch_add(1);
            m_epoch.wait(seen); // returns at once if a job was posted meanwhile
            m_sleepers.fetch_sub(1);
        }
    }

    std::mutex m_runMutex; // one run at a time
    std::vector<std::thread> m_threads; // never joined: the pool lives as long as the process
    const std::function<void(int64_t, int64_t)>* m_fn = nullptr;
    int64_t m_total = 0, m_grain = 1;
    std::atomic<uint64_t> m_state { 0 };
    std::atomic<int64_t> m_done { 0 };
    std::atomic<int> m_allowed { 0 };
    std::atomic<uint32_t> m_epoch { 0 };
    std::atomic<int> m_sleepers { 0 };
};

Pool& pool()
{
    static Pool* instance = new Pool; // never destroyed: its workers sleep until the process ends
    return *instance;
}

thread_local int t_stepThreads = 0;

} // namespace

void run(int threads, int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& fn)
{
    if (total <= 0) return;
    pool().run(threads, total, grain, fn);
}

int stepThreads()
{
    return t_stepThreads;
}

ScopedStepThreads::ScopedStepThreads(int threads)
    : m_previous(t_stepThreads)
{
    t_stepThreads = threads;
}

ScopedStepThreads::~ScopedStepThreads()
{
    t_stepThreads = m_previous;
}

} // namespace tmk::steppool
