// Threads for a decoding step's weight products (torch-free). A step makes about 150 of them, back to back, with
// small libtorch ops in between. libtorch's OpenMP regions wake sleeping workers through a futex under the passive
// wait (tastemaker/process.h), which on a 2-core VM cost more than the second thread gained. The pool's workers
// spin for a short while after each product before they sleep, so within a step they are awake; and the work is
// taken in chunks from a shared counter, so the calling thread never waits for a worker that has not started
// (on a loaded machine it does every chunk itself). Which thread computes a chunk does not change its bits.
#pragma once

#include <cstdint>
#include <functional>

namespace tmk::steppool {

// Runs fn(first, last) over [0, total) in chunks of `grain`, on the calling thread and up to threads - 1 workers;
// returns when every chunk is done. One run at a time: a second caller runs its chunks on its own thread.
void run(int threads, int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// The threads this thread's decoding-step products use (0: the products use libtorch's parallel_for instead).
int stepThreads();

// Sets stepThreads() for a scope on this thread.
class ScopedStepThreads {
public:
    explicit ScopedStepThreads(int threads);
    ~ScopedStepThreads();
    ScopedStepThreads(const ScopedStepThreads&) = delete;
    ScopedStepThreads& operator=(const ScopedStepThreads&) = delete;

private:
    int m_previous;
};

} // namespace tmk::steppool
