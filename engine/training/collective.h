// The process group of a data-parallel DPO run (docs/training.md): c10d's TCPStore rendezvous at
// MASTER_ADDR:MASTER_PORT (rank 0 serves it) and a ProcessGroupGloo over TCP. The c10d and Gloo headers
// stay in collective.cpp.
//
// Every method except rank()/size() is collective: all ranks call it, in the same order. A peer that is
// gone, or one that does not answer within the timeout, makes the call throw CollectiveError.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"
#include "tastemaker/training.h"

namespace tmk {

class CollectiveError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Collective {
public:
    // This process's group for `options`, as torch.distributed's init_process_group: made on the first call
    // (waiting up to the timeout for every rank at the rendezvous; the error names the address), then the
    // same for every later run of the process (train-all trains many adapters in one group). After a
    // collective failed, the next call makes a new one.
    static Expected<std::shared_ptr<Collective>> join(const DistributedOptions& options);
    ~Collective();
    Collective(const Collective&) = delete;
    Collective& operator=(const Collective&) = delete;

    int64_t rank() const { return m_rank; }
    int64_t size() const { return m_size; }

    // Sums a contiguous CPU float32/float64/int64 tensor over the ranks, in place.
    void allReduceSum(at::Tensor& tensor);
    // Rank 0's values into `tensor` (a contiguous CPU tensor of the same shape on every rank).
    void broadcast(at::Tensor& tensor);
    // True on every rank when `flag` is true on any.
    bool any(bool flag);
    // Rank 0 hands a text to the others (`text` is ignored elsewhere); returns rank 0's text on every rank.
    // Each call uses a new store key (`key` and a count), so a group serves any number of runs.
    std::string share(const std::string& key, const std::string& text);

private:
    struct Impl;
    Collective(std::unique_ptr<Impl> impl, int64_t rank, int64_t size);
    static Expected<std::unique_ptr<Collective>> connect(const DistributedOptions& options);
    template <typename F> auto guarded(const char* what, F&& call);
    std::unique_ptr<Impl> m_impl;
    int64_t m_rank = 0, m_size = 1;
    int64_t m_shares = 0;
    bool m_broken = false; // a collective failed: the group is not reused
};

} // namespace tmk
