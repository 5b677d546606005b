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
    // Joins the world: waits (up to the timeout) for every rank at the rendezvous. The error names the address.
    static Expected<std::unique_ptr<Collective>> connect(const DistributedOptions& options);
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
    std::string share(const std::string& key, const std::string& text);

private:
    struct Impl;
    Collective(std::unique_ptr<Impl> impl, int64_t rank, int64_t size);
    std::unique_ptr<Impl> m_impl;
    int64_t m_rank = 0, m_size = 1;
};

} // namespace tmk
