// The decoding step's thread pool (lm/step_pool.h): every index of a run is visited exactly once, on any thread
// count, and two callers at once both finish (the second runs its chunks itself).
#include <atomic>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

#include "lm/step_pool.h"

namespace tmk {
namespace {

void expectEveryIndexOnce(int threads, int64_t total, int64_t grain)
{
    std::vector<std::atomic<int>> visits(static_cast<size_t>(std::max<int64_t>(total, 1)));
    std::atomic<bool> outOfRange { false };
    steppool::run(threads, total, grain, [&](int64_t first, int64_t last) {
        if (first < 0 || last > total || first >= last) outOfRange = true;
        for (int64_t i = first; i < last && i < total; ++i) visits[static_cast<size_t>(i)].fetch_add(1);
    });
    EXPECT_FALSE(outOfRange);
    for (int64_t i = 0; i < total; ++i)
        ASSERT_EQ(visits[static_cast<size_t>(i)].load(), 1)
            << "index " << i << " of " << total << ", grain " << grain << ", threads " << threads;
}

TEST(StepPool, VisitsEveryIndexExactlyOnce)
{
    for (int threads : { 1, 2, 3, 8 })
        for (int64_t total : { 0, 1, 63, 64, 65, 1000, 100000 })
            for (int64_t grain : { 1, 64, 4096 }) expectEveryIndexOnce(threads, total, grain);
}

TEST(StepPool, BackToBackRunsReuseTheWorkers)
{
    for (int round = 0; round < 2000; ++round) expectEveryIndexOnce(2 + round % 3, 256 + round % 7, 16);
}

TEST(StepPool, TwoCallersAtOnceBothFinish)
{
    std::atomic<int> failures { 0 };
    const auto caller = [&] {
        for (int round = 0; round < 300; ++round) {
            std::atomic<int64_t> sum { 0 };
            steppool::run(3, 500, 8, [&](int64_t first, int64_t last) {
                for (int64_t i = first; i < last; ++i) sum += i;
            });
            if (sum.load() != 499 * 500 / 2) ++failures;
        }
    };
    std::thread other(caller);
    caller();
    other.join();
    EXPECT_EQ(failures.load(), 0);
}

TEST(StepPool, ScopedStepThreadsIsPerThreadAndRestored)
{
    EXPECT_EQ(steppool::stepThreads(), 0);
    {
        steppool::ScopedStepThreads outer(4);
        EXPECT_EQ(steppool::stepThreads(), 4);
        int seenElsewhere = -1;
        std::thread([&] { seenElsewhere = steppool::stepThreads(); }).join();
        EXPECT_EQ(seenElsewhere, 0);
        {
            steppool::ScopedStepThreads inner(1);
            EXPECT_EQ(steppool::stepThreads(), 1);
        }
        EXPECT_EQ(steppool::stepThreads(), 4);
    }
    EXPECT_EQ(steppool::stepThreads(), 0);
}

} // namespace
} // namespace tmk
