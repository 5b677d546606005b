// The engine's one sample-rate converter (engine-internal): libsamplerate's sinc filters on mono float
// audio, either in one go (resampleMono in tastemaker/audio_file.h) or as a stream whose filter state is
// kept across calls (the Player's streaming playback). Never used on the real-time audio thread: process()
// may allocate.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "tastemaker/error.h"

struct SRC_STATE_tag;

namespace tmk {

enum class ResamplerQuality { Best, Medium };
enum class EndOfInput { No, Yes };

class Resampler {
public:
    static Expected<std::unique_ptr<Resampler>> create(int fromRate, int toRate, ResamplerQuality quality);
    ~Resampler();
    Resampler(const Resampler&) = delete;
    Resampler& operator=(const Resampler&) = delete;

    double ratio() const { return m_ratio; } // output rate / input rate
    // Appends the resampled `input` to `out`; with EndOfInput::Yes, also what the filter still holds.
    Expected<void> process(std::span<const float> input, EndOfInput end, std::vector<float>& out);

private:
    Resampler(SRC_STATE_tag* state, double ratio)
        : m_state(state)
        , m_ratio(ratio)
    {
    }
    SRC_STATE_tag* m_state;
    double m_ratio;
};

} // namespace tmk
