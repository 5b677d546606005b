#include "tastemaker/sampling.h"

#include <cmath>
#include <sstream>

namespace tmk {

Expected<void> SamplingParams::validate() const
{
    if (!std::isfinite(guidanceScale) || guidanceScale < 0.0)
        return Error { ErrorCode::InvalidArgument, "sampling: the guidance scale must be a finite number >= 0" };
    if (greedy) return {};
    if (!std::isfinite(temperature) || temperature <= 0.0)
        return Error { ErrorCode::InvalidArgument,
            "sampling: the temperature must be > 0 (use greedy decoding for 0)" };
    if (topK < 0) return Error { ErrorCode::InvalidArgument, "sampling: top-k must be >= 0 (0 turns it off)" };
    if (!std::isfinite(topP) || topP < 0.0 || topP > 1.0)
        return Error { ErrorCode::InvalidArgument, "sampling: top-p must be in [0, 1] (0 or 1 turns it off)" };
    return {};
}

std::string SamplingParams::toString() const
{
    std::ostringstream out;
    if (greedy)
        out << "greedy";
    else
        out << "top-k " << topK << ", top-p " << topP << ", temperature " << temperature << ", seed " << seed;
    out << ", guidance " << guidanceScale;
    return out.str();
}

} // namespace tmk
