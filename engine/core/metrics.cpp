#include "tastemaker/metrics.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "core/json.h"

namespace tmk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::map<std::string, MetricExpression::Op>& opNames()
{
    static const std::map<std::string, MetricExpression::Op> names = {
        { "column", MetricExpression::Op::Column },
        { "user_column", MetricExpression::Op::UserColumn },
        { "const", MetricExpression::Op::Constant },
        { "add", MetricExpression::Op::Add },
        { "sub", MetricExpression::Op::Subtract },
        { "mul", MetricExpression::Op::Multiply },
        { "div", MetricExpression::Op::Divide },
    };
    return names;
}

Expected<MetricExpression> parseExpression(const json& node, const std::string& where);

Expected<std::vector<MetricExpression>> parseArgs(const json& node, MetricExpression::Op op, const std::string& where)
{
    Expected<json> args = jsonField<json>(node, "args", where);
    if (!args) return args.error();
    const bool binary = op == MetricExpression::Op::Subtract || op == MetricExpression::Op::Divide;
    if (!args->is_array() || args->size() < 2 || (binary && args->size() != 2))
        return Error::inFile(ErrorCode::Format, where,
            std::string("\"args\" must be an array of ") + (binary ? "exactly 2" : "2 or more") + " expressions");
    std::vector<MetricExpression> parsed;
    for (size_t i = 0; i < args->size(); ++i) {
        Expected<MetricExpression> arg = parseExpression((*args)[i], where + " args[" + std::to_string(i) + "]");
        if (!arg) return arg.error();
        parsed.push_back(std::move(*arg));
    }
    return parsed;
}

Expected<MetricExpression> parseExpression(const json& node, const std::string& where)
{
    Expected<std::string> opName = jsonField<std::string>(node, "op", where);
    if (!opName) return opName.error();
    auto found = opNames().find(*opName);
    if (found == opNames().end())
        return Error::inFile(ErrorCode::Format, where,
            "has the unknown op \"" + *opName + "\" (valid: column, user_column, const, add, sub, mul, div)");
    MetricExpression expr;
    expr.op = found->second;
    switch (expr.op) {
    case MetricExpression::Op::Column: {
        Expected<std::string> column = jsonField<std::string>(node, "column", where);
        if (!column) return column.error();
        if (column->empty()) return Error::inFile(ErrorCode::Format, where, "has an empty \"column\"");
        Expected<std::vector<std::string>> aliases = jsonFieldOr<std::vector<std::string>>(node, "aliases", {}, where);
        if (!aliases) return aliases.error();
        expr.column = *column;
        expr.aliases = *aliases;
        break;
    }
    case MetricExpression::Op::UserColumn: {
        Expected<std::string> hint = jsonFieldOr<std::string>(node, "hint", "", where);
        if (!hint) return hint.error();
        expr.hint = *hint;
        break;
    }
    case MetricExpression::Op::Constant: {
        Expected<double> value = jsonField<double>(node, "value", where);
        if (!value) return value.error();
        expr.value = *value;
        break;
    }
    default: {
        Expected<std::vector<MetricExpression>> args = parseArgs(node, expr.op, where);
        if (!args) return args.error();
        expr.args = std::move(*args);
    }
    }
    return expr;
}

bool validId(const std::string& id)
{
    if (id.empty()) return false;
    for (char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

Expected<MetricInfo> parseMetric(const json& node, const std::string& file, size_t index)
{
    std::string where = file + " metrics[" + std::to_string(index) + "]";
    MetricInfo info;
    const std::pair<const char*, std::string*> fields[] = {
        { "id", &info.id },
        { "name", &info.name },
        { "source", &info.source },
        { "negative", &info.negativeLabel },
        { "positive", &info.positiveLabel },
        { "description", &info.description },
    };
    for (const auto& [key, target] : fields) {
        Expected<std::string> value = jsonField<std::string>(node, key, where);
        if (!value) return value.error();
        if (value->empty()) return Error::inFile(ErrorCode::Format, where, std::string("has an empty \"") + key + "\"");
        *target = *value;
        if (std::string(key) == "id") {
            if (!validId(info.id))
                return Error::inFile(
                    ErrorCode::Format, where, "has the id \"" + info.id + "\", which is not made of a-z, 0-9 and _");
            where = file + " metric \"" + info.id + "\"";
        }
    }
    Expected<json> expression = jsonField<json>(node, "expression", where);
    if (!expression) return expression.error();
    Expected<MetricExpression> parsed = parseExpression(*expression, where + " expression");
    if (!parsed) return parsed.error();
    info.expression = std::move(*parsed);
    return info;
}

void collectColumns(const MetricExpression& expr, std::vector<const MetricExpression*>& out)
{
    if (expr.op == MetricExpression::Op::Column) {
        for (const MetricExpression* seen : out)
            if (seen->column == expr.column) return;
        out.push_back(&expr);
    }
    for (const MetricExpression& arg : expr.args) collectColumns(arg, out);
}

std::string formatNumber(double value)
{
    if (value == std::floor(value) && std::fabs(value) < 1e15) return std::to_string(static_cast<long long>(value));
    std::string text = std::to_string(value);
    while (!text.empty() && text.back() == '0') text.pop_back();
    return text;
}

} // namespace

std::vector<const MetricExpression*> MetricExpression::columnNodes() const
{
    std::vector<const MetricExpression*> nodes;
    collectColumns(*this, nodes);
    return nodes;
}

bool MetricExpression::needsUserColumn() const
{
    if (op == Op::UserColumn) return true;
    for (const MetricExpression& arg : args)
        if (arg.needsUserColumn()) return true;
    return false;
}

std::string MetricExpression::toString() const
{
    switch (op) {
    case Op::Column:
        return column;
    case Op::UserColumn:
        return "<user column>";
    case Op::Constant:
        return formatNumber(value);
    default:
        break;
    }
    const char* symbol = op == Op::Add ? " + " : op == Op::Subtract ? " - " : op == Op::Multiply ? " * " : " / ";
    const bool additive = op == Op::Add || op == Op::Subtract;
    std::string text;
    for (size_t i = 0; i < args.size(); ++i) {
        const bool argAdditive = args[i].op == Op::Add || args[i].op == Op::Subtract;
        // Parenthesise a sum inside a product, and any compound right operand of - or /.
        const bool paren = (!additive && argAdditive)
            || (i > 0 && (op == Op::Subtract || op == Op::Divide) && !args[i].args.empty());
        text += (i ? symbol : "") + (paren ? "(" + args[i].toString() + ")" : args[i].toString());
    }
    return text;
}

std::optional<double> MetricExpression::evaluate(
    const std::function<std::optional<double>(const MetricExpression& node)>& cell) const
{
    if (op == Op::Column || op == Op::UserColumn) return cell(*this);
    if (op == Op::Constant) return value;
    std::optional<double> result;
    for (size_t i = 0; i < args.size(); ++i) {
        std::optional<double> operand = args[i].evaluate(cell);
        if (!operand) return std::nullopt;
        if (i == 0) {
            result = operand;
            continue;
        }
        switch (op) {
        case Op::Add:
            *result += *operand;
            break;
        case Op::Subtract:
            *result -= *operand;
            break;
        case Op::Multiply:
            *result *= *operand;
            break;
        default:
            if (*operand == 0.0) return std::nullopt;
            *result /= *operand;
        }
    }
    if (!result || !std::isfinite(*result)) return std::nullopt;
    return result;
}

namespace {

// The folder holding the running executable (from /proc/self/exe), or empty.
fs::path executableDir()
{
    std::error_code error;
    const fs::path exe = fs::read_symlink("/proc/self/exe", error);
    return error ? fs::path() : exe.parent_path();
}

} // namespace

fs::path installedDataDir()
{
    const fs::path exeDir = executableDir();
    if (exeDir.empty()) return {};
    const fs::path dir = exeDir.parent_path() / "share" / "tastemaker";
    std::error_code error;
    return fs::is_directory(dir, error) ? dir : fs::path();
}

fs::path resourcesDir()
{
    std::error_code error;
    if (const char* env = std::getenv("TASTEMAKER_RESOURCES_DIR");
        env && *env && fs::is_regular_file(fs::path(env) / "metrics.json", error))
        return env;
    if (const fs::path installed = installedDataDir();
        !installed.empty() && fs::is_regular_file(installed / "resources" / "metrics.json", error))
        return installed / "resources";
#ifdef TM_RESOURCES_DIR
    return fs::path(TM_RESOURCES_DIR);
#else
    return fs::path("resources");
#endif
}

namespace {

// models/<name> of an installed tree, then of the source tree.
std::vector<fs::path> installedThenSource(const std::string& name)
{
    std::vector<fs::path> candidates;
    const fs::path installed = installedDataDir();
    if (!installed.empty()) candidates.push_back(installed / "models" / name);
#ifdef TM_SOURCE_MODELS_DIR
    candidates.push_back(fs::path(TM_SOURCE_MODELS_DIR) / name);
#endif
    return candidates;
}

} // namespace

std::vector<fs::path> bundledModelCandidates()
{
    std::vector<fs::path> candidates = installedThenSource("demo");
    const fs::path installed = installedDataDir();
    if (!installed.empty()) candidates.push_back(installed / "models" / "default-tiny");
#ifdef TM_BUILD_MODELS_DIR
    candidates.push_back(fs::path(TM_BUILD_MODELS_DIR) / "default-tiny");
#endif
    return candidates;
}

fs::path firstModelDir(const std::vector<fs::path>& candidates)
{
    std::error_code error;
    for (const fs::path& dir : candidates)
        if (fs::is_regular_file(dir / "config.json", error) && fs::is_regular_file(dir / "model.safetensors", error))
            return dir;
    return {};
}

fs::path bundledModelDir()
{
    return firstModelDir(bundledModelCandidates());
}

fs::path bundledBankDir()
{
    std::error_code error;
    for (const fs::path& dir : installedThenSource("demo-bank"))
        if (fs::is_regular_file(dir / "bank.json", error)) return dir;
    return {};
}

bool isBundledDemoModel(const fs::path& modelDir)
{
    if (modelDir.empty() || modelDir.filename() != "demo") return false;
    std::error_code error;
    for (const fs::path& candidate : bundledModelCandidates())
        if (candidate.filename() == "demo" && fs::equivalent(candidate, modelDir, error)) return true;
    return false;
}

fs::path defaultMetricsPath()
{
    return resourcesDir() / "metrics.json";
}

Expected<std::vector<MetricInfo>> loadMetrics()
{
    return loadMetrics(defaultMetricsPath());
}

Expected<std::vector<MetricInfo>> loadMetrics(const fs::path& path)
{
    Expected<json> root = readJsonFile(path);
    if (!root) return root.error();
    const std::string file = path.string();
    Expected<int> format = jsonField<int>(*root, "format", file);
    if (!format) return format.error();
    if (*format != 1)
        return Error::inFile(
            ErrorCode::Unsupported, file, "has format " + std::to_string(*format) + "; this build reads format 1");
    Expected<json> list = jsonField<json>(*root, "metrics", file);
    if (!list) return list.error();
    if (!list->is_array() || list->empty())
        return Error::inFile(ErrorCode::Format, file, "\"metrics\" must be a non-empty array");
    std::vector<MetricInfo> metrics;
    std::set<std::string> ids;
    for (size_t i = 0; i < list->size(); ++i) {
        Expected<MetricInfo> metric = parseMetric((*list)[i], file, i);
        if (!metric) return metric.error();
        if (!ids.insert(metric->id).second)
            return Error::inFile(ErrorCode::Format, file, "lists the metric \"" + metric->id + "\" twice");
        metrics.push_back(std::move(*metric));
    }
    return metrics;
}

std::vector<std::string> metricIds(const std::vector<MetricInfo>& metrics)
{
    std::vector<std::string> ids;
    for (const MetricInfo& metric : metrics) ids.push_back(metric.id);
    return ids;
}

const MetricInfo* findMetric(const std::vector<MetricInfo>& metrics, const std::string& id)
{
    for (const MetricInfo& metric : metrics)
        if (metric.id == id) return &metric;
    return nullptr;
}

std::string joinMetricIds(const std::vector<MetricInfo>& metrics)
{
    std::string text;
    for (const MetricInfo& metric : metrics) text += (text.empty() ? "" : ", ") + metric.id;
    return text;
}

} // namespace tmk
