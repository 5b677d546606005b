// drawKnobs and compose (composer.h): knobs from the genre template, then drums, bass, chords, pad and a melody
// (instrument or voice) over a 2-4 bar loop of a tonic-heavy, mode-pure progression. docs/world.md.
#include "tastemaker/world/composer.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "genres.h"
#include "rng.h"

namespace tmk::world {

namespace {

double round3(double x)
{
    return std::round(x * 1000.0) / 1000.0;
}

struct Note {
    int64_t start = 0, end = 0;
    int channel = 0, key = 0, velocity = 0;
};

// Shared state of one composition.
struct Ctx {
    Ctx(const SongKnobs& knobs, const GenreTemplate& genre, uint64_t seed)
        : k(knobs)
        , g(genre)
        , rng(seed)
    {
    }
    const SongKnobs& k;
    const GenreTemplate& g;
    Rng rng;
    double stepSamples = 0.0;
    int bars = 0;
    std::vector<int> chords; // scale degree of each loop bar
    std::vector<Note> notes;

    int degreeOfBar(int bar) const { return chords[static_cast<size_t>(bar % k.formBars)]; }
    // The pitch of scale index i (7 per octave) above the tonic in the octave of MIDI `base` (a C).
    int pitch(int base, int i) const
    {
        const int octave = (i >= 0 ? i / 7 : (i - 6) / 7);
        return base + k.key + 12 * octave + modeScale(k.mode)[i - 7 * octave];
    }
    int64_t onset(int bar, int step)
    {
        double t = (bar * 16 + step) * stepSamples;
        if (step % 4 == 2) t += k.swing * stepSamples;
        if (step % 2 == 1) t += 0.5 * k.swing * stepSamples;
        t += k.rubato * 0.045 * sampleRate * (rng.uniform() * 2.0 - 1.0); // up to 45 ms early or late
        return std::max<int64_t>(0, static_cast<int64_t>(std::llround(t)));
    }
    int velocity(int base)
    {
        const double spread = 4.0 + 20.0 * k.rubato;
        return std::clamp(static_cast<int>(std::lround(base + spread * (rng.uniform() * 2.0 - 1.0))), 1, 127);
    }
    int baseVelocity() const { return static_cast<int>(40 + 75 * k.energy); }
    void add(int channel, int key, int velocity, int64_t start, double lengthSamples)
    {
        notes.push_back({ start, start + std::max<int64_t>(1, std::llround(lengthSamples)), channel, key, velocity });
    }
    double sampleRate = 16000.0;
};

// The steps of a 16-step pattern with hits, thinned for calm songs.
std::vector<int> hits(const char* pattern, double energy, bool thin)
{
    std::vector<int> steps;
    for (int s = 0; s < 16 && pattern[s]; ++s)
        if (pattern[s] != '.' && (!thin || energy >= 0.35 || s % 8 == 0)) steps.push_back(s);
    if (steps.empty() && thin) {
        std::vector<int> all = hits(pattern, 1.0, false);
        if (!all.empty()) steps.push_back(all.front());
    }
    return steps;
}

void composeDrums(Ctx& c)
{
    const int ch = kChannelOf[static_cast<int>(Role::Drums)];
    const int base = c.baseVelocity();
    std::string hat = c.g.hat;
    if (c.k.energy > 0.75)
        for (int s = 1; s < 16; s += 2)
            hat[static_cast<size_t>(s)] = hat[static_cast<size_t>(s - 1)] == 'x' ? 'x' : '.';
    for (int bar = 0; bar < c.bars; ++bar) {
        for (int s : hits(c.g.kick, c.k.energy, false))
            c.add(ch, 36, c.velocity(base + 8), c.onset(bar, s), c.stepSamples);
        for (int s : hits(c.g.snare, c.k.energy, false))
            c.add(ch, c.g.snareNote, c.velocity(base + 4), c.onset(bar, s), c.stepSamples);
        for (int s : hits(hat.c_str(), c.k.energy, true))
            c.add(ch, c.g.hatNote, c.velocity(base - (s % 4 == 0 ? 6 : 16)), c.onset(bar, s), c.stepSamples);
        if (c.k.energy > 0.6 && bar % c.k.formBars == 0)
            c.add(ch, 49, c.velocity(base), c.onset(bar, 0), c.stepSamples);
    }
}

// Bass from the genre's pattern: chord root, third, fifth, octave, or the scale step above the next root.
void composeBass(Ctx& c)
{
    const int ch = kChannelOf[static_cast<int>(Role::Bass)];
    const std::vector<int> steps = hits(c.g.bass, c.k.energy, true);
    const int base = c.baseVelocity();
    for (int bar = 0; bar < c.bars; ++bar) {
        const int d = c.degreeOfBar(bar), next = c.degreeOfBar(bar + 1);
        for (size_t i = 0; i < steps.size(); ++i) {
            const int s = steps[i];
            int index = d;
            switch (c.g.bass[s]) {
            case '3':
                index = d + 2;
                break;
            case '5':
                index = d + 4;
                break;
            case 'O':
                index = d + 7;
                break;
            case 'A':
                index = next + 1;
                break;
            default:
                break;
            }
            int key = c.pitch(36, index);
            while (key > 55) key -= 12;
            const int gap = (i + 1 < steps.size() ? steps[i + 1] : 16) - s;
            c.add(ch, key, c.velocity(base), c.onset(bar, s), 0.85 * gap * c.stepSamples);
        }
    }
}

std::vector<int> chordIndices(const Ctx& c, int degree)
{
    std::vector<int> idx { degree, degree + 2, degree + 4 };
    if (c.g.sevenths) idx.push_back(degree + 6);
    return idx;
}

void composeChords(Ctx& c)
{
    const int ch = kChannelOf[static_cast<int>(Role::Chords)];
    const std::vector<int> steps = hits(c.g.comp, c.k.energy, true);
    const int base = c.baseVelocity() - 10;
    for (int bar = 0; bar < c.bars; ++bar) {
        const std::vector<int> idx = chordIndices(c, c.degreeOfBar(bar));
        for (size_t i = 0; i < steps.size(); ++i) {
            const int s = steps[i];
            const int gap = (i + 1 < steps.size() ? steps[i + 1] : 16) - s;
            const int64_t at = c.onset(bar, s);
            const int velocity = c.velocity(base);
            if (c.g.arpeggio) {
                const size_t n = idx.size() + 1;
                const int index = (i % n) < idx.size() ? idx[i % n] : idx[0] + 7;
                c.add(ch, c.pitch(48, index), velocity, at, c.g.compGate * gap * c.stepSamples);
            } else {
                for (int index : idx) c.add(ch, c.pitch(48, index), velocity, at, c.g.compGate * gap * c.stepSamples);
            }
        }
    }
}

void composePad(Ctx& c)
{
    const int ch = kChannelOf[static_cast<int>(Role::Pad)];
    for (int bar = 0; bar < c.bars; ++bar) {
        const int d = c.degreeOfBar(bar);
        const int64_t at = c.onset(bar, 0);
        for (int index : { d, d + 2, d + 4 })
            c.add(ch, c.pitch(60, index), c.velocity(c.baseVelocity() - 20), at, 15.8 * c.stepSamples);
    }
}

struct MotifNote {
    int step = 0;
    int offset = 0; // scale steps above the chord root (in the melody's octave)
};

std::vector<MotifNote> makeMotif(Ctx& c)
{
    const int count = std::clamp(2 + static_cast<int>(std::lround(6 * c.k.energy)) + c.rng.between(-1, 1), 1, 8);
    static const std::vector<std::vector<int>> tiers { { 0, 8 }, { 4, 12 }, { 2, 6, 10, 14 },
        { 1, 3, 5, 7, 9, 11, 13, 15 } };
    std::vector<int> steps;
    for (std::vector<int> tier : tiers) {
        for (size_t i = tier.size(); i > 1; --i) std::swap(tier[i - 1], tier[c.rng.index(i)]);
        for (int s : tier)
            if (static_cast<int>(steps.size()) < count) steps.push_back(s);
    }
    std::sort(steps.begin(), steps.end());
    std::vector<MotifNote> motif;
    int offset = 2 * c.rng.between(0, 2);
    for (int s : steps) {
        if (s % 4 == 0)
            offset = 2 * c.rng.between(0, 2) + (c.rng.chance(0.3) ? 7 : 0);
        else
            offset += c.rng.between(-2, 2);
        offset = std::clamp(offset, -2, 9);
        motif.push_back({ s, offset });
    }
    return motif;
}

// Which bars carry speech, a sung melody or the instrumental lead.
enum class BarKind { Lead, Voice, Spoken };

std::vector<BarKind> assignBars(Ctx& c, Score& score)
{
    std::vector<int> order(static_cast<size_t>(c.bars));
    for (int i = 0; i < c.bars; ++i) order[static_cast<size_t>(i)] = i;
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[c.rng.index(i)]);
    score.spokenBars = static_cast<int>(std::lround(c.k.speechShare * c.bars));
    score.voiceBars = std::min(c.bars - score.spokenBars, static_cast<int>(std::lround(c.k.voiceShare * c.bars)));
    std::vector<BarKind> kinds(static_cast<size_t>(c.bars), BarKind::Lead);
    for (int i = 0; i < score.spokenBars + score.voiceBars; ++i)
        kinds[static_cast<size_t>(order[static_cast<size_t>(i)])]
            = i < score.spokenBars ? BarKind::Spoken : BarKind::Voice;
    return kinds;
}

void composeMelody(Ctx& c, const std::vector<BarKind>& kinds)
{
    int low = 0;
    while (c.pitch(48, low) < c.g.leadLow) ++low;
    const std::vector<MotifNote> hook = makeMotif(c);
    const int base = c.baseVelocity() + 6;
    for (int bar = 0; bar < c.bars; ++bar) {
        const BarKind kind = kinds[static_cast<size_t>(bar)];
        const std::vector<MotifNote> motif = c.rng.chance(c.k.hook) ? hook : makeMotif(c);
        if (kind == BarKind::Spoken) continue;
        const int ch = kChannelOf[static_cast<int>(kind == BarKind::Voice ? Role::Voice : Role::Lead)];
        const int root = low + c.degreeOfBar(bar) % 7;
        for (size_t i = 0; i < motif.size(); ++i) {
            const int gap = (i + 1 < motif.size() ? motif[i + 1].step : 16) - motif[i].step;
            c.add(ch, c.pitch(48, root + motif[i].offset), c.velocity(base), c.onset(bar, motif[i].step),
                0.9 * gap * c.stepSamples);
        }
    }
}

// Picks each part's program: round(acousticShare * parts) of the parts, chosen at random, get acoustic ones.
void assignPrograms(Ctx& c, Score& score, bool pad)
{
    std::vector<Role> roles { Role::Chords, Role::Bass, Role::Lead };
    if (pad) roles.push_back(Role::Pad);
    if (c.k.drumsOn) roles.push_back(Role::Drums);
    std::vector<size_t> order(roles.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[c.rng.index(i)]);
    score.parts = static_cast<int>(roles.size());
    score.acousticParts = static_cast<int>(std::lround(c.k.acousticShare * score.parts));
    std::vector<char> acoustic(roles.size(), 0);
    for (int i = 0; i < score.acousticParts; ++i) acoustic[order[static_cast<size_t>(i)]] = 1;
    for (size_t i = 0; i < roles.size(); ++i) {
        const Palette& palette = c.g.palette[static_cast<int>(roles[i])];
        const std::vector<Instrument>& choices = acoustic[i] ? palette.acoustic : palette.electronic;
        const Instrument& instrument = choices[c.rng.index(choices.size())];
        ChannelSetup setup;
        setup.role = roles[i];
        setup.channel = kChannelOf[static_cast<int>(roles[i])];
        setup.bank = roles[i] == Role::Drums ? 128 : 0;
        setup.program = instrument.program;
        setup.acoustic = acoustic[i] != 0;
        setup.tag = instrument.tag;
        setup.volume = roles[i] == Role::Pad ? 80 : roles[i] == Role::Lead ? 110 : 100;
        score.channels.push_back(setup);
    }
    const bool choir = c.rng.chance(0.5);
    if (c.k.voiceShare > 0.0)
        score.channels.push_back({ Role::Voice, kChannelOf[static_cast<int>(Role::Voice)], 0, choir ? 52 : 53, true,
            choir ? "choir" : "vocals", 8192, 115, 72 }); // a sung vibrato
    const int bend = 8192 + c.k.detuneSign * static_cast<int>(std::lround(c.k.detuneCents * 8192.0 / 200.0));
    for (ChannelSetup& setup : score.channels)
        if (setup.role == Role::Lead || setup.role == Role::Voice) setup.pitchBend = std::clamp(bend, 0, 16383);
}

// Note pairs -> sorted events; a note ends no later than the next note on the same channel and key.
void emitEvents(std::vector<Note>& notes, int64_t lengthSamples, Score& score)
{
    std::sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
        return std::tie(a.channel, a.key, a.start, a.velocity) < std::tie(b.channel, b.key, b.start, b.velocity);
    });
    for (size_t i = 0; i < notes.size(); ++i) {
        Note& n = notes[i];
        if (n.start >= lengthSamples) continue;
        if (i + 1 < notes.size() && notes[i + 1].channel == n.channel && notes[i + 1].key == n.key)
            n.end = std::min(n.end, notes[i + 1].start);
        if (n.end <= n.start) continue;
        const auto ch = static_cast<uint8_t>(n.channel), key = static_cast<uint8_t>(n.key);
        score.events.push_back({ n.start, ch, 1, key, static_cast<uint8_t>(n.velocity) });
        score.events.push_back({ std::min(n.end, lengthSamples), ch, 0, key, 0 });
    }
    std::sort(score.events.begin(), score.events.end(), [](const NoteEvent& a, const NoteEvent& b) {
        return std::tie(a.sample, a.on, a.channel, a.key) < std::tie(b.sample, b.on, b.channel, b.key);
    });
}

} // namespace

SongKnobs drawKnobs(int genre, uint64_t seed)
{
    const GenreTemplate& g = genreTemplates().at(static_cast<size_t>(genre));
    Rng rng(seed);
    SongKnobs k;
    k.seed = seed;
    k.genre = genre;
    k.bpm = round3(rng.range(g.bpmMin, g.bpmMax));
    k.key = rng.between(0, 11);
    k.mode = rng.chance(g.majorChance) ? 1 : 0;
    k.energy = round3(rng.range(g.energyMin, g.energyMax));
    k.drumsOn = rng.chance(g.drumsChance);
    k.swing = rng.chance(g.swingChance) ? round3(rng.range(0.05, g.swingMax)) : 0.0;
    k.rubato = round3(rng.range(0.0, k.drumsOn ? g.rubatoMax / 3.0 : g.rubatoMax));
    k.acousticShare = round3(rng.chance(g.acousticChance) ? rng.range(0.7, 1.0) : rng.range(0.0, 0.3));
    k.voiceShare = rng.chance(g.voiceChance) ? round3(rng.range(0.2, 1.0)) : 0.0;
    k.speechShare = rng.chance(g.speechChance) ? round3(rng.range(0.15, 0.75)) : 0.0;
    const bool live = rng.chance(g.liveChance);
    k.crowdLevel = live ? round3(rng.range(0.25, 1.0)) : 0.0;
    k.reverb = round3(live ? rng.range(0.3, 0.8) : rng.range(0.0, 0.4));
    k.hook = round3(rng.uniform());
    k.detuneCents = rng.chance(0.4) ? round3(rng.range(12.0, 60.0)) : 0.0;
    k.detuneSign = rng.chance(0.5) ? 1 : -1;
    const double form = rng.uniform();
    k.formBars = form < 0.25 ? 2 : form < 0.4 ? 3 : 4;
    return k;
}

Score compose(const SongKnobs& knobs, double seconds, int sampleRate)
{
    const GenreTemplate& g = genreTemplates().at(static_cast<size_t>(knobs.genre));
    Ctx c(knobs, g, deriveSeed(knobs.seed, 1));
    c.sampleRate = sampleRate;
    c.stepSamples = 60.0 / knobs.bpm / 4.0 * sampleRate;
    Score score;
    score.lengthSamples = static_cast<int64_t>(std::llround(seconds * sampleRate));
    c.bars = std::max(1, static_cast<int>(std::ceil(score.lengthSamples / (16.0 * c.stepSamples))));
    score.bars = c.bars;
    const std::vector<std::vector<int>>& choices = progressions(knobs.mode, knobs.formBars, g.sevenths);
    c.chords = choices[c.rng.index(choices.size())];
    const bool pad = c.rng.chance(0.25 + 0.5 * knobs.energy);
    assignPrograms(c, score, pad);
    const std::vector<BarKind> kinds = assignBars(c, score);
    if (knobs.drumsOn) composeDrums(c);
    composeBass(c);
    composeChords(c);
    if (pad) composePad(c);
    composeMelody(c, kinds);
    for (int bar = 0; bar < c.bars; ++bar)
        if (kinds[static_cast<size_t>(bar)] == BarKind::Spoken) {
            const int64_t start = static_cast<int64_t>(std::llround(bar * 16 * c.stepSamples));
            const int64_t end
                = std::min(score.lengthSamples, static_cast<int64_t>(std::llround((bar + 1) * 16 * c.stepSamples)));
            if (end > start) score.spoken.push_back({ start, end - start });
        }
    emitEvents(c.notes, score.lengthSamples, score);
    return score;
}

} // namespace tmk::world
