// Spoken words with espeak-ng (libespeak-ng, synchronous output with a callback), resampled to the world rate
// with libsamplerate. Each line is spoken by a freshly forked child process, because espeak-ng carries state
// from one utterance to the next; so the result depends only on the arguments. Calls are serialised.
#pragma once

#include <string>
#include <vector>

#include "tastemaker/error.h"

namespace tmk::world {

struct SpeechVoice {
    int wordsPerMinute = 170; // espeakRATE, 80..450
    int pitch = 50; // espeakPITCH, 0..100
    std::string voice = "en+Alex"; // espeak-ng voice (+ variant)
};

Expected<std::vector<float>> speak(const std::string& text, const SpeechVoice& voice, int sampleRate);

// `words` words of nonsense lyrics drawn from a fixed list (deterministic in `seed`).
std::string lyricLine(uint64_t seed, int words);

} // namespace tmk::world
