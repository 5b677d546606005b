// LM training's data side (engine/lmtrain/lm_data): crops from songs' openings, prompt augmentation, and the
// tag contrast's swapped and shortened prompts.
#include <gtest/gtest.h>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "lmtrain/lm_data.h"

using namespace tmk;

TEST(LmData, StartShareCropsFromTheSongsFirstFrame)
{
    const at::Tensor codes = at::arange(4 * 2 * 100, at::kLong).reshape({ 4, 2, 100 });
    const std::vector<int64_t> songs = { 0, 1, 2, 3 };
    auto starts = [&](double share) {
        std::mt19937_64 random(7);
        const at::Tensor crops = lmtrain::randomCodeCrops(codes, songs, 400, 10, random, nullptr, share);
        int atZero = 0;
        for (int64_t b = 0; b < crops.size(0); ++b) atZero += crops[b][0][0].item<int64_t>() % 100 == 0;
        return atZero;
    };
    EXPECT_LT(starts(0.0), 20); // uniform over 91 offsets: about 4 of 400
    EXPECT_EQ(starts(1.0), 400);
    const int half = starts(0.5);
    EXPECT_GT(half, 150);
    EXPECT_LT(half, 260);
    std::mt19937_64 a(7), b(7);
    EXPECT_TRUE(at::equal(lmtrain::randomCodeCrops(codes, songs, 8, 10, a, nullptr),
        lmtrain::randomCodeCrops(codes, songs, 8, 10, b, nullptr, 0.0)));
}

TEST(LmData, PromptAugmentationOnlyDropsTags)
{
    const lmtrain::WorldSong song { "x", "rock", "Classic rock, electric guitar, keyboard, drums, fast, happy", {} };
    std::mt19937_64 random(5);
    const std::vector<std::string> full = lmtrain::splitTags(song.prompt);
    int genreOnly = 0, shortened = 0;
    for (int i = 0; i < 400; ++i) {
        const std::string prompt = lmtrain::augmentPrompt(song, { 0.2, 0.25 }, random);
        if (prompt == "rock") {
            ++genreOnly;
            continue;
        }
        const std::vector<std::string> tags = lmtrain::splitTags(prompt);
        ASSERT_FALSE(tags.empty());
        EXPECT_EQ(tags[0], "Classic rock");
        size_t next = 0; // every tag kept, in the original order
        for (const std::string& tag : tags) {
            while (next < full.size() && full[next] != tag) ++next;
            ASSERT_LT(next, full.size()) << prompt;
            ++next;
        }
        if (tags.size() < full.size()) ++shortened;
    }
    EXPECT_NEAR(genreOnly / 400.0, 0.2, 0.06);
    EXPECT_GT(shortened, 200);
}

TEST(LmData, SwapContrastTagSwapsOneTagForAnOpposite)
{
    std::mt19937_64 random(5);
    std::set<std::string> seen;
    for (int i = 0; i < 60; ++i) seen.insert(lmtrain::swapContrastTag("Rock, piano, Fast, happy", random));
    EXPECT_EQ(seen, (std::set<std::string> { "Rock, piano, slow, happy", "Rock, piano, Fast, sad" }));
    seen.clear();
    for (int i = 0; i < 60; ++i) seen.insert(lmtrain::swapContrastTag("Folk, mid-tempo, calm, acoustic", random));
    EXPECT_EQ(seen,
        (std::set<std::string> { "Folk, slow, calm, acoustic", "Folk, fast, calm, acoustic",
            "Folk, mid-tempo, dark, acoustic", "Folk, mid-tempo, calm, electronic" }));
    EXPECT_EQ(lmtrain::swapContrastTag("Rock, piano, live", random), "");
    EXPECT_EQ(lmtrain::swapContrastTag("Electronic", random), "") << "the genre is never swapped";
    // The contrast's prompts keep the genre and the contrast tags, and drop the others at the given rate.
    int kept = 0;
    for (int i = 0; i < 400; ++i) {
        const std::string reduced = lmtrain::dropOtherThanContrastTags("Rock, piano, drums, fast, happy", 0.75, random);
        EXPECT_EQ(reduced.rfind("Rock, ", 0), 0u) << reduced;
        EXPECT_NE(reduced.find("fast, happy"), std::string::npos) << reduced;
        kept += (reduced.find("piano") != std::string::npos) + (reduced.find("drums") != std::string::npos);
    }
    EXPECT_NEAR(kept / 800.0, 0.25, 0.05);
    EXPECT_EQ(lmtrain::dropOtherThanContrastTags("Rock, piano, slow", 0.0, random), "Rock, piano, slow");
    EXPECT_EQ(lmtrain::dropOtherThanContrastTags("Rock, piano, slow", 1.0, random), "Rock, slow");
    EXPECT_TRUE(lmtrain::hasContrastTag("Jazz, SAD"));
    EXPECT_FALSE(lmtrain::hasContrastTag("Jazz, piano"));
    EXPECT_FALSE(lmtrain::hasContrastTag("Electronic, piano")) << "as swapContrastTag, never the genre";
}
