// The world's composer and metadata (engine/world): knob ranges and spread, mode purity, determinism, the
// catalogue and the prompt vocabulary.
#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <set>
#include <sstream>

#include "genres.h"
#include "metadata.h"
#include "tastemaker/world/composer.h"
#include "tastemaker/world/world.h"

using namespace tmk::world;

namespace {

constexpr int kSeeds = 200;
constexpr int kRate = 16000;

uint64_t seedOf(int genre, int i)
{
    return 1000003ULL * static_cast<uint64_t>(genre) + static_cast<uint64_t>(i) + 17;
}

std::vector<std::string> splitPrompt(const std::string& prompt)
{
    std::vector<std::string> tags;
    std::stringstream stream(prompt);
    for (std::string tag; std::getline(stream, tag, ',');) {
        if (!tag.empty() && tag[0] == ' ') tag.erase(0, 1);
        tags.push_back(tag);
    }
    if (!tags.empty() && !tags[0].empty()) tags[0][0] = static_cast<char>(std::tolower(tags[0][0]));
    return tags;
}

} // namespace

TEST(WorldComposer, HasTwelveGenresWithSpotifyNames)
{
    const std::vector<std::string>& names = genreNames();
    EXPECT_EQ(names.size(), 12u);
    for (const char* name : { "rock", "pop", "funk", "house", "techno", "hip-hop", "jazz", "folk", "classical",
             "ambient", "reggae", "metal" })
        EXPECT_GE(genreIndex(name), 0) << name;
    EXPECT_EQ(genreIndex("polka"), -1);
}

TEST(WorldComposer, KnobsStayInRangeAndSpreadWithinEachGenre)
{
    for (int g = 0; g < static_cast<int>(genreNames().size()); ++g) {
        const GenreTemplate& t = genreTemplates()[static_cast<size_t>(g)];
        double lowEnergy = 1.0, highEnergy = 0.0, lowBpm = 1e9, highBpm = 0.0;
        std::set<int> modes, keys;
        for (int i = 0; i < kSeeds; ++i) {
            const SongKnobs k = drawKnobs(g, seedOf(g, i));
            ASSERT_EQ(k.genre, g);
            EXPECT_GE(k.bpm, 60.0);
            EXPECT_LE(k.bpm, 160.0);
            EXPECT_GE(k.bpm, t.bpmMin);
            EXPECT_LE(k.bpm, t.bpmMax);
            EXPECT_TRUE(k.key >= 0 && k.key <= 11);
            EXPECT_TRUE(k.mode == 0 || k.mode == 1);
            for (double v :
                { k.energy, k.rubato, k.acousticShare, k.voiceShare, k.speechShare, k.crowdLevel, k.reverb, k.hook }) {
                EXPECT_GE(v, 0.0);
                EXPECT_LE(v, 1.0);
            }
            EXPECT_GE(k.swing, 0.0);
            EXPECT_LE(k.swing, 0.6);
            EXPECT_GE(k.detuneCents, 0.0);
            EXPECT_LE(k.detuneCents, 60.0);
            EXPECT_TRUE(k.formBars >= 2 && k.formBars <= 4);
            lowEnergy = std::min(lowEnergy, k.energy);
            highEnergy = std::max(highEnergy, k.energy);
            lowBpm = std::min(lowBpm, k.bpm);
            highBpm = std::max(highBpm, k.bpm);
            modes.insert(k.mode);
            keys.insert(k.key);
        }
        EXPECT_GT(highEnergy - lowEnergy, 0.4) << t.name;
        EXPECT_GT(highBpm - lowBpm, 0.8 * (t.bpmMax - t.bpmMin)) << t.name;
        EXPECT_EQ(modes.size(), 2u) << t.name;
        EXPECT_EQ(keys.size(), 12u) << t.name;
    }
}

TEST(WorldComposer, ProgressionsAreDiatonicAndTonicHeavy)
{
    for (int mode : { 0, 1 })
        for (int bars : { 2, 3, 4 })
            for (bool jazz : { false, true })
                for (const std::vector<int>& p : progressions(mode, bars, jazz)) {
                    ASSERT_EQ(static_cast<int>(p.size()), bars);
                    EXPECT_EQ(p.front(), 0);
                    EXPECT_GE(std::count(p.begin(), p.end(), 0), 1);
                    for (int degree : p) EXPECT_TRUE(degree >= 0 && degree < 7);
                }
}

TEST(WorldComposer, EveryPitchedNoteIsInTheSongsMode)
{
    for (int g = 0; g < static_cast<int>(genreNames().size()); ++g)
        for (int i = 0; i < 10; ++i) {
            const SongKnobs k = drawKnobs(g, seedOf(g, i));
            const Score score = compose(k, 8.0, kRate);
            const int* scale = modeScale(k.mode);
            int pitched = 0;
            for (const NoteEvent& e : score.events) {
                if (!e.on || e.channel == 9) continue;
                ++pitched;
                const int degree = ((e.key - k.key) % 12 + 12) % 12;
                EXPECT_NE(std::find(scale, scale + 7, degree), scale + 7)
                    << genreNames()[static_cast<size_t>(g)] << " seed " << k.seed << " key " << int(e.key);
            }
            EXPECT_GT(pitched, 8);
        }
}

TEST(WorldComposer, ScoresFollowTheKnobs)
{
    for (int g = 0; g < static_cast<int>(genreNames().size()); ++g)
        for (int i = 0; i < 20; ++i) {
            const SongKnobs k = drawKnobs(g, seedOf(g, i));
            const Score score = compose(k, 6.0, kRate);
            EXPECT_EQ(score.lengthSamples, 6 * kRate);
            EXPECT_TRUE(std::is_sorted(score.events.begin(), score.events.end(),
                [](const NoteEvent& a, const NoteEvent& b) { return a.sample < b.sample; }));
            for (const NoteEvent& e : score.events) EXPECT_LE(e.sample, score.lengthSamples);
            const bool drumPart = std::any_of(score.channels.begin(), score.channels.end(),
                [](const ChannelSetup& c) { return c.role == Role::Drums; });
            EXPECT_EQ(drumPart, k.drumsOn);
            EXPECT_EQ(score.acousticParts, static_cast<int>(std::lround(k.acousticShare * score.parts)));
            EXPECT_EQ(score.spokenBars, static_cast<int>(std::lround(k.speechShare * score.bars)));
            EXPECT_EQ(static_cast<int>(score.spoken.size()), score.spokenBars);
            EXPECT_LE(score.voiceBars + score.spokenBars, score.bars);
            // The expected number of bars: the song's length at the knob's tempo.
            const double stepSamples = 60.0 / k.bpm / 4.0 * kRate;
            EXPECT_EQ(score.bars, static_cast<int>(std::ceil(6.0 * kRate / (16.0 * stepSamples))));
        }
}

TEST(WorldComposer, SameSeedSameSongOtherSeedOtherSong)
{
    const SongKnobs a = drawKnobs(3, 42), b = drawKnobs(3, 42), c = drawKnobs(3, 43);
    EXPECT_EQ(a.bpm, b.bpm);
    EXPECT_EQ(a.energy, b.energy);
    const Score sa = compose(a, 5.0, kRate), sb = compose(b, 5.0, kRate), sc = compose(c, 5.0, kRate);
    ASSERT_EQ(sa.events.size(), sb.events.size());
    for (size_t i = 0; i < sa.events.size(); ++i) {
        EXPECT_EQ(sa.events[i].sample, sb.events[i].sample);
        EXPECT_EQ(sa.events[i].key, sb.events[i].key);
        EXPECT_EQ(sa.events[i].velocity, sb.events[i].velocity);
    }
    EXPECT_TRUE(a.bpm != c.bpm || sa.events.size() != sc.events.size());
}

TEST(WorldMetadata, PromptsUseTheClosedVocabulary)
{
    const std::vector<std::string>& vocabulary = promptVocabulary();
    for (const char* word : { "slow", "fast", "happy", "sad", "acoustic", "electronic", "classic rock",
             "electric guitar", "keyboard", "drums", "piano", "hip hop", "jazz", "techno", "vocals", "choir" })
        EXPECT_TRUE(std::binary_search(vocabulary.begin(), vocabulary.end(), word)) << word;
    bool classicRockExample = false;
    for (int g = 0; g < static_cast<int>(genreNames().size()); ++g)
        for (int i = 0; i < kSeeds; ++i) {
            const SongKnobs k = drawKnobs(g, seedOf(g, i));
            const Score score = compose(k, 4.0, kRate);
            const std::string prompt = promptFor(k, score);
            const std::vector<std::string> tags = splitPrompt(prompt);
            ASSERT_GE(tags.size(), 3u) << prompt;
            EXPECT_TRUE(std::isupper(static_cast<unsigned char>(prompt[0]))) << prompt;
            for (const std::string& tag : tags)
                EXPECT_TRUE(std::binary_search(vocabulary.begin(), vocabulary.end(), tag)) << tag << " in " << prompt;
            if (prompt.rfind("Classic rock, electric guitar, keyboard, drums", 0) == 0) classicRockExample = true;
            // Happy songs are major and sad ones minor, slow ones below 90 BPM and fast ones above 125.
            for (const std::string& tag : tags) {
                if (tag == "happy" || tag == "calm") {
                    EXPECT_EQ(k.mode, 1);
                }
                if (tag == "sad" || tag == "dark") {
                    EXPECT_EQ(k.mode, 0);
                }
                if (tag == "slow") {
                    EXPECT_LT(k.bpm, 90.0);
                }
                if (tag == "fast") {
                    EXPECT_GT(k.bpm, 125.0);
                }
            }
        }
    EXPECT_TRUE(classicRockExample) << "no rock prompt starts with the issue's example";
}

TEST(WorldMetadata, CatalogueHasUniqueIdsAndJoinableNames)
{
    std::vector<int> genres;
    for (int i = 0; i < 600; ++i) genres.push_back(i % 12);
    const std::vector<CatalogueEntry> catalogue = buildCatalogue(genres, 5, 0.5);
    ASSERT_EQ(catalogue.size(), genres.size());
    std::set<std::string> ids, names;
    int youtube = 0;
    for (const CatalogueEntry& e : catalogue) {
        EXPECT_EQ(e.trackId.size(), 22u);
        EXPECT_TRUE(ids.insert(e.trackId).second);
        EXPECT_TRUE(names.insert(e.artist + "|" + e.title).second) << e.artist << " - " << e.title;
        EXPECT_EQ(e.title.find_first_of("()[]&,\""), std::string::npos);
        youtube += e.youtube ? 1 : 0;
    }
    EXPECT_EQ(youtube, 300);
    const std::vector<CatalogueEntry> again = buildCatalogue(genres, 5, 0.5);
    EXPECT_EQ(again[17].trackId, catalogue[17].trackId);
    EXPECT_EQ(again[17].title, catalogue[17].title);
}

TEST(WorldMetadata, DerivedValuesStayOnSpotifyScales)
{
    std::vector<int> genres;
    std::vector<SongKnobs> knobs;
    std::vector<SongOutcome> outcomes;
    for (int i = 0; i < 120; ++i) {
        genres.push_back(i % 12);
        knobs.push_back(drawKnobs(i % 12, seedOf(i % 12, i)));
        const Score score = compose(knobs.back(), 4.0, kRate);
        SongOutcome o;
        o.loudnessLufs = -20.0;
        o.bars = score.bars;
        o.voiceBars = score.voiceBars;
        o.spokenBars = score.spokenBars;
        o.acousticParts = score.acousticParts;
        o.parts = score.parts;
        outcomes.push_back(o);
    }
    const std::vector<CatalogueEntry> catalogue = buildCatalogue(genres, 9, 0.5);
    const std::vector<TrackValues> values = deriveValues(knobs, outcomes, catalogue, 9);
    for (const TrackValues& v : values) {
        for (double x :
            { v.danceability, v.energy, v.speechiness, v.acousticness, v.instrumentalness, v.liveness, v.valence }) {
            EXPECT_GE(x, 0.0);
            EXPECT_LE(x, 1.0);
        }
        EXPECT_TRUE(v.popularity >= 0 && v.popularity <= 100);
        EXPECT_TRUE(v.rating >= 1.0 && v.rating <= 5.0);
        EXPECT_GT(v.views, 0);
        EXPECT_GT(v.likes, 0);
        const double likeRatio = static_cast<double>(v.likes) / static_cast<double>(v.likes + v.dislikes);
        EXPECT_GT(likeRatio, 0.45);
    }
    const std::string csv = tracksCsv(knobs, outcomes, catalogue, values, 4.0);
    EXPECT_EQ(csv.substr(0, csv.find('\n')),
        ",track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,loudness,mode,"
        "speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,track_genre,audio_path,"
        "my_rating");
}
