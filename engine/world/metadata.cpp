// Catalogue, prompts and CSV rows (metadata.h); the formulas are documented in docs/world.md.
#include "metadata.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "genres.h"
#include "rng.h"
#include "tastemaker/csv_field.h"
#include "tastemaker/world/world.h"

namespace tmk::world {

namespace {

// Random-stream numbers under the song seed and the world seed (documented in docs/world.md).
constexpr uint64_t kStreamPrompt = 2, kStreamMetadata = 3;
constexpr uint64_t kStreamTrackIds = 0x1d000000, kStreamArtists = 0xa2000000, kStreamTitles = 0x71000000,
                   kStreamTaste = 0x7a57e;

const char* const kAdjectives[] = { "Velvet", "Neon", "Golden", "Silent", "Electric", "Hollow", "Crimson", "Paper",
    "Wild", "Broken", "Midnight", "Silver", "Lonely", "Burning", "Frozen", "Gentle", "Restless", "Blue", "Distant",
    "Sweet", "Northern", "Bright", "Secret", "Little", "Endless", "Faded", "Rolling", "Quiet", "Lucky", "Shallow",
    "Heavy", "Tender", "Savage", "Hidden", "Sacred", "Painted", "Liquid", "Cosmic", "Rusty", "Amber", "Pale", "Crystal",
    "Wandering", "Solar", "Copper", "Dusty", "Scarlet", "Humble" };
const char* const kNouns[] = { "Owl", "Harbor", "River", "Engine", "Garden", "Mirror", "Comet", "Lantern", "Echo",
    "Tiger", "Highway", "Ocean", "Signal", "Valley", "Circus", "Machine", "Feather", "Thunder", "Island", "Shadow",
    "Window", "Forest", "Station", "Desert", "Rocket", "Canyon", "Candle", "Meadow", "Bridge", "Horizon", "Satellite",
    "Orchard", "Anchor", "Wolf", "Sparrow", "Compass", "Glacier", "Harvest", "Lighthouse", "Avenue", "Prairie",
    "Engine Room", "Carousel", "Kingdom", "Tide", "Ember", "Summit", "Parade" };
const char* const kFirstNames[] = { "Mara", "Jonas", "Lila", "Theo", "Nadia", "Felix", "Ruby", "Oscar", "Iris", "Milo",
    "Ada", "Caleb", "Nina", "Hugo", "Vera", "Elias", "June", "Arlo", "Selma", "Rafael", "Tess", "Omar", "Greta", "Leon",
    "Maya", "Silas", "Cora", "Emil", "Hazel", "Jasper" };
const char* const kLastNames[]
    = { "Quinn", "Holloway", "Marsh", "Okafor", "Lindqvist", "Reyes", "Calloway", "Brandt", "Moreau", "Nakamura",
          "Fairweather", "Delgado", "Ashby", "Novak", "Kincaid", "Sorensen", "Abara", "Whitlock", "Castell", "Vance",
          "Ferrante", "Hale", "Ivanova", "Pryce", "Santos", "Wilder", "Yates", "Mercer", "Dunmore", "Blackwood" };
const char* const kVerbs[] = { "Chasing", "Holding", "Dancing", "Burning", "Finding", "Leaving", "Counting", "Waiting",
    "Calling", "Falling", "Running", "Dreaming", "Drifting", "Breaking", "Keeping", "Losing" };

template <size_t N> const char* pick(Rng& rng, const char* const (&words)[N])
{
    return words[rng.index(N)];
}

std::string number(double value, int decimals)
{
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed, decimals);
    return std::string(buffer, result.ptr);
}

double clamp01(double x)
{
    return std::clamp(x, 0.0, 1.0);
}

std::string trackId(uint64_t worldSeed, size_t index)
{
    static const char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string id;
    for (uint64_t part = 0; part < 2; ++part) {
        uint64_t bits = deriveSeed(worldSeed, kStreamTrackIds + 2 * index + part);
        for (int i = 0; i < 11; ++i, bits /= 62) id += kBase62[bits % 62];
    }
    return id;
}

std::string artistName(Rng& rng)
{
    switch (rng.index(3)) {
    case 0:
        return std::string("The ") + pick(rng, kAdjectives) + " " + pick(rng, kNouns) + "s";
    case 1:
        return std::string(pick(rng, kFirstNames)) + " " + pick(rng, kLastNames);
    default:
        return std::string(pick(rng, kAdjectives)) + " " + pick(rng, kNouns);
    }
}

std::string titleName(Rng& rng)
{
    switch (rng.index(3)) {
    case 0:
        return std::string(pick(rng, kAdjectives)) + " " + pick(rng, kNouns);
    case 1:
        return std::string(pick(rng, kNouns)) + " of the " + pick(rng, kNouns);
    default:
        return std::string(pick(rng, kVerbs)) + " the " + pick(rng, kAdjectives) + " " + pick(rng, kNouns);
    }
}

// A fresh name from `make` that is not in `used` (retries, then a numbered variant).
template <typename Make> std::string uniqueName(Rng& rng, std::set<std::string>& used, Make make)
{
    for (int attempt = 0; attempt < 64; ++attempt) {
        std::string name = make(rng);
        if (used.insert(name).second) return name;
    }
    for (int n = 2;; ++n) {
        std::string name = make(rng) + " " + std::to_string(n);
        if (used.insert(name).second) return name;
    }
}

struct Artist {
    std::string name, album;
    double fame = 0.0, engagement = 0.0;
    std::set<std::string> titles;
};

} // namespace

std::vector<CatalogueEntry> buildCatalogue(const std::vector<int>& genres, uint64_t worldSeed, double youtubeFraction)
{
    // Each genre has its own artists, about four songs each; a song's artist cycles through its genre's artists.
    const size_t genreCount = genreTemplates().size();
    std::vector<size_t> songsPerGenre(genreCount, 0);
    for (int g : genres) ++songsPerGenre[static_cast<size_t>(g)];
    Rng artistRng(deriveSeed(worldSeed, kStreamArtists));
    std::set<std::string> artistNames, albumNames;
    std::vector<std::vector<Artist>> artists(genreCount);
    for (size_t g = 0; g < genreCount; ++g) {
        const size_t count = (songsPerGenre[g] + 3) / 4;
        for (size_t a = 0; a < count; ++a) {
            Artist artist;
            artist.name = uniqueName(artistRng, artistNames, artistName);
            artist.album = uniqueName(artistRng, albumNames, titleName);
            artist.fame = artistRng.uniform();
            artist.engagement = artistRng.uniform();
            artists[g].push_back(std::move(artist));
        }
    }
    std::vector<CatalogueEntry> catalogue;
    std::vector<size_t> seen(genreCount, 0);
    Rng titleRng(deriveSeed(worldSeed, kStreamTitles));
    for (size_t i = 0; i < genres.size(); ++i) {
        const auto g = static_cast<size_t>(genres[i]);
        const size_t j = seen[g]++;
        Artist& artist = artists[g][j % artists[g].size()];
        CatalogueEntry entry;
        entry.trackId = trackId(worldSeed, i);
        entry.artist = artist.name;
        entry.album = artist.album;
        entry.title = uniqueName(titleRng, artist.titles, titleName);
        entry.fame = artist.fame;
        entry.engagement = artist.engagement;
        // Evenly spread within the genre: song j has a row when floor(f*(j+1) + 1/2) steps up.
        entry.youtube = std::floor(youtubeFraction * static_cast<double>(j + 1) + 0.5)
            > std::floor(youtubeFraction * static_cast<double>(j) + 0.5);
        catalogue.push_back(std::move(entry));
    }
    return catalogue;
}

double targetLoudness(const SongKnobs& knobs)
{
    return -26.0 + 14.0 * knobs.energy;
}

std::string promptFor(const SongKnobs& k, const Score& score)
{
    Rng rng(deriveSeed(k.seed, kStreamPrompt));
    const GenreTemplate& g = genreTemplates().at(static_cast<size_t>(k.genre));
    auto tagOf = [&](Role role) -> std::string {
        for (const ChannelSetup& c : score.channels)
            if (c.role == role) return c.tag;
        return "";
    };
    const bool acousticKit = [&] {
        for (const ChannelSetup& c : score.channels)
            if (c.role == Role::Drums) return c.acoustic;
        return false;
    }();
    std::string genre = g.promptName;
    if (genre == "rock" && tagOf(Role::Lead) == "electric guitar" && acousticKit) genre = "classic rock";
    std::vector<std::string> candidates;
    if (score.voiceBars + score.spokenBars < score.bars) candidates.push_back(tagOf(Role::Lead));
    if (score.voiceBars > 0) candidates.push_back(tagOf(Role::Voice));
    if (score.spokenBars > 0) candidates.push_back(k.genre == genreIndex("hip-hop") ? "rap" : "spoken word");
    for (Role role : { Role::Chords, Role::Drums, Role::Pad, Role::Bass }) candidates.push_back(tagOf(role));
    std::vector<std::string> tags { genre };
    const size_t instruments = rng.chance(0.7) ? 3 : 2;
    for (const std::string& tag : candidates)
        if (!tag.empty() && tags.size() < 1 + instruments && std::find(tags.begin(), tags.end(), tag) == tags.end())
            tags.push_back(tag);
    const double acoustic = score.parts > 0 ? static_cast<double>(score.acousticParts) / score.parts : 0.0;
    if (rng.chance(0.8) && acoustic >= 0.6)
        tags.push_back("acoustic");
    else if (rng.chance(0.8) && acoustic <= 0.4)
        tags.push_back("electronic");
    if (k.crowdLevel >= 0.5 && rng.chance(0.8)) tags.push_back("live");
    if (rng.chance(0.8)) tags.push_back(k.bpm < 90.0 ? "slow" : k.bpm > 125.0 ? "fast" : "mid-tempo");
    if (rng.chance(0.8))
        tags.push_back(k.mode ? (k.energy < 0.35 ? "calm" : "happy") : (k.energy > 0.7 ? "dark" : "sad"));
    std::string prompt;
    for (const std::string& tag : tags) prompt += (prompt.empty() ? "" : ", ") + tag;
    prompt[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(prompt[0])));
    return prompt;
}

std::vector<TrackValues> deriveValues(const std::vector<SongKnobs>& knobs, const std::vector<SongOutcome>& outcomes,
    const std::vector<CatalogueEntry>& catalogue, uint64_t worldSeed)
{
    // The listener behind my_rating has a fixed taste per genre (a world-level latent).
    Rng tasteRng(deriveSeed(worldSeed, kStreamTaste));
    std::vector<double> taste;
    for (size_t g = 0; g < genreTemplates().size(); ++g) taste.push_back(tasteRng.range(-0.3, 0.3));
    std::vector<TrackValues> values;
    for (size_t i = 0; i < knobs.size(); ++i) {
        const SongKnobs& k = knobs[i];
        const SongOutcome& o = outcomes[i];
        const CatalogueEntry& e = catalogue[i];
        Rng rng(deriveSeed(k.seed, kStreamMetadata));
        double n[12];
        for (double& x : n) x = rng.normal(); // a fixed number of draws, whatever the branches below
        const double chance = rng.uniform();
        const double drums = k.drumsOn ? 1.0 : 0.0, tempo = (k.bpm - 60.0) / 100.0;
        const double tempoFit = 1.0 - std::min(1.0, std::fabs(k.bpm - 120.0) / 60.0);
        const double bars = std::max(1, o.bars), detune = k.detuneCents / 60.0;
        TrackValues v;
        v.danceability = clamp01(0.1 + 0.4 * drums + 0.22 * (1.0 - k.rubato) + 0.15 * tempoFit - 0.3 * k.swing
            + 0.08 * k.energy * drums + 0.015 * n[0]);
        v.energy = clamp01(0.88 * k.energy + 0.1 * tempo + 0.015 * n[1]);
        v.speechiness = clamp01(0.03 + 0.9 * o.spokenBars / bars + 0.01 * std::fabs(n[2]));
        v.acousticness = std::clamp(0.02 + 0.96 * o.acousticParts / std::max(1, o.parts) + 0.02 * n[3], 0.001, 0.996);
        v.instrumentalness = clamp01(0.97 - 0.95 * (o.voiceBars + o.spokenBars) / bars + 0.01 * n[4]);
        v.liveness = clamp01(0.05 + 0.75 * k.crowdLevel + 0.15 * k.reverb + 0.015 * n[5]);
        v.valence = clamp01(0.1 + 0.42 * k.mode + 0.18 * tempo + 0.2 * k.energy + 0.03 * n[6]);
        v.popularity
            = std::clamp(static_cast<int>(std::lround(10.0 + 40.0 * k.hook + 40.0 * e.fame + 5.0 * n[7])), 0, 100);
        v.explicitLyrics = o.spokenBars > 0 && chance < 0.4;
        const double liking = 1.2 * v.acousticness + 0.8 * v.valence + 0.6 * k.hook - 1.0 * detune - 0.6 * v.speechiness
            + taste[static_cast<size_t>(k.genre)] + 0.25 * n[8];
        v.rating = std::round(10.0 * (1.0 + 4.0 / (1.0 + std::exp(-2.5 * (liking - 1.0))))) / 10.0;
        v.views = std::llround(std::pow(10.0, 3.3 + 4.2 * e.fame + 0.4 * k.hook + 0.3 * n[9]));
        const double likesPerView = std::clamp(0.002 + 0.02 * e.engagement + 0.002 * n[10], 0.0005, 0.05);
        v.likes = std::max<int64_t>(1, std::llround(static_cast<double>(v.views) * likesPerView));
        v.comments = std::llround(static_cast<double>(v.likes) * (0.03 + 0.05 * std::fabs(n[11]) / 3.0));
        const double likeRatio = std::clamp(0.985 - 0.3 * detune - 0.01 * std::fabs(n[10] + n[11]), 0.5, 0.999);
        v.dislikes = std::llround(static_cast<double>(v.likes) * (1.0 - likeRatio) / likeRatio);
        values.push_back(v);
    }
    return values;
}

const std::vector<std::string>& tracksColumns()
{
    static const std::vector<std::string> columns { "", "track_id", "artists", "album_name", "track_name", "popularity",
        "duration_ms", "explicit", "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
        "instrumentalness", "liveness", "valence", "tempo", "time_signature", "track_genre", "audio_path",
        "my_rating" };
    return columns;
}

const std::vector<std::string>& youtubeColumns()
{
    static const std::vector<std::string> columns { "", "Artist", "Track", "Album", "Uri", "Views", "Likes", "Comments",
        "Dislikes" };
    return columns;
}

const std::vector<std::string>& knobsColumns()
{
    static const std::vector<std::string> columns { "track_id", "song_seed", "track_genre", "bpm", "key", "mode",
        "energy", "swing", "rubato", "drums_on", "acoustic_share", "acoustic_parts", "parts", "voice_share",
        "voice_bars", "spoken_share", "spoken_bars", "bars", "crowd_level", "reverb", "hook", "detune_cents",
        "form_bars", "loudness_target_lufs", "loudness_lufs", "audio_path" };
    return columns;
}

const std::vector<std::string>& promptVocabulary()
{
    static const std::vector<std::string> words = [] {
        std::vector<std::string> w { "classic rock", "choir", "vocals", "rap", "spoken word", "acoustic", "electronic",
            "live", "slow", "mid-tempo", "fast", "happy", "calm", "sad", "dark" };
        for (const GenreTemplate& g : genreTemplates()) {
            w.emplace_back(g.promptName);
            for (const Palette& palette : g.palette)
                for (const std::vector<Instrument>* list : { &palette.acoustic, &palette.electronic })
                    for (const Instrument& instrument : *list) w.emplace_back(instrument.tag);
        }
        std::sort(w.begin(), w.end());
        w.erase(std::unique(w.begin(), w.end()), w.end());
        return w;
    }();
    return words;
}

namespace {

std::string header(const std::vector<std::string>& columns)
{
    std::string line;
    for (size_t i = 0; i < columns.size(); ++i) line += (i ? "," : "") + columns[i];
    return line + "\n";
}

std::string audioPath(const CatalogueEntry& e)
{
    return "audio/" + e.trackId + ".wav";
}

} // namespace

std::string tracksCsv(const std::vector<SongKnobs>& knobs, const std::vector<SongOutcome>& outcomes,
    const std::vector<CatalogueEntry>& catalogue, const std::vector<TrackValues>& values, double secondsPerSong)
{
    std::string csv = header(tracksColumns());
    for (size_t i = 0; i < knobs.size(); ++i) {
        const SongKnobs& k = knobs[i];
        const TrackValues& v = values[i];
        const CatalogueEntry& e = catalogue[i];
        const std::vector<std::string> cells { std::to_string(i), e.trackId, csvField(e.artist), csvField(e.album),
            csvField(e.title), std::to_string(v.popularity), std::to_string(std::llround(secondsPerSong * 1000.0)),
            v.explicitLyrics ? "True" : "False", number(v.danceability, 3), number(v.energy, 3), std::to_string(k.key),
            number(outcomes[i].loudnessLufs, 3), std::to_string(k.mode), number(v.speechiness, 4),
            number(v.acousticness, 4), number(v.instrumentalness, 4), number(v.liveness, 4), number(v.valence, 3),
            number(k.bpm, 3), "4", genreNames()[static_cast<size_t>(k.genre)], audioPath(e), number(v.rating, 1) };
        csv += header(cells);
    }
    return csv;
}

std::string youtubeCsv(const std::vector<CatalogueEntry>& catalogue, const std::vector<TrackValues>& values)
{
    std::string csv = header(youtubeColumns());
    size_t row = 0;
    for (size_t i = 0; i < catalogue.size(); ++i) {
        const CatalogueEntry& e = catalogue[i];
        const TrackValues& v = values[i];
        if (!e.youtube) continue;
        csv += header({ std::to_string(row++), csvField(e.artist), csvField(e.title), csvField(e.album),
            "spotify:track:" + e.trackId, std::to_string(v.views), std::to_string(v.likes), std::to_string(v.comments),
            std::to_string(v.dislikes) });
    }
    return csv;
}

std::string promptsCsv(const std::vector<SongOutcome>& outcomes, const std::vector<CatalogueEntry>& catalogue)
{
    std::string csv = "track_id,prompt\n";
    for (size_t i = 0; i < catalogue.size(); ++i)
        csv += catalogue[i].trackId + "," + csvField(outcomes[i].prompt) + "\n";
    return csv;
}

std::string knobsCsv(const std::vector<SongKnobs>& knobs, const std::vector<SongOutcome>& outcomes,
    const std::vector<CatalogueEntry>& catalogue)
{
    std::string csv = header(knobsColumns());
    for (size_t i = 0; i < knobs.size(); ++i) {
        const SongKnobs& k = knobs[i];
        const SongOutcome& o = outcomes[i];
        csv += header({ catalogue[i].trackId, std::to_string(k.seed), genreNames()[static_cast<size_t>(k.genre)],
            number(k.bpm, 3), std::to_string(k.key), std::to_string(k.mode), number(k.energy, 3), number(k.swing, 3),
            number(k.rubato, 3), k.drumsOn ? "1" : "0", number(k.acousticShare, 3), std::to_string(o.acousticParts),
            std::to_string(o.parts), number(k.voiceShare, 3), std::to_string(o.voiceBars), number(k.speechShare, 3),
            std::to_string(o.spokenBars), std::to_string(o.bars), number(k.crowdLevel, 3), number(k.reverb, 3),
            number(k.hook, 3), number(k.detuneCents > 0.0 ? k.detuneSign * k.detuneCents : 0.0, 3),
            std::to_string(k.formBars), number(o.targetLufs, 3), number(o.loudnessLufs, 3), audioPath(catalogue[i]) });
    }
    return csv;
}

} // namespace tmk::world
