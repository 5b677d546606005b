// The world's composer: a song's knobs (drawn from its genre template and seed) and its score (MIDI-like events
// for FluidSynth, plus the spans of spoken bars). Plain data, no synthesis; docs/world.md explains every knob.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tmk::world {

// The parts of a song; each has its own MIDI channel (kChannelOf).
enum class Role { Chords = 0, Bass = 1, Lead = 2, Pad = 3, Voice = 4, Drums = 5 };
inline constexpr int kRoleCount = 6;
inline constexpr int kChannelOf[kRoleCount] = { 0, 1, 2, 3, 4, 9 };

// The knobs of one song: the ground truth the analyser is calibrated against (knobs.csv).
struct SongKnobs {
    uint64_t seed = 0; // the song's own seed (derived from the world seed and the song index)
    int genre = 0; // index into genreNames()
    double bpm = 120.0; // 60..160, exact: every onset lies on this grid (before rubato jitter)
    int key = 0; // tonic pitch class, 0 = C .. 11 = B
    int mode = 1; // 1 major (Ionian), 0 minor (Aeolian); every note of the song is in this scale
    double energy = 0.5; // 0..1: velocity, note density, loudness target, distortion
    double swing = 0.0; // 0..0.6: off-beat 8ths (or 16ths) delayed by swing * half a step... see docs
    double rubato = 0.0; // 0..1: random onset jitter (up to 45 ms) and velocity spread
    bool drumsOn = true; // a drum part plays
    double acousticShare = 0.5; // 0..1: the knob; the share of parts given acoustic programs is round(share * parts)
    double voiceShare = 0.0; // 0..1: the share of melody bars sung by a GM voice (choir 52 or voice oohs 53)
    double speechShare = 0.0; // 0..1: the share of bars with espeak-ng speech (the melody rests there)
    double crowdLevel = 0.0; // 0..1: crowd murmur, applause and cheers (0 = none)
    double reverb = 0.0; // 0..1: wet share of the room reverb
    double hook = 0.0; // 0..1: chance that a melody bar repeats the song's one-bar hook
    double detuneCents = 0.0; // 0..60: the lead (and voice) channels are bent this far off the others
    int detuneSign = 1; // +1 sharp, -1 flat
    int formBars = 4; // 2..4: the loop length of harmony, bass and drums
};

struct NoteEvent {
    int64_t sample = 0; // onset at the world sample rate
    uint8_t channel = 0;
    uint8_t on = 0; // 1 note-on, 0 note-off
    uint8_t key = 0;
    uint8_t velocity = 0;
};

struct ChannelSetup {
    Role role = Role::Chords;
    int channel = 0;
    int bank = 0; // 128 for drum kits
    int program = 0; // GM program (0-based) or drum kit number
    bool acoustic = true;
    std::string tag; // the instrument's prompt tag, e.g. "electric guitar"
    int pitchBend = 8192;
    int volume = 100; // CC 7
    int modulation = 0; // CC 1: vibrato through the SoundFont default modulator (up to 50 cents at 127)
};

struct SpokenSpan {
    int64_t startSample = 0;
    int64_t lengthSamples = 0;
};

struct Score {
    std::vector<ChannelSetup> channels; // the parts that play
    std::vector<NoteEvent> events; // sorted by sample, then note-offs before note-ons
    std::vector<SpokenSpan> spoken;
    int64_t lengthSamples = 0;
    int bars = 0, voiceBars = 0, spokenBars = 0;
    int acousticParts = 0, parts = 0; // pitched + drum parts that count for acousticness
};

// The genre templates, in a fixed order; names are Spotify `track_genre` values ("hip-hop").
const std::vector<std::string>& genreNames();
// -1 when `name` is not a genre.
int genreIndex(const std::string& name);
// The scale of `mode` (1 major, 0 minor) as 7 semitone offsets from the tonic.
const int* modeScale(int mode);

// Draws the knobs of a song of `genre` from `seed` (wide ranges within the genre's template).
SongKnobs drawKnobs(int genre, uint64_t seed);
// Composes the song: parts, programs and events for `seconds` at `sampleRate`. Deterministic in the knobs.
Score compose(const SongKnobs& knobs, double seconds, int sampleRate);

} // namespace tmk::world
