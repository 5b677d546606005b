#pragma once
// Wall-clock seconds for progress, ETA and benchmark figures (never for anything a result depends on).

#include <chrono>

namespace tmk {

using SteadyClock = std::chrono::steady_clock;

inline double secondsSince(SteadyClock::time_point start)
{
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

} // namespace tmk
