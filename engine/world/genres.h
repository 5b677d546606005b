// The genre templates of the world: tempo range, knob priors, 16-step drum/bass/comping patterns and an
// instrument palette with acoustic and electronic General MIDI programs per part (docs/world.md).
#pragma once

#include <vector>

#include "tastemaker/world/composer.h"

namespace tmk::world {

struct Instrument {
    int program = 0; // GM program (0-based), or the drum kit number (bank 128)
    const char* tag = ""; // prompt tag
};

struct Palette {
    std::vector<Instrument> acoustic;
    std::vector<Instrument> electronic;
};

// Patterns are 16 steps (sixteenths of a 4/4 bar). Drums: 'x' hit, 'a' accent, '.' rest.
// Bass: 'R' root, '3' third, '5' fifth, 'O' octave, 'A' scale step leading to the next bar's root, '.' rest.
// Comping: 'x' a chord (or, with arpeggio, the next chord tone), '.' rest.
struct GenreTemplate {
    const char* name; // Spotify track_genre
    const char* promptName; // the genre's prompt tag
    double bpmMin, bpmMax;
    double majorChance;
    double energyMin, energyMax;
    double drumsChance;
    double swingChance, swingMax;
    double rubatoMax; // drum-less songs may drift up to this; songs with drums up to a third of it
    double acousticChance; // chance that the song leans acoustic (share 0.7..1, else 0..0.3)
    double voiceChance; // chance that some melody bars are sung
    double speechChance; // chance of spoken bars
    double liveChance; // chance of a crowd
    bool sevenths; // chords with a diatonic seventh
    const char* kick;
    const char* snare;
    const char* hat;
    int snareNote, hatNote; // GM drum keys (38 snare, 39 clap, 37 side stick; 42 closed hat, 51 ride, ...)
    const char* bass;
    const char* comp;
    bool arpeggio;
    double compGate; // note length as a share of the gap to the next hit
    int leadLow; // lowest melody note (MIDI)
    Palette palette[kRoleCount]; // per Role; Voice is fixed (choir 52 / voice oohs 53)
};

const std::vector<GenreTemplate>& genreTemplates();

// Tonic-heavy diatonic progressions of `bars` (2..4) chords, as scale degrees 0..6 of the mode.
const std::vector<std::vector<int>>& progressions(int mode, int bars, bool jazz);

} // namespace tmk::world
