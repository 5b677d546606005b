// Progress reported by long jobs. Callbacks run on the job's thread; a UI re-posts them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace tmk {

struct Progress {
    std::string stage;   // e.g. "text encoder", "decoding", "training"
    int64_t done = 0;    // steps finished
    int64_t total = 0;   // steps in all, 0 when unknown
    double fraction() const { return total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0; }
};

using ProgressCallback = std::function<void(const Progress&)>;

}  // namespace tmk
