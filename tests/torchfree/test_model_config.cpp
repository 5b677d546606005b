// MusicgenConfig: the fixture's config parses with the right numbers; broken configs name the problem.
#include <gtest/gtest.h>

#include "core/json.h"
#include "core/model_config.h"
#include "tastemaker/fileio.h"
#include "testsupport.h"

using namespace tmk;

namespace {
nlohmann::json fixtureConfig()
{
    return *readJsonFile(test::dataDir() / "musicgen-tiny-public" / "config.json");
}
} // namespace

TEST(ModelConfig, FixtureParses)
{
    Expected<MusicgenConfig> config = MusicgenConfig::load(test::dataDir() / "musicgen-tiny-public");
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->text.dModel, 32);
    EXPECT_EQ(config->text.numHeads, 4);
    EXPECT_EQ(config->text.dKv, 8);
    EXPECT_EQ(config->decoder.hiddenSize, 64);
    EXPECT_EQ(config->decoder.numCodebooks, 4);
    EXPECT_EQ(config->decoder.vocabSize, 64);
    EXPECT_EQ(config->decoder.padTokenId, 64);
    EXPECT_EQ(config->codec.hopLength(), 640);
    EXPECT_EQ(config->codec.frameRate(), 50);
    EXPECT_EQ(config->codec.numQuantizers(), 4);
    EXPECT_EQ(config->codec.quantizersForBandwidth(2.2), 4);
    EXPECT_TRUE(config->hasEncToDecProj());
    EXPECT_DOUBLE_EQ(config->generation.sampling.guidanceScale, 3.0);
    EXPECT_EQ(config->generation.decoderStartTokenId, 64);
    EXPECT_EQ(config->generation.sampling.topK, 250) << "audiocraft's top-k when generation_config.json sets none";
}

TEST(ModelConfig, MusicgenSmallConfigParses)
{
    const char* shared = std::getenv("TM_SOURCE_DIR");
    std::filesystem::path path = std::filesystem::path(shared ? shared : ".") / "models" / "musicgen-small-config.json";
    Expected<std::string> text = readFileText(path);
    ASSERT_TRUE(text) << text.error().message;
    Expected<MusicgenConfig> config = MusicgenConfig::parse(*text, path.string());
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->decoder.hiddenSize, 1024);
    EXPECT_EQ(config->decoder.numLayers, 24);
    EXPECT_EQ(config->decoder.vocabSize, 2048);
    EXPECT_EQ(config->text.dModel, 768);
}

TEST(ModelConfig, MissingSectionIsNamed)
{
    nlohmann::json config = fixtureConfig();
    config.erase("decoder");
    Expected<MusicgenConfig> parsed = MusicgenConfig::parse(config.dump(), "config.json");
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("config.json"), std::string::npos);
    EXPECT_NE(parsed.error().message.find("\"decoder\""), std::string::npos);
}

TEST(ModelConfig, MissingAndMistypedFieldsAreNamed)
{
    nlohmann::json config = fixtureConfig();
    config["decoder"].erase("ffn_dim");
    Expected<MusicgenConfig> parsed = MusicgenConfig::parse(config.dump(), "config.json");
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("ffn_dim"), std::string::npos);

    config = fixtureConfig();
    config["text_encoder"]["d_model"] = "wide";
    parsed = MusicgenConfig::parse(config.dump(), "config.json");
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("d_model"), std::string::npos);
}

TEST(ModelConfig, InconsistentNumbersAreRefused)
{
    nlohmann::json config = fixtureConfig();
    config["decoder"]["num_attention_heads"] = 5;
    Expected<MusicgenConfig> parsed = MusicgenConfig::parse(config.dump(), "config.json");
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("not divisible"), std::string::npos);

    config = fixtureConfig();
    config["decoder"]["vocab_size"] = 100;
    config["decoder"]["pad_token_id"] = 100;
    parsed = MusicgenConfig::parse(config.dump(), "config.json");
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("codebook_size"), std::string::npos);

    config = fixtureConfig();
    config["decoder"]["audio_channels"] = 2;
    parsed = MusicgenConfig::parse(config.dump(), "config.json");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::Unsupported);
}

TEST(ModelConfig, NotJsonAndMissingFolder)
{
    ASSERT_FALSE(MusicgenConfig::parse("not json", "config.json"));
    Expected<MusicgenConfig> missing = MusicgenConfig::load("/nonexistent-tastemaker-model");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("nonexistent-tastemaker-model"), std::string::npos);
}
