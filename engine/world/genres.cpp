// The twelve genre templates (docs/world.md, "Genres"). Program numbers are 0-based General MIDI; drum kits are
// bank-128 presets of FluidR3_GM (0 standard, 8 room, 16 power, 24 electronic, 25 TR-808, 32 jazz, 40 brush,
// 48 orchestra); a soundfont without a kit falls back to kit 0.
#include "genres.h"

#include <string>

namespace tmk::world {

namespace {

// Instruments shared by several palettes.
const Instrument kPiano { 0, "piano" }, kEpiano { 4, "electric piano" }, kOrgan { 16, "organ" },
    kRockOrgan { 18, "keyboard" }, kKeysEpiano { 4, "keyboard" }, kNylon { 24, "acoustic guitar" },
    kSteel { 25, "acoustic guitar" }, kCleanGtr { 27, "electric guitar" }, kMutedGtr { 28, "electric guitar" },
    kOdGtr { 29, "electric guitar" }, kDistGtr { 30, "electric guitar" }, kUpright { 32, "double bass" },
    kFingerBass { 33, "bass" }, kPickBass { 34, "bass" }, kSlapBass { 36, "bass" }, kSynBass1 { 38, "synth bass" },
    kSynBass2 { 39, "synth bass" }, kViolin { 40, "violin" }, kCello { 42, "cello" }, kContrabass { 43, "double bass" },
    kHarp { 46, "harp" }, kStrings { 48, "strings" }, kSynStrings { 50, "synth strings" }, kTrumpet { 56, "trumpet" },
    kBrass { 61, "brass" }, kSynBrass { 62, "synth brass" }, kAltoSax { 65, "saxophone" },
    kTenorSax { 66, "saxophone" }, kOboe { 68, "oboe" }, kClarinet { 71, "clarinet" }, kFlute { 73, "flute" },
    kSquare { 80, "synth lead" }, kSaw { 81, "synth lead" }, kPadNewAge { 88, "synth pad" },
    kPadWarm { 89, "synth pad" }, kPolySynth { 90, "synth" }, kPadHalo { 94, "synth pad" }, kVibes { 11, "vibraphone" },
    kMarimba { 12, "marimba" }, kHarmonica { 22, "harmonica" }, kAccordion { 21, "accordion" }, kBanjo { 105, "banjo" },
    kSteelDrums { 114, "steel drums" }, kHarpsichord { 6, "harpsichord" };

const Instrument kKitStandard { 0, "drums" }, kKitRoom { 8, "drums" }, kKitPower { 16, "drums" },
    kKitJazz { 32, "drums" }, kKitBrush { 40, "drums" }, kKitOrchestra { 48, "percussion" },
    kKitElectronic { 24, "drum machine" }, kKit808 { 25, "drum machine" };

// Palette order follows Role: Chords, Bass, Lead, Pad, Voice (unused), Drums.
std::vector<GenreTemplate> makeTemplates()
{
    std::vector<GenreTemplate> t;
    t.push_back({ "rock", "rock", 96, 156, 0.6, 0.3, 1.0, 0.95, 0.1, 0.25, 0.4, 0.45, 0.45, 0.1, 0.3, false,
        "x.......x.x.....", "....x.......x...", "x.x.x.x.x.x.x.x.", 38, 42, "R.R.R.R.R.R.R.R.", "x.......x.......",
        false, 0.95, 62,
        { { { kPiano, kSteel }, { kRockOrgan, kKeysEpiano, kOdGtr } }, { { kUpright }, { kPickBass, kFingerBass } },
            { { kSteel, kPiano, kHarmonica }, { kOdGtr, kDistGtr, kCleanGtr } },
            { { kStrings }, { kRockOrgan, kSynStrings } }, {}, { { kKitStandard, kKitRoom }, { kKitElectronic } } } });
    t.push_back(
        { "pop", "pop", 84, 132, 0.7, 0.2, 0.95, 0.9, 0.1, 0.2, 0.4, 0.4, 0.6, 0.15, 0.15, false, "x.....x...x.....",
            "....x.......x...", "x.x.x.x.x.x.x.x.", 38, 42, "R.....R...R.....", "x..x..x.x..x..x.", false, 0.9, 64,
            { { { kPiano, kSteel }, { kEpiano, kPolySynth } }, { { kUpright }, { kFingerBass, kSynBass1 } },
                { { kFlute, kPiano, kViolin }, { kSquare, kSaw } }, { { kStrings }, { kPadWarm, kSynStrings } }, {},
                { { kKitStandard, kKitRoom }, { kKitElectronic, kKit808 } } } });
    t.push_back(
        { "funk", "funk", 92, 124, 0.5, 0.4, 1.0, 1.0, 0.5, 0.35, 0.3, 0.5, 0.35, 0.15, 0.25, true, "x..x..x...x..x..",
            "....x..x.x..x...", "xxxxxxxxxxxxxxxx", 38, 42, "R..O..R.5..R.O..", ".x.x..x..x.x..x.", false, 0.5, 62,
            { { { kPiano, kBrass }, { kMutedGtr, kEpiano, kCleanGtr } }, { { kUpright }, { kSlapBass, kFingerBass } },
                { { kTenorSax, kTrumpet }, { kSynBrass, kSaw } }, { { kBrass }, { kOrgan, kSynBrass } }, {},
                { { kKitStandard, kKitRoom }, { kKitElectronic } } } });
    t.push_back({ "house", "house", 116, 132, 0.6, 0.3, 1.0, 1.0, 0.15, 0.2, 0.2, 0.15, 0.45, 0.15, 0.3, true,
        "x...x...x...x...", "....x.......x...", "..x...x...x...x.", 39, 46, "..R...R...R...R.", "..x...x...x...x.",
        false, 0.45, 64,
        { { { kPiano }, { kEpiano, kPolySynth, kOrgan } }, { { kUpright }, { kSynBass1, kSynBass2 } },
            { { kPiano, kFlute }, { kSaw, kSquare } }, { { kStrings }, { kPadWarm, kPadNewAge } }, {},
            { { kKitStandard }, { kKit808, kKitElectronic } } } });
    t.push_back({ "techno", "techno", 120, 160, 0.3, 0.3, 1.0, 1.0, 0.05, 0.15, 0.15, 0.1, 0.2, 0.1, 0.25, false,
        "x...x...x...x...", "....x.......x...", "..x.xx..x.x.xx.x", 39, 42, "..R.R.R...R.R.R.", "x...............",
        false, 1.0, 60,
        { { { kPiano }, { kPadHalo, kPolySynth } }, { { kUpright }, { kSynBass2, kSynBass1 } },
            { { kMarimba, kPiano }, { kSaw, kSquare } }, { { kStrings }, { kPadNewAge, kPadWarm } }, {},
            { { kKitStandard }, { kKitElectronic, kKit808 } } } });
    t.push_back({ "hip-hop", "hip hop", 70, 104, 0.35, 0.25, 0.9, 1.0, 0.5, 0.35, 0.3, 0.3, 0.5, 0.8, 0.2, true,
        "x......x..x.....", "....x.......x...", "x.x.x.x.x.x.x.x.", 38, 42, "R......R..R.....", "x.......x.......",
        false, 0.9, 62,
        { { { kPiano, kStrings }, { kEpiano, kPadWarm } }, { { kUpright }, { kSynBass1, kFingerBass } },
            { { kPiano, kFlute }, { kSquare, kEpiano } }, { { kStrings }, { kSynStrings, kPadWarm } }, {},
            { { kKitStandard, kKitRoom }, { kKit808, kKitElectronic } } } });
    t.push_back({ "jazz", "jazz", 60, 160, 0.6, 0.15, 0.85, 0.85, 0.75, 0.6, 0.6, 0.8, 0.35, 0.1, 0.35, true,
        "x.......x.......", "....x.......x...", "x...x.x.x...x.x.", 37, 51, "R...3...5...A...", "x.....x...x.....",
        false, 0.7, 62,
        { { { kPiano, kVibes }, { kEpiano, kOrgan } }, { { kUpright, kContrabass }, { kFingerBass, kSynBass1 } },
            { { kTenorSax, kTrumpet, kAltoSax, kClarinet }, { kCleanGtr, kSquare } },
            { { kBrass, kStrings }, { kOrgan, kPadWarm } }, {}, { { kKitJazz, kKitBrush }, { kKitElectronic } } } });
    t.push_back({ "folk", "folk", 66, 132, 0.65, 0.1, 0.75, 0.5, 0.3, 0.35, 0.7, 0.85, 0.55, 0.1, 0.3, false,
        "x.......x.......", "....x.......x...", "x...x...x...x...", 37, 42, "R.......5.......", "x.x.x.x.x.x.x.x.",
        true, 1.0, 62,
        { { { kSteel, kNylon, kBanjo }, { kCleanGtr, kEpiano } }, { { kUpright }, { kFingerBass } },
            { { kViolin, kFlute, kHarmonica, kAccordion }, { kSquare, kCleanGtr } },
            { { kAccordion, kStrings }, { kPadWarm } }, {}, { { kKitBrush, kKitStandard }, { kKitElectronic } } } });
    t.push_back({ "classical", "classical", 60, 140, 0.55, 0.05, 0.7, 0.15, 0.05, 0.2, 0.9, 0.92, 0.3, 0.03, 0.3, false,
        "x.......x.......", "................", "................", 38, 42, "R.......5.......", "x.x.x.x.x.x.x.x.",
        true, 1.0, 64,
        { { { kPiano, kHarp, kHarpsichord }, { kEpiano, kPolySynth } }, { { kCello, kContrabass }, { kSynBass1 } },
            { { kViolin, kFlute, kOboe, kClarinet }, { kSquare, kSynStrings } },
            { { kStrings }, { kSynStrings, kPadWarm } }, {}, { { kKitOrchestra }, { kKitElectronic } } } });
    t.push_back({ "ambient", "ambient", 60, 96, 0.5, 0.0, 0.5, 0.35, 0.05, 0.15, 1.0, 0.3, 0.45, 0.05, 0.1, true,
        "x...............", "................", "....x.......x...", 38, 42, "R.......R.......", "x...x...x...x...",
        true, 1.0, 64,
        { { { kPiano, kHarp }, { kPadHalo, kPadNewAge } }, { { kCello }, { kSynBass1 } },
            { { kFlute, kVibes, kPiano }, { kPadNewAge, kSquare } }, { { kStrings }, { kPadWarm, kPadHalo } }, {},
            { { kKitBrush }, { kKitElectronic, kKit808 } } } });
    t.push_back({ "reggae", "reggae", 60, 100, 0.6, 0.2, 0.8, 0.95, 0.35, 0.3, 0.3, 0.5, 0.5, 0.3, 0.25, false,
        "........x.......", "........x.......", "x.x.x.x.x.x.x.x.", 37, 42, "R..R..5.....R.A.", "..x...x...x...x.",
        false, 0.35, 62,
        { { { kPiano, kSteel }, { kMutedGtr, kOrgan } }, { { kUpright }, { kFingerBass, kSynBass1 } },
            { { kSteelDrums, kTrumpet, kMarimba }, { kOrgan, kSquare } }, { { kBrass }, { kOrgan, kPadWarm } }, {},
            { { kKitStandard, kKitRoom }, { kKitElectronic, kKit808 } } } });
    t.push_back({ "metal", "metal", 100, 160, 0.2, 0.55, 1.0, 1.0, 0.02, 0.1, 0.2, 0.3, 0.35, 0.05, 0.4, false,
        "x.x.x.x.x.x.x.x.", "....x.......x...", "x.x.x.x.x.x.x.x.", 38, 42, "RRRRRRRRRRRRRRRR", "x.......x.......",
        false, 0.95, 60,
        { { { kPiano, kStrings }, { kDistGtr, kOdGtr } }, { { kContrabass, kUpright }, { kPickBass, kFingerBass } },
            { { kViolin, kPiano }, { kDistGtr, kSaw } }, { { kStrings }, { kRockOrgan, kSynStrings } }, {},
            { { kKitPower, kKitStandard }, { kKitElectronic } } } });
    return t;
}

} // namespace

const std::vector<GenreTemplate>& genreTemplates()
{
    static const std::vector<GenreTemplate> templates = makeTemplates();
    return templates;
}

const std::vector<std::vector<int>>& progressions(int mode, int bars, bool jazz)
{
    // Scale degrees: 0 = tonic. Every progression starts on the tonic; most return to it.
    static const std::vector<std::vector<int>> major2 { { 0, 4 }, { 0, 3 }, { 0, 5 } };
    static const std::vector<std::vector<int>> minor2 { { 0, 5 }, { 0, 3 }, { 0, 6 } };
    static const std::vector<std::vector<int>> major3 { { 0, 3, 4 }, { 0, 4, 0 }, { 0, 5, 4 } };
    static const std::vector<std::vector<int>> minor3 { { 0, 5, 6 }, { 0, 3, 0 }, { 0, 6, 5 } };
    static const std::vector<std::vector<int>> major4 { { 0, 3, 4, 0 }, { 0, 5, 3, 4 }, { 0, 0, 3, 4 }, { 0, 3, 0, 4 },
        { 0, 4, 5, 3 }, { 0, 3, 0, 0 } };
    static const std::vector<std::vector<int>> minor4 { { 0, 5, 6, 0 }, { 0, 3, 4, 0 }, { 0, 0, 5, 6 }, { 0, 3, 0, 4 },
        { 0, 5, 3, 4 }, { 0, 2, 6, 0 } };
    static const std::vector<std::vector<int>> jazzMajor4 { { 0, 5, 1, 4 }, { 0, 1, 4, 0 }, { 0, 3, 1, 4 } };
    static const std::vector<std::vector<int>> jazzMinor4 { { 0, 3, 6, 0 }, { 0, 1, 4, 0 }, { 0, 5, 1, 4 } };
    if (bars <= 2) return mode ? major2 : minor2;
    if (bars == 3) return mode ? major3 : minor3;
    if (jazz) return mode ? jazzMajor4 : jazzMinor4;
    return mode ? major4 : minor4;
}

const std::vector<std::string>& genreNames()
{
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const GenreTemplate& g : genreTemplates()) n.emplace_back(g.name);
        return n;
    }();
    return names;
}

int genreIndex(const std::string& name)
{
    const std::vector<std::string>& names = genreNames();
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return static_cast<int>(i);
    return -1;
}

const int* modeScale(int mode)
{
    static const int major[7] = { 0, 2, 4, 5, 7, 9, 11 };
    static const int minor[7] = { 0, 2, 3, 5, 7, 8, 10 };
    return mode ? major : minor;
}

} // namespace tmk::world
