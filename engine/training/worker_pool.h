// Many small independent libtorch jobs on a few threads, each with one intra-op thread: the codec's encoder is a
// chain of small products (its LSTM runs a step at a time) that intra-op threads barely speed up, while songs are
// independent. Used by `tokenize` (training/tokenize.cpp) and train-lm's tokenizer (lmtrain/lm_data.cpp).
#pragma once

#include <cstdint>
#include <functional>

namespace tmk {

// Runs work(i) for every i in [0, count), each exactly once, on up to `workers` threads (the caller's among them),
// under inference mode and with libtorch's intra-op thread count set to 1; the count is restored afterwards. The
// first exception a job throws is rethrown on the caller's thread once every worker has stopped (the others take
// no new jobs after it).
void forEachOnWorkers(int64_t count, int workers, const std::function<void(int64_t)>& work);

// Sets libtorch's intra-op thread count on this thread for a scope, and restores it.
class ScopedIntraOpThreads {
public:
    explicit ScopedIntraOpThreads(int threads);
    ~ScopedIntraOpThreads();
    ScopedIntraOpThreads(const ScopedIntraOpThreads&) = delete;
    ScopedIntraOpThreads& operator=(const ScopedIntraOpThreads&) = delete;

private:
    int m_previous;
};

} // namespace tmk
