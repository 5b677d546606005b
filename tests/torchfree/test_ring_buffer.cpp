// SpscRingBuffer: edges (empty, full, wrap-around, capacity rounding) on one thread, then a producer
// and a consumer thread exchanging millions of samples in random chunk sizes, checking that every
// sample arrives once and in order.
#include <atomic>
#include <gtest/gtest.h>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "tastemaker/ring_buffer.h"

namespace tmk {
namespace {

std::vector<float> ramp(size_t count, float start)
{
    std::vector<float> values(count);
    std::iota(values.begin(), values.end(), start);
    return values;
}

TEST(RingBuffer, CapacityIsRoundedUpToAPowerOfTwo)
{
    EXPECT_EQ(SpscRingBuffer(0).capacity(), 2u);
    EXPECT_EQ(SpscRingBuffer(1).capacity(), 2u);
    EXPECT_EQ(SpscRingBuffer(8).capacity(), 8u);
    EXPECT_EQ(SpscRingBuffer(9).capacity(), 16u);
    EXPECT_EQ(SpscRingBuffer(48000).capacity(), 65536u);
}

TEST(RingBuffer, EmptyBufferPopsNothing)
{
    SpscRingBuffer ring(8);
    std::vector<float> out(4, -1.0f);
    EXPECT_EQ(ring.readAvailable(), 0u);
    EXPECT_EQ(ring.writeAvailable(), 8u);
    EXPECT_EQ(ring.pop(out), 0u);
    EXPECT_EQ(out[0], -1.0f); // untouched
    EXPECT_EQ(ring.discardAll(), 0u);
    EXPECT_EQ(ring.push({}), 0u);
}

TEST(RingBuffer, FullBufferAcceptsNoMore)
{
    SpscRingBuffer ring(8);
    const std::vector<float> in = ramp(11, 0.0f);
    EXPECT_EQ(ring.push(in), 8u); // only what fits
    EXPECT_EQ(ring.writeAvailable(), 0u);
    EXPECT_EQ(ring.readAvailable(), 8u);
    EXPECT_EQ(ring.push(in), 0u);
    std::vector<float> out(16, -1.0f);
    EXPECT_EQ(ring.pop(out), 8u);
    for (size_t i = 0; i < 8; ++i) EXPECT_EQ(out[i], static_cast<float>(i));
    EXPECT_EQ(out[8], -1.0f);
    EXPECT_EQ(ring.writeAvailable(), 8u);
}

TEST(RingBuffer, WrapsAroundTheEndOfStorage)
{
    SpscRingBuffer ring(8);
    std::vector<float> out(8);
    float next = 0.0f;
    float expected = 0.0f;
    // Chunks of 5 and 3 make every push and pop start at a different offset and most of them straddle
    // the end of the storage.
    for (int round = 0; round < 50; ++round) {
        const size_t pushCount = round % 2 == 0 ? 5 : 3;
        const std::vector<float> in = ramp(pushCount, next);
        ASSERT_EQ(ring.push(in), pushCount);
        next += static_cast<float>(pushCount);
        const size_t popCount = round % 3 == 0 ? 2 : ring.readAvailable();
        ASSERT_EQ(ring.pop(std::span<float>(out.data(), popCount)), popCount);
        for (size_t i = 0; i < popCount; ++i) ASSERT_EQ(out[i], expected++) << "round " << round;
    }
    const size_t left = ring.readAvailable();
    ASSERT_EQ(ring.pop(std::span<float>(out.data(), left)), left);
    for (size_t i = 0; i < left; ++i) EXPECT_EQ(out[i], expected++);
    EXPECT_EQ(expected, next);
}

TEST(RingBuffer, DiscardAllDropsWhatIsReadableAndKeepsOrderAfterwards)
{
    SpscRingBuffer ring(16);
    ASSERT_EQ(ring.push(ramp(10, 0.0f)), 10u);
    EXPECT_EQ(ring.discardAll(), 10u);
    EXPECT_EQ(ring.readAvailable(), 0u);
    EXPECT_EQ(ring.writeAvailable(), 16u);
    ASSERT_EQ(ring.push(ramp(12, 100.0f)), 12u); // wraps
    std::vector<float> out(12);
    ASSERT_EQ(ring.pop(out), 12u);
    for (size_t i = 0; i < 12; ++i) EXPECT_EQ(out[i], 100.0f + static_cast<float>(i));
}

// One producer and one consumer thread, random chunk sizes (including 0 and bigger than the
// capacity), over millions of samples. The values are sample indices modulo 2^24 so that they stay
// exact in a float.
void runProducerConsumer(size_t capacity, size_t total, size_t maxChunk, unsigned seed)
{
    SpscRingBuffer ring(capacity);
    constexpr uint32_t kModulus = 1u << 24;
    std::atomic<bool> failed { false };

    std::thread producer([&] {
        std::mt19937 rng(seed);
        std::uniform_int_distribution<size_t> chunkSize(0, maxChunk);
        std::vector<float> chunk(maxChunk);
        size_t sent = 0;
        while (sent < total && !failed.load(std::memory_order_relaxed)) {
            const size_t want = std::min(chunkSize(rng), total - sent);
            for (size_t i = 0; i < want; ++i) chunk[i] = static_cast<float>((sent + i) % kModulus);
            size_t done = 0;
            while (done < want && !failed.load(std::memory_order_relaxed)) {
                const size_t pushed = ring.push(std::span<const float>(chunk.data() + done, want - done));
                if (pushed == 0) std::this_thread::yield();
                done += pushed;
            }
            sent += want;
        }
    });

    std::mt19937 rng(seed + 1);
    std::uniform_int_distribution<size_t> chunkSize(0, maxChunk);
    std::vector<float> out(maxChunk);
    size_t received = 0;
    size_t mismatches = 0;
    while (received < total && mismatches == 0) {
        const size_t got = ring.pop(std::span<float>(out.data(), chunkSize(rng)));
        if (got == 0) std::this_thread::yield();
        for (size_t i = 0; i < got; ++i) {
            if (out[i] != static_cast<float>((received + i) % kModulus)) {
                ADD_FAILURE() << "sample " << received + i << " is " << out[i];
                ++mismatches;
                break;
            }
        }
        received += got;
    }
    failed.store(mismatches != 0);
    producer.join();
    EXPECT_EQ(mismatches, 0u);
    EXPECT_EQ(received, total);
    EXPECT_EQ(ring.readAvailable(), 0u) << "the consumer saw more samples than were sent";
}

TEST(RingBuffer, ProducerAndConsumerThreadsSmallBuffer)
{
    // A tiny buffer forces constant full and empty states and wrap-arounds.
    runProducerConsumer(16, 1'000'000, 40, 1);
}

TEST(RingBuffer, ProducerAndConsumerThreadsAudioSizedBuffer)
{
    runProducerConsumer(4096, 8'000'000, 3000, 2);
}

TEST(RingBuffer, ProducerAndConsumerThreadsManySeeds)
{
    for (unsigned seed = 10; seed < 18; ++seed) runProducerConsumer(64 << (seed % 4), 300'000, 1 + seed * 7, seed);
}

} // namespace
} // namespace tmk
