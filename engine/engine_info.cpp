#include <cstdlib>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "tastemaker/runtime.h"

namespace tmk {

void initRuntime(int threads)
{
    // OMP_NUM_THREADS, as torchrun and `--nproc` set it for each of several processes on one machine.
    if (const char* text = std::getenv("OMP_NUM_THREADS"); threads <= 0 && text != nullptr) threads = std::atoi(text);
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
}

RuntimeInfo runtimeInfo()
{
    RuntimeInfo info;
    info.torchVersion = TORCH_VERSION;
    info.cudaAvailable = torch::cuda::is_available();
    info.cudaDeviceCount = info.cudaAvailable ? static_cast<int>(torch::cuda::device_count()) : 0;
    info.intraOpThreads = at::get_num_threads();
    info.parallelInfo = at::get_parallel_info();
    return info;
}

} // namespace tmk
