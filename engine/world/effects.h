// The world's own audio effects, all deterministic: a crowd (murmur, applause, clap-along, cheers) synthesised
// from the song's random stream, a Freeverb-style mono room, EBU R128 loudness and a peak limiter.
#pragma once

#include <cstdint>
#include <vector>

namespace tmk::world {

// `lengthSamples` of crowd noise at unit-ish level; `bpm` places the clap-along on beats 2 and 4.
std::vector<float> synthesiseCrowd(int64_t lengthSamples, double level, double bpm, uint64_t seed, int sampleRate);

// Mixes a Freeverb-style room into `audio`; amount 0..1 sets the wet share and the room size.
void applyRoomReverb(std::vector<float>& audio, double amount, int sampleRate);

// Integrated loudness (EBU R128, LUFS); -70 for silence.
double integratedLoudness(const std::vector<float>& audio, int sampleRate);

double rms(const std::vector<float>& audio);

// Scales `audio` to `targetLufs`, then limits peaks to -1 dBFS (instant attack, 80 ms release) and fades the ends.
void normaliseAndLimit(std::vector<float>& audio, double targetLufs, int sampleRate);

} // namespace tmk::world
