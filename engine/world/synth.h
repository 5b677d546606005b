// A soundfont loaded once into FluidSynth, rendering scores to mono float audio. Not thread-safe: each worker
// thread owns one. Every song gets a fresh synth that shares the loaded soundfont, so a song's audio does not
// depend on the songs rendered before it. Reverb and chorus are off (the world adds its own room) and output is
// float (no dither).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tastemaker/error.h"
#include "tastemaker/world/composer.h"

namespace tmk::world {

class SynthRenderer {
public:
    static Expected<std::unique_ptr<SynthRenderer>> create(const std::string& soundfont, int sampleRate);
    ~SynthRenderer();
    SynthRenderer(const SynthRenderer&) = delete;
    SynthRenderer& operator=(const SynthRenderer&) = delete;

    // score.lengthSamples mono samples (the mean of FluidSynth's stereo pair).
    std::vector<float> render(const Score& score);

private:
    SynthRenderer() = default;

    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace tmk::world
