// `bench load`: MusicgenModel::load from a warm page cache, timed by stage, with the process's peak RSS
// against the bytes of the weights in the compute dtype. And the process-memory readings the benchmarks
// share (VmRSS and VmHWM of /proc/self/status).
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "tastemaker/devtools/benchmarks.h"
#include "tastemaker/tensorio.h"

namespace tmk {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double statusMiB(const char* field)
{
    std::ifstream status("/proc/self/status");
    const std::string prefix = std::string(field) + ":";
    std::string line;
    while (std::getline(status, line))
        if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(prefix.size())) / 1024.0;
    return 0.0;
}

// Reads every regular file of `dir` once, so that the timed load starts from a warm page cache.
void warmPageCache(const fs::path& dir)
{
    std::vector<char> buffer(size_t(16) << 20);
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        std::ifstream in(it->path(), std::ios::binary);
        while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) { }
    }
}

// The bytes the model's weights take in `dtype`: floating tensors in the compute dtype, except the audio
// codec's, which always runs in float32; integer tensors as stored.
Expected<int64_t> weightBytesIn(const fs::path& dir, ComputeDType dtype)
{
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(dir);
    if (!checkpoint) return checkpoint.error();
    const int64_t computeSize = dtype == ComputeDType::F32 ? 4 : 2;
    int64_t total = 0;
    for (const SafetensorsFile& file : checkpoint->files())
        for (const TensorInfo& info : file.tensors()) {
            const bool floating = info.dtype == DType::F32 || info.dtype == DType::F16 || info.dtype == DType::BF16;
            const bool codec = info.name.rfind("audio_encoder.", 0) == 0;
            total += !floating ? static_cast<int64_t>(info.nbytes) : info.numel() * (codec ? 4 : computeSize);
        }
    return total;
}

} // namespace

double currentRssMiB()
{
    return statusMiB("VmRSS");
}

double peakRssMiB()
{
    return statusMiB("VmHWM");
}

void resetPeakRss()
{
    std::ofstream clear("/proc/self/clear_refs");
    if (clear) clear << "5";
}

Expected<LoadBenchResult> benchmarkLoad(const fs::path& dir, const ModelOptions& options)
{
    LoadBenchResult result;
    result.dtype = computeDTypeName(options.dtype);
    Expected<int64_t> weightBytes = weightBytesIn(dir, options.dtype);
    if (!weightBytes) return weightBytes.error();
    result.weightBytes = *weightBytes;
    warmPageCache(dir);
    result.rssBeforeMiB = currentRssMiB();
    resetPeakRss();

    std::vector<double> stageStart(6, 0.0);
    const auto start = Clock::now();
    auto progress = [&](const Progress& p) {
        if (p.done >= 0 && p.done < static_cast<int64_t>(stageStart.size()))
            stageStart[static_cast<size_t>(p.done)] = std::chrono::duration<double>(Clock::now() - start).count();
    };
    Expected<std::shared_ptr<const MusicgenModel>> model = MusicgenModel::load(dir, options, progress);
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!model) return model.error();
    result.peakRssMiB = peakRssMiB();
    result.rssAfterMiB = currentRssMiB();
    result.tokenizerSeconds = stageStart[1] - stageStart[0];
    result.textEncoderSeconds = stageStart[3] - stageStart[1]; // opening the checkpoint and T5
    result.decoderSeconds = stageStart[4] - stageStart[3];
    result.codecSeconds = stageStart[5] - stageStart[4];
    return result;
}

std::string LoadBenchResult::toString() const
{
    const double weightsMiB = static_cast<double>(weightBytes) / 1048576.0;
    return "load " + std::to_string(seconds) + " s, weights " + std::to_string(weightsMiB) + " MiB, peak RSS "
        + std::to_string(peakRssMiB) + " MiB (" + std::to_string(peakRssMiB / weightsMiB) + "x)";
}

} // namespace tmk
