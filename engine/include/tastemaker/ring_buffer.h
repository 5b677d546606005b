// A lock-free single-producer single-consumer ring buffer of floats, for feeding a real-time audio
// callback. All memory is allocated in the constructor; push, pop and discard never allocate, lock or
// block, so the consumer side is safe to call from an audio callback.
//
// Exactly one thread may call the producer functions (push, writeAvailable) and exactly one thread the
// consumer functions (pop, discardAll, readAvailable) at a time. The indices are 64-bit counters that
// only grow (they never wrap in practice: 2^64 samples is millions of years of audio), and the
// position in the storage is the counter masked by the power-of-two capacity.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace tmk {

class SpscRingBuffer {
public:
    // Capacity is `minCapacity` rounded up to a power of two (at least 2).
    explicit SpscRingBuffer(size_t minCapacity)
        : m_capacity(roundUpToPowerOfTwo(minCapacity))
        , m_mask(m_capacity - 1)
        , m_data(new float[m_capacity]())
    {
    }
    SpscRingBuffer(const SpscRingBuffer&) = delete;
    SpscRingBuffer& operator=(const SpscRingBuffer&) = delete;

    size_t capacity() const { return m_capacity; }

    // Producer: how many samples push() would accept now.
    size_t writeAvailable() const
    {
        const uint64_t write = m_write.load(std::memory_order_relaxed);
        const uint64_t read = m_read.load(std::memory_order_acquire);
        return m_capacity - static_cast<size_t>(write - read);
    }

    // Producer: copies as many of `samples` as fit and returns how many that was.
    size_t push(std::span<const float> samples)
    {
        const uint64_t write = m_write.load(std::memory_order_relaxed);
        const uint64_t read = m_read.load(std::memory_order_acquire);
        const size_t count = std::min(samples.size(), m_capacity - static_cast<size_t>(write - read));
        if (count == 0) return 0;
        const size_t start = static_cast<size_t>(write) & m_mask;
        const size_t first = std::min(count, m_capacity - start);
        std::memcpy(m_data.get() + start, samples.data(), first * sizeof(float));
        std::memcpy(m_data.get(), samples.data() + first, (count - first) * sizeof(float));
        m_write.store(write + count, std::memory_order_release);
        return count;
    }

    // Consumer: how many samples pop() would return now.
    size_t readAvailable() const
    {
        const uint64_t read = m_read.load(std::memory_order_relaxed);
        const uint64_t write = m_write.load(std::memory_order_acquire);
        return static_cast<size_t>(write - read);
    }

    // Consumer: copies up to `out.size()` samples into `out` and returns how many that was.
    size_t pop(std::span<float> out)
    {
        const uint64_t read = m_read.load(std::memory_order_relaxed);
        const uint64_t write = m_write.load(std::memory_order_acquire);
        const size_t count = std::min(out.size(), static_cast<size_t>(write - read));
        if (count == 0) return 0;
        const size_t start = static_cast<size_t>(read) & m_mask;
        const size_t first = std::min(count, m_capacity - start);
        std::memcpy(out.data(), m_data.get() + start, first * sizeof(float));
        std::memcpy(out.data() + first, m_data.get(), (count - first) * sizeof(float));
        m_read.store(read + count, std::memory_order_release);
        return count;
    }

    // Consumer: drops everything readable now and returns how many samples that was.
    size_t discardAll()
    {
        const uint64_t read = m_read.load(std::memory_order_relaxed);
        const uint64_t write = m_write.load(std::memory_order_acquire);
        m_read.store(write, std::memory_order_release);
        return static_cast<size_t>(write - read);
    }

private:
    static size_t roundUpToPowerOfTwo(size_t n)
    {
        size_t capacity = 2;
        while (capacity < n) capacity <<= 1;
        return capacity;
    }

    const size_t m_capacity;
    const size_t m_mask;
    std::unique_ptr<float[]> m_data;
    // On separate cache lines so that the two threads do not fight over one line.
    alignas(64) std::atomic<uint64_t> m_write { 0 }; // written by the producer only
    alignas(64) std::atomic<uint64_t> m_read { 0 }; // written by the consumer only
};

} // namespace tmk
