// forEachOnWorkers (training/worker_pool.h): every job runs exactly once, libtorch's thread count is 1 inside and
// restored after, and a job's exception reaches the caller after the workers have stopped.
#include <atomic>
#include <gtest/gtest.h>
#include <stdexcept>
#include <vector>

#include <ATen/Parallel.h>

#include "training/worker_pool.h"

namespace tmk {

TEST(WorkerPool, EveryJobRunsOnceWithOneIntraOpThread)
{
    const int before = at::get_num_threads();
    for (int workers : { 1, 3 }) {
        std::vector<std::atomic<int>> runs(37);
        std::atomic<int> wrongThreads { 0 };
        forEachOnWorkers(37, workers, [&](int64_t i) {
            ++runs[static_cast<size_t>(i)];
            if (at::get_num_threads() != 1) ++wrongThreads;
        });
        for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << "job " << i << ", " << workers;
        EXPECT_EQ(wrongThreads.load(), 0);
        EXPECT_EQ(at::get_num_threads(), before);
    }
    forEachOnWorkers(0, 2, [](int64_t) { FAIL() << "no jobs, no calls"; });
}

TEST(WorkerPool, AJobsExceptionReachesTheCaller)
{
    const int before = at::get_num_threads();
    for (int workers : { 1, 2 }) {
        std::atomic<int> started { 0 };
        EXPECT_THROW(forEachOnWorkers(1000, workers,
                         [&](int64_t i) {
                             ++started;
                             if (i == 3) throw std::runtime_error("job 3 failed");
                         }),
            std::runtime_error);
        // One worker takes the jobs in order and none after the failure; with more, how many others ran depends on
        // the scheduler, so only the rethrow and the restored thread count are checked.
        if (workers == 1) EXPECT_EQ(started.load(), 4);
        EXPECT_EQ(at::get_num_threads(), before);
    }
}

} // namespace tmk
