// The 13 slider metrics, read from resources/metrics.json (the only place the list exists; the file
// documents its own expression grammar). Torch-free: the UI, the trainer and the CLI read it.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

// How a metric is computed from one dataset row: a small expression tree.
struct MetricExpression {
    enum class Op {
        Column, // the row's value in `column` (or the first of `aliases` present); names match case-insensitively
        UserColumn, // a column the user names; `hint` says what it should hold
        Constant, // `value`
        Add, // args[0] + args[1] + ...
        Subtract, // args[0] - args[1]
        Multiply, // args[0] * args[1] * ...
        Divide, // args[0] / args[1]; no value when args[1] == 0
    };
    Op op = Op::Constant;
    std::string column;
    std::vector<std::string> aliases;
    std::string hint;
    double value = 0.0;
    std::vector<MetricExpression> args;

    // Every Column node in the tree, left to right, duplicates removed (by column name).
    std::vector<const MetricExpression*> columnNodes() const;
    bool needsUserColumn() const;
    // Readable form, e.g. "1000 * (Likes + Comments) / Views"; a user column reads "<user column>".
    std::string toString() const;
    // The value for one row. `cell` returns a Column or UserColumn node's value for this row, or nullopt when
    // the row has none. Any missing operand, a zero divisor or a non-finite result gives nullopt.
    std::optional<double> evaluate(
        const std::function<std::optional<double>(const MetricExpression& node)>& cell) const;
};

struct MetricInfo {
    std::string id; // "energy": the bank's key; adapters are "<id>+" and "<id>-"
    std::string name; // "Energy"
    std::string negativeLabel; // "calm"
    std::string positiveLabel; // "energetic"
    std::string description; // one line
    std::string source; // "Spotify", "YouTube", "user / library"
    MetricExpression expression;
};

// Where the read-only resources (metrics.json, presets) are: $TASTEMAKER_RESOURCES_DIR when it holds
// metrics.json; else an installed tree's <prefix>/share/tastemaker/resources beside the running executable's
// bin/; else the source tree's resources/ that the build recorded (TM_RESOURCES_DIR).
std::filesystem::path resourcesDir();
// <prefix>/share/tastemaker of an installed tree beside the running executable, or empty (a build tree).
std::filesystem::path installedDataDir();
// The model the app and the CLI open when none is chosen: the first of bundledModelCandidates() that holds a
// config.json and a model.safetensors, or empty. The trained demo model (models/demo) comes before the
// untrained tiny one (models/default-tiny, made at build time), and an installed tree before the source tree.
std::filesystem::path bundledModelDir();
std::vector<std::filesystem::path> bundledModelCandidates();
// The first of `candidates` that holds config.json and model.safetensors, or empty.
std::filesystem::path firstModelDir(const std::vector<std::filesystem::path>& candidates);
// The adapter bank trained on the demo model (models/demo-bank, issue 15): installed tree first, then the source
// tree; the first that holds a bank.json, or empty. Only meaningful with the demo model (its bank.json names it).
std::filesystem::path bundledBankDir();
// True when `modelDir` is the trained demo model (a folder named "demo" among bundledModelCandidates()), which
// the app opens with its bank on first start; the untrained tiny model is not.
bool isBundledDemoModel(const std::filesystem::path& modelDir);
// resourcesDir() / "metrics.json".
std::filesystem::path defaultMetricsPath();

// Reads and validates metrics.json: format 1, unique ids of [a-z0-9_], every text field non-empty, a
// valid expression. The order is the file's (slider order). Errors name the file and the metric.
Expected<std::vector<MetricInfo>> loadMetrics(const std::filesystem::path& path);
Expected<std::vector<MetricInfo>> loadMetrics(); // from defaultMetricsPath()

std::vector<std::string> metricIds(const std::vector<MetricInfo>& metrics);
// nullptr when `id` is not a metric.
const MetricInfo* findMetric(const std::vector<MetricInfo>& metrics, const std::string& id);
// "popularity, acousticness, ..." for error messages.
std::string joinMetricIds(const std::vector<MetricInfo>& metrics);

} // namespace tmk
