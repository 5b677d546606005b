// Process-wide compute set-up. Call initRuntime() once at start (the CLI and the app do).
#pragma once

#include <string>

namespace tmk {

struct RuntimeInfo {
    std::string torchVersion;
    bool cudaAvailable = false; // the linked libtorch has CUDA and a GPU is present
    int cudaDeviceCount = 0;
    int intraOpThreads = 0;
    std::string parallelInfo; // libtorch's description of its thread pools and BLAS
};

// Sets libtorch's intra-op threads to `threads` (0: OMP_NUM_THREADS when set, as torchrun and `--nproc`
// set it for several processes on one machine, else the number of cores; Debian's libtorch otherwise
// starts with 1) and disables autograd-related global state the engine never needs at inference.
void initRuntime(int threads = 0);
RuntimeInfo runtimeInfo();

} // namespace tmk
