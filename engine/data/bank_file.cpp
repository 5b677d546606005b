// bank.json and slider values: the torch-free half of tastemaker/adapters.h.
#include "adapters/bank_file.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <unistd.h>

#include "tastemaker/fileio.h"

namespace tmk {

namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

namespace {

constexpr const char* kBankFile = "bank.json";

Expected<OrderedJson> readOrderedJson(const fs::path& path)
{
    Expected<std::string> text = readFileText(path);
    if (!text) return text.error();
    try {
        return OrderedJson::parse(*text);
    } catch (const nlohmann::json::parse_error& e) {
        return Error::inFile(
            ErrorCode::Format, path.string(), "is not valid JSON (at byte " + std::to_string(e.byte) + ")");
    }
}

fs::path resolveDir(const fs::path& bankDir, const std::string& entry)
{
    fs::path dir(entry);
    return (dir.is_absolute() ? dir : bankDir / dir).lexically_normal();
}

// One metric's {"+": DIR, "-": DIR} object.
Expected<BankMetric> parseSides(
    const fs::path& bankDir, const std::string& file, const std::string& id, const OrderedJson& sides)
{
    const std::string where = file + " metric \"" + id + "\"";
    if (!sides.is_object())
        return Error::inFile(ErrorCode::Format, where, "must be an object {\"+\": DIR, \"-\": DIR}");
    BankMetric metric;
    metric.id = id;
    for (const auto& [key, value] : sides.items()) {
        if (key != "+" && key != "-")
            return Error::inFile(
                ErrorCode::Format, where, "has the key \"" + key + "\"; the valid keys are \"+\" and \"-\"");
        if (value.is_null()) continue;
        if (!value.is_string() || value.get<std::string>().empty())
            return Error::inFile(ErrorCode::Format, where, "entry \"" + key + "\" must be a folder name");
        const fs::path dir = resolveDir(bankDir, value.get<std::string>());
        std::error_code ec;
        if (!fs::is_directory(dir, ec))
            return Error::inFile(ErrorCode::NotFound, where,
                "names the adapter folder '" + dir.string() + "' for \"" + key + "\", which does not exist");
        (key == "+" ? metric.positiveDir : metric.negativeDir) = dir;
    }
    return metric;
}

// An exclusive advisory lock on <bank>/bank.json.lock for the lifetime of the object.
class BankLock {
public:
    static Expected<BankLock> acquire(const fs::path& bankDir)
    {
        const fs::path path = bankDir / "bank.json.lock";
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return Error::inFile(
                ErrorCode::Io, path.string(), std::string("could not be created: ") + std::strerror(errno));
        while (::flock(fd, LOCK_EX) != 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            return Error::inFile(
                ErrorCode::Io, path.string(), std::string("could not be locked: ") + std::strerror(err));
        }
        return BankLock(fd);
    }
    BankLock(BankLock&& other) noexcept
        : m_fd(std::exchange(other.m_fd, -1))
    {
    }
    BankLock& operator=(BankLock&&) = delete;
    ~BankLock()
    {
        if (m_fd >= 0) ::close(m_fd); // closing releases the flock
    }

private:
    explicit BankLock(int fd)
        : m_fd(fd)
    {
    }
    int m_fd = -1;
};

} // namespace

std::string adapterName(const std::string& metric, AdapterSide side)
{
    return metric + sideSymbol(side);
}

const char* sideSymbol(AdapterSide side)
{
    return side == AdapterSide::Positive ? "+" : "-";
}

SliderValues nonZeroSliders(const SliderValues& values)
{
    SliderValues result;
    for (const auto& [id, value] : values)
        if (value != 0.0) result.emplace(id, value);
    return result;
}

Expected<void> validateSliders(const SliderValues& values, const std::vector<MetricInfo>& metrics)
{
    for (const auto& [id, value] : values) {
        if (!findMetric(metrics, id))
            return Error { ErrorCode::InvalidArgument,
                "Unknown slider \"" + id + "\"; the valid metric ids are: " + joinMetricIds(metrics) + "." };
        if (!std::isfinite(value) || value < -kSliderLimit || value > kSliderLimit)
            return Error { ErrorCode::InvalidArgument,
                "Slider \"" + id + "\" is " + std::to_string(value) + ", outside the valid range [-2, 2]." };
    }
    return {};
}

Expected<std::pair<std::string, double>> parseSliderAssignment(const std::string& text)
{
    const size_t eq = text.find('=');
    const std::string usage = "\"" + text + "\" is not a slider setting; write METRIC=VALUE, e.g. energy=0.7.";
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) return Error { ErrorCode::InvalidArgument, usage };
    const std::string id = text.substr(0, eq), number = text.substr(eq + 1);
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || errno == ERANGE || !std::isfinite(value))
        return Error { ErrorCode::InvalidArgument, usage };
    return std::make_pair(id, value);
}

const BankMetric* BankSummary::find(const std::string& id) const
{
    for (const BankMetric& metric : metrics)
        if (metric.id == id) return &metric;
    return nullptr;
}

int BankSummary::adapterCount() const
{
    int count = 0;
    for (const BankMetric& metric : metrics) count += int(metric.hasPositive()) + int(metric.hasNegative());
    return count;
}

Expected<BankFile> readBankFile(const fs::path& bankDir, const std::vector<MetricInfo>* knownMetrics)
{
    const fs::path path = bankDir / kBankFile;
    Expected<OrderedJson> root = readOrderedJson(path);
    if (!root) return root.error();
    const std::string file = path.string();
    if (!root->is_object() || !root->contains("format") || !(*root)["format"].is_number_integer())
        return Error::inFile(ErrorCode::Format, file, "has no integer \"format\" entry");
    if ((*root)["format"].get<int64_t>() != 1)
        return Error::inFile(
            ErrorCode::Unsupported, file, "has format " + (*root)["format"].dump() + "; this build reads format 1");
    BankFile bank;
    if (root->contains("base_model") && !(*root)["base_model"].is_null()) {
        if (!(*root)["base_model"].is_string())
            return Error::inFile(ErrorCode::Format, file, "\"base_model\" must be a string");
        bank.baseModel = (*root)["base_model"].get<std::string>();
    }
    if (root->contains("base_model_fingerprint") && !(*root)["base_model_fingerprint"].is_null()) {
        if (!(*root)["base_model_fingerprint"].is_string())
            return Error::inFile(ErrorCode::Format, file, "\"base_model_fingerprint\" must be a string");
        bank.baseModelFingerprint = (*root)["base_model_fingerprint"].get<std::string>();
    }
    if (!root->contains("metrics") || !(*root)["metrics"].is_object())
        return Error::inFile(ErrorCode::Format, file, "has no \"metrics\" object");
    for (const auto& [id, sides] : (*root)["metrics"].items()) {
        if (knownMetrics && !findMetric(*knownMetrics, id))
            return Error::inFile(ErrorCode::Mismatch, file,
                "lists the unknown metric \"" + id + "\"; the valid metric ids are: " + joinMetricIds(*knownMetrics));
        Expected<BankMetric> metric = parseSides(bankDir, file, id, sides);
        if (!metric) return metric.error();
        bank.listed.push_back(std::move(*metric));
    }
    return bank;
}

Expected<BankSummary> readBankSummary(const fs::path& bankDir, const std::vector<MetricInfo>& metrics)
{
    Expected<BankFile> bank = readBankFile(bankDir, &metrics);
    if (!bank) return bank.error();
    std::map<std::string, BankMetric> listed;
    for (BankMetric& metric : bank->listed) listed[metric.id] = std::move(metric);
    BankSummary summary;
    summary.dir = bankDir;
    summary.baseModel = std::move(bank->baseModel);
    summary.baseModelFingerprint = std::move(bank->baseModelFingerprint);
    for (const MetricInfo& info : metrics) {
        auto found = listed.find(info.id);
        summary.metrics.push_back(found != listed.end() ? found->second : BankMetric { info.id, {}, {} });
    }
    return summary;
}

Expected<void> registerAdapter(const fs::path& bankDir, const std::string& metric, AdapterSide side,
    const fs::path& adapterDir, const std::vector<MetricInfo>& metrics, const std::string& baseModel,
    const std::string& baseModelFingerprint)
{
    if (!findMetric(metrics, metric))
        return Error { ErrorCode::InvalidArgument,
            "Unknown metric \"" + metric + "\"; the valid metric ids are: " + joinMetricIds(metrics) + "." };
    std::error_code ec;
    for (const char* name : { "adapter_config.json", "adapter_model.safetensors" })
        if (!fs::is_regular_file(adapterDir / name, ec))
            return Error::inFile(ErrorCode::NotFound, (adapterDir / name).string(),
                "does not exist, so the adapter cannot be registered");
    fs::create_directories(bankDir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, bankDir.string(), "could not be created: " + ec.message());
    Expected<BankLock> lock = BankLock::acquire(bankDir);
    if (!lock) return lock.error();

    const fs::path path = bankDir / kBankFile;
    OrderedJson root = { { "format", 1 }, { "base_model", baseModel }, { "metrics", OrderedJson::object() } };
    if (fs::exists(path, ec)) {
        Expected<BankSummary> current = readBankSummary(bankDir, metrics); // refuse to extend a broken bank
        if (!current) return current.error();
        if (!baseModelFingerprint.empty() && !current->baseModelFingerprint.empty()
            && current->baseModelFingerprint != baseModelFingerprint)
            return Error::inFile(ErrorCode::Mismatch, path.string(),
                "was made for the model \"" + current->baseModel + "\" (" + current->baseModelFingerprint + "), but "
                    + adapterDir.string() + " was trained on \"" + baseModel + "\" (" + baseModelFingerprint
                    + "); register it in a bank of its own");
        Expected<OrderedJson> existing = readOrderedJson(path);
        if (!existing) return existing.error();
        root = std::move(*existing);
        if (!baseModel.empty() && root.value("base_model", OrderedJson()).is_null()) root["base_model"] = baseModel;
    }
    if (!baseModelFingerprint.empty() && root.value("base_model_fingerprint", OrderedJson()).is_null()) {
        OrderedJson ordered = OrderedJson::object(); // the fingerprint goes beside base_model
        for (auto& [key, value] : root.items()) {
            if (key == "base_model_fingerprint") continue;
            ordered[key] = value;
            if (key == "base_model") ordered["base_model_fingerprint"] = baseModelFingerprint;
        }
        if (!ordered.contains("base_model_fingerprint")) ordered["base_model_fingerprint"] = baseModelFingerprint;
        root = std::move(ordered);
    }
    const fs::path absoluteBank = fs::absolute(bankDir, ec).lexically_normal();
    const fs::path absoluteAdapter = fs::absolute(adapterDir, ec).lexically_normal();
    fs::path relative = absoluteAdapter.lexically_relative(absoluteBank);
    const bool inside = !relative.empty() && *relative.begin() != "..";
    OrderedJson& sides = root["metrics"][metric];
    if (!sides.is_object()) sides = OrderedJson::object();
    sides[sideSymbol(side)] = inside ? relative.generic_string() : absoluteAdapter.string();
    OrderedJson sorted = OrderedJson::object(); // "+" before "-", as the fixture bank writes them
    for (const char* key : { "+", "-" })
        if (sides.contains(key)) sorted[key] = sides[key];
    sides = std::move(sorted);
    return writeFileAtomic(path, root.dump(2) + "\n");
}

std::string bankModelMismatch(
    const BankSummary& bank, const std::string& modelName, const std::string& modelFingerprint)
{
    if (bank.baseModelFingerprint.empty() || modelFingerprint.empty() || bank.baseModelFingerprint == modelFingerprint)
        return {};
    const std::string trainedOn = bank.baseModel.empty() ? "another model" : "the model \"" + bank.baseModel + "\"";
    return "The adapter bank " + bank.dir.filename().string() + " was trained on " + trainedOn + " ("
        + bank.baseModelFingerprint.substr(0, 19) + "…), not on the open model \"" + modelName + "\" ("
        + modelFingerprint.substr(0, 19)
        + "…): its sliders apply, but they may not steer this model as they were measured to.";
}

} // namespace tmk
