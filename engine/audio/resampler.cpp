#include "audio/resampler.h"

#include <cmath>
#include <samplerate.h>
#include <string>

namespace tmk {

Expected<std::unique_ptr<Resampler>> Resampler::create(int fromRate, int toRate, ResamplerQuality quality)
{
    if (fromRate <= 0 || toRate <= 0) return Error { ErrorCode::InvalidArgument, "sample rates must be positive" };
    int rc = 0;
    SRC_STATE* state
        = src_new(quality == ResamplerQuality::Best ? SRC_SINC_BEST_QUALITY : SRC_SINC_MEDIUM_QUALITY, 1, &rc);
    if (!state) return Error { ErrorCode::Internal, std::string("could not create a resampler: ") + src_strerror(rc) };
    return std::unique_ptr<Resampler>(
        new Resampler(state, static_cast<double>(toRate) / static_cast<double>(fromRate)));
}

Resampler::~Resampler()
{
    src_delete(m_state);
}

Expected<void> Resampler::process(std::span<const float> input, EndOfInput end, std::vector<float>& out)
{
    static const float kNothing = 0.0f;
    const bool endOfInput = end == EndOfInput::Yes;
    size_t consumed = 0;
    for (;;) {
        const size_t start = out.size();
        const size_t room
            = static_cast<size_t>(std::ceil(static_cast<double>(input.size() - consumed) * m_ratio)) + 256;
        out.resize(start + room);
        SRC_DATA data {};
        data.data_in = consumed < input.size() ? input.data() + consumed : &kNothing;
        data.input_frames = static_cast<long>(input.size() - consumed);
        data.data_out = out.data() + start;
        data.output_frames = static_cast<long>(room);
        data.src_ratio = m_ratio;
        data.end_of_input = endOfInput ? 1 : 0;
        const int rc = src_process(m_state, &data);
        out.resize(start + static_cast<size_t>(rc == 0 ? data.output_frames_gen : 0));
        if (rc != 0) return Error { ErrorCode::Internal, std::string("resampling failed: ") + src_strerror(rc) };
        consumed += static_cast<size_t>(data.input_frames_used);
        if (consumed >= input.size() && (!endOfInput || data.output_frames_gen == 0)) return {};
    }
}

} // namespace tmk
