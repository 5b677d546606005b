// resources/metrics.json: the 13 metrics of DESIGN.md in slider order, their poles and expressions, the
// ids the adapter fixture bank uses, and load errors that name the file and the metric.
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "tastemaker/metrics.h"
#include "testsupport.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

fs::path metricsPath()
{
    const char* source = std::getenv("TM_SOURCE_DIR");
    return (source && *source ? fs::path(source) : test::dataDir() / ".." / "..") / "resources" / "metrics.json";
}

std::vector<MetricInfo> loadOrFail()
{
    Expected<std::vector<MetricInfo>> metrics = loadMetrics(metricsPath());
    EXPECT_TRUE(metrics.ok()) << (metrics.ok() ? "" : metrics.error().message);
    return metrics.ok() ? *metrics : std::vector<MetricInfo> {};
}

fs::path writeFile(const std::string& name, const std::string& text)
{
    const fs::path path = test::freshOutDir("metrics_" + name) / "metrics.json";
    std::ofstream(path) << text;
    return path;
}

TEST(Metrics, ThirteenMetricsInDesignOrderWithTheirPoles)
{
    const std::vector<MetricInfo> metrics = loadOrFail();
    ASSERT_EQ(metrics.size(), 13u);
    // DESIGN.md's table: id, source, negative pole, positive pole.
    const std::vector<std::array<const char*, 4>> design = {
        { "popularity", "Spotify", "obscure", "popular" },
        { "acousticness", "Spotify", "electronic", "acoustic" },
        { "danceability", "Spotify", "free-flowing", "danceable" },
        { "energy", "Spotify", "calm", "energetic" },
        { "instrumentalness", "Spotify", "vocal", "instrumental" },
        { "liveness", "Spotify", "studio", "live" },
        { "speechiness", "Spotify", "sung", "spoken" },
        { "valence", "Spotify", "sad", "happy" },
        { "tempo", "Spotify", "slow", "fast" },
        { "interactions_per_kview", "YouTube", "passive", "engaging" },
        { "like_ratio", "YouTube", "disliked", "liked" },
        { "view_count", "YouTube", "niche", "viral" },
        { "rating", "user / library", "low rated", "high rated" },
    };
    for (size_t i = 0; i < design.size(); ++i) {
        EXPECT_EQ(metrics[i].id, design[i][0]);
        EXPECT_EQ(metrics[i].source, design[i][1]) << metrics[i].id;
        EXPECT_EQ(metrics[i].negativeLabel, design[i][2]) << metrics[i].id;
        EXPECT_EQ(metrics[i].positiveLabel, design[i][3]) << metrics[i].id;
        EXPECT_FALSE(metrics[i].name.empty());
        EXPECT_FALSE(metrics[i].description.empty());
    }
}

TEST(Metrics, IdsMatchTheFixtureBank)
{
    const std::vector<MetricInfo> metrics = loadOrFail();
    Expected<nlohmann::json> fixtures = readJsonFile(test::dataDir() / "adapters-tiny-public" / "fixtures.json");
    ASSERT_TRUE(fixtures.ok()) << fixtures.error().message;
    EXPECT_EQ(metricIds(metrics), (*fixtures)["bank"]["metrics"].get<std::vector<std::string>>());
    Expected<nlohmann::json> bank = readJsonFile(test::dataDir() / "adapters-tiny-public" / "bank" / "bank.json");
    ASSERT_TRUE(bank.ok()) << bank.error().message;
    for (const auto& [id, sides] : (*bank)["metrics"].items()) EXPECT_NE(findMetric(metrics, id), nullptr) << id;
    EXPECT_EQ((*bank)["metrics"].size(), metrics.size());
}

TEST(Metrics, ExpressionsComputeFromDatasetColumns)
{
    const std::vector<MetricInfo> metrics = loadOrFail();
    ASSERT_EQ(metrics.size(), 13u);
    const MetricInfo* energy = findMetric(metrics, "energy");
    ASSERT_NE(energy, nullptr);
    EXPECT_EQ(energy->expression.op, MetricExpression::Op::Column);
    EXPECT_EQ(energy->expression.column, "energy");

    const MetricInfo* interactions = findMetric(metrics, "interactions_per_kview");
    ASSERT_NE(interactions, nullptr);
    EXPECT_EQ(interactions->expression.toString(), "1000 * (Likes + Comments) / Views");
    std::map<std::string, double> row = { { "Likes", 90.0 }, { "Comments", 10.0 }, { "Views", 4000.0 } };
    auto cell = [&](const MetricExpression& node) -> std::optional<double> {
        auto found = row.find(node.column);
        return found == row.end() ? std::nullopt : std::optional<double>(found->second);
    };
    EXPECT_DOUBLE_EQ(interactions->expression.evaluate(cell).value_or(-1), 25.0);
    row["Views"] = 0.0; // a zero divisor has no value
    EXPECT_FALSE(interactions->expression.evaluate(cell).has_value());
    std::vector<std::string> columns;
    for (const MetricExpression* node : interactions->expression.columnNodes()) columns.push_back(node->column);
    EXPECT_EQ(columns, (std::vector<std::string> { "Likes", "Comments", "Views" }));
    EXPECT_EQ(interactions->expression.columnNodes()[2]->aliases, std::vector<std::string> { "yt_views" });

    const MetricInfo* likeRatio = findMetric(metrics, "like_ratio");
    ASSERT_NE(likeRatio, nullptr);
    EXPECT_EQ(likeRatio->expression.toString(), "Likes / (Likes + Dislikes)");
    EXPECT_FALSE(likeRatio->expression.evaluate(cell).has_value()); // no Dislikes column: unavailable
    row["Dislikes"] = 10.0;
    EXPECT_DOUBLE_EQ(likeRatio->expression.evaluate(cell).value_or(-1), 0.9);

    EXPECT_EQ(findMetric(metrics, "view_count")->expression.column, "Views");
    EXPECT_TRUE(findMetric(metrics, "rating")->expression.needsUserColumn());
    EXPECT_FALSE(energy->expression.needsUserColumn());
    EXPECT_EQ(joinMetricIds(metrics).substr(0, 24), "popularity, acousticness");
}

TEST(Metrics, DefaultPathPointsAtResources)
{
    const fs::path path = defaultMetricsPath();
    EXPECT_EQ(path.filename(), "metrics.json");
    EXPECT_EQ(path.parent_path().filename(), "resources");
}

TEST(Metrics, MalformedFilesAreRefusedNamingFileAndMetric)
{
    const std::string good = R"({"id": "energy", "name": "Energy", "source": "Spotify", "negative": "calm",
        "positive": "energetic", "description": "d", "expression": {"op": "column", "column": "energy"}})";
    Expected<std::vector<MetricInfo>> ok = loadMetrics(writeFile("ok", R"({"format": 1, "metrics": [)" + good + "]}"));
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->size(), 1u);

    const fs::path twice = writeFile("twice", R"({"format": 1, "metrics": [)" + good + "," + good + "]}");
    Expected<std::vector<MetricInfo>> duplicate = loadMetrics(twice);
    ASSERT_FALSE(duplicate.ok());
    EXPECT_NE(duplicate.error().message.find(twice.string()), std::string::npos);
    EXPECT_NE(duplicate.error().message.find("energy"), std::string::npos);

    std::string badOp = good;
    badOp.replace(badOp.find("\"column\", \"column\""), 8, "\"pow\"");
    Expected<std::vector<MetricInfo>> op = loadMetrics(writeFile("op", R"({"format": 1, "metrics": [)" + badOp + "]}"));
    ASSERT_FALSE(op.ok());
    EXPECT_NE(op.error().message.find("metric \"energy\" expression"), std::string::npos) << op.error().message;
    EXPECT_NE(op.error().message.find("pow"), std::string::npos);

    std::string noPole = good;
    noPole.replace(noPole.find("\"negative\""), 10, "\"negativ\"");
    Expected<std::vector<MetricInfo>> pole
        = loadMetrics(writeFile("pole", R"({"format": 1, "metrics": [)" + noPole + "]}"));
    ASSERT_FALSE(pole.ok());
    EXPECT_NE(pole.error().message.find("\"negative\""), std::string::npos) << pole.error().message;

    Expected<std::vector<MetricInfo>> format = loadMetrics(writeFile("format", R"({"format": 2, "metrics": []})"));
    ASSERT_FALSE(format.ok());
    EXPECT_EQ(format.error().code, ErrorCode::Unsupported);

    Expected<std::vector<MetricInfo>> missing = loadMetrics(test::freshOutDir("metrics_missing") / "metrics.json");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

} // namespace
} // namespace tmk

namespace tmk {
namespace {

TEST(BundledModel, TheFirstCompleteCandidateWins)
{
    const std::filesystem::path root = test::freshOutDir("bundled_model");
    auto make = [&](const std::string& name, bool weights) {
        std::filesystem::create_directories(root / name);
        std::ofstream(root / name / "config.json") << "{}";
        if (weights) std::ofstream(root / name / "model.safetensors") << "x";
        return root / name;
    };
    const std::filesystem::path configOnly = make("demo-without-weights", false);
    const std::filesystem::path demo = make("demo", true), tiny = make("default-tiny", true);
    EXPECT_EQ(firstModelDir({ root / "absent", configOnly, demo, tiny }), demo);
    EXPECT_EQ(firstModelDir({ configOnly, tiny }), tiny);
    EXPECT_TRUE(firstModelDir({ configOnly, root / "absent" }).empty());
    // In this build tree the list ends with the build's untrained default model, after any demo model.
    const std::vector<std::filesystem::path> candidates = bundledModelCandidates();
    ASSERT_FALSE(candidates.empty());
    EXPECT_EQ(candidates.back().filename(), "default-tiny");
    EXPECT_EQ(candidates.front().filename(), "demo");
}

} // namespace
} // namespace tmk
