// Audio the world did not render, made in the test code: click tracks, a drum pattern, harmonic tones,
// triads and progressions, sines, and a minimal WAV writer.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tmk::test {

// A 10 ms decaying 1 kHz click on every beat.
std::vector<float> clickTrack(double bpm, double seconds, int sampleRate);
// Kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on every eighth note.
std::vector<float> drumPattern(double bpm, double seconds, int sampleRate);
// A reggae one-drop: kick and snare together on beat 3 only, a hi-hat on every eighth note and a short chord
// stab on every off-beat eighth, so the eighth notes are the densest pulse and the bar the strongest.
std::vector<float> oneDrop(double bpm, double seconds, int sampleRate);
// A harmonic tone (6 partials, 1/h amplitudes) of MIDI note `midi`, with a soft attack and release.
void addTone(std::vector<float>& out, int midi, double startSeconds, double seconds, double amplitude, int sampleRate);
// Chords of three notes (MIDI) with the root an octave lower in the bass, each `chordSeconds` long.
std::vector<float> progression(const std::vector<std::vector<int>>& chords, double chordSeconds, int sampleRate);
// I-IV-V-I (major) or i-iv-v-i (natural minor) on `tonic` (MIDI note of the tonic, e.g. 60 = C4), twice.
std::vector<float> cadence(int tonic, bool major, int sampleRate);
std::vector<float> sine(double hz, double amplitude, double seconds, int sampleRate);
// 32-bit float WAV, interleaved `channels`.
void writeWav(const std::filesystem::path& path, const std::vector<float>& samples, int channels, int sampleRate);

} // namespace tmk::test
