#include "args.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace tmk::cli {

namespace {
const std::vector<std::string> kEmpty;

const OptionSpec* findOption(const std::vector<OptionSpec>& options, const std::string& name)
{
    for (const OptionSpec& option : options)
        if (option.name == name) return &option;
    return nullptr;
}

std::string optionList(const std::vector<OptionSpec>& options)
{
    std::string list;
    for (const OptionSpec& option : options) list += (list.empty() ? "--" : ", --") + option.name;
    return list.empty() ? "none" : list;
}
} // namespace

bool Args::has(const std::string& name) const
{
    return m_values.count(name) > 0;
}

std::optional<std::string> Args::get(const std::string& name) const
{
    auto it = m_values.find(name);
    if (it == m_values.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
}

std::string Args::getOr(const std::string& name, const std::string& fallback) const
{
    return get(name).value_or(fallback);
}

const std::vector<std::string>& Args::getAll(const std::string& name) const
{
    auto it = m_values.find(name);
    return it == m_values.end() ? kEmpty : it->second;
}

Expected<double> Args::number(const std::string& name, double fallback) const
{
    std::optional<std::string> text = get(name);
    if (!text) return fallback;
    errno = 0;
    char* end = nullptr;
    double value = std::strtod(text->c_str(), &end);
    if (text->empty() || *end != '\0' || errno == ERANGE)
        return Error { ErrorCode::InvalidArgument, "--" + name + " expects a number, not '" + *text + "'" };
    return value;
}

Expected<long long> Args::integer(const std::string& name, long long fallback) const
{
    std::optional<std::string> text = get(name);
    if (!text) return fallback;
    errno = 0;
    char* end = nullptr;
    long long value = std::strtoll(text->c_str(), &end, 10);
    if (text->empty() || *end != '\0' || errno == ERANGE)
        return Error { ErrorCode::InvalidArgument, "--" + name + " expects a whole number, not '" + *text + "'" };
    return value;
}

Expected<void> Args::readIntegers(std::initializer_list<std::pair<const char*, int64_t*>> fields) const
{
    for (const auto& [name, target] : fields) {
        Expected<long long> value = integer(name, *target);
        if (!value) return value.error();
        *target = *value;
    }
    return {};
}

Expected<void> Args::readNumbers(std::initializer_list<std::pair<const char*, double*>> fields) const
{
    for (const auto& [name, target] : fields) {
        Expected<double> value = number(name, *target);
        if (!value) return value.error();
        *target = *value;
    }
    return {};
}

Expected<Args> parseArgs(const std::string& command, const std::vector<OptionSpec>& options, int minPositional,
    const std::vector<std::string>& positionalNames, const std::vector<std::string>& argv)
{
    Args args;
    const bool repeatsLast = !positionalNames.empty() && positionalNames.back().ends_with("...");
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& word = argv[i];
        if (!word.starts_with("--") || word == "--") {
            args.m_positional.push_back(word);
            continue;
        }
        std::string name = word.substr(2);
        std::optional<std::string> inlineValue;
        if (size_t eq = name.find('='); eq != std::string::npos) {
            inlineValue = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        const OptionSpec* spec = findOption(options, name);
        if (!spec)
            return Error { ErrorCode::InvalidArgument,
                command + ": unknown option --" + name + " (valid: " + optionList(options) + ")" };
        if (spec->kind == OptionKind::Flag) {
            if (inlineValue) return Error { ErrorCode::InvalidArgument, command + ": --" + name + " takes no value" };
            args.m_values[name];
            continue;
        }
        if (!inlineValue) {
            if (i + 1 >= argv.size())
                return Error { ErrorCode::InvalidArgument,
                    command + ": --" + name + " needs a value (" + spec->valueName + ")" };
            inlineValue = argv[++i];
        }
        std::vector<std::string>& values = args.m_values[name];
        if (spec->kind == OptionKind::Value && !values.empty())
            return Error { ErrorCode::InvalidArgument, command + ": --" + name + " was given more than once" };
        values.push_back(*inlineValue);
    }
    for (const OptionSpec& option : options)
        if (option.required && !args.has(option.name))
            return Error { ErrorCode::InvalidArgument,
                command + ": --" + option.name + " " + option.valueName + " is required" };
    const size_t count = args.m_positional.size();
    if (count < static_cast<size_t>(minPositional))
        return Error { ErrorCode::InvalidArgument, command + ": missing " + positionalNames.at(count) };
    if (!repeatsLast && count > positionalNames.size())
        return Error { ErrorCode::InvalidArgument,
            command + ": unexpected argument '" + args.m_positional[positionalNames.size()] + "'" };
    return args;
}

std::string usageText(const std::string& command, const std::string& summary, const std::vector<OptionSpec>& options,
    const std::vector<std::string>& positionalNames)
{
    std::ostringstream out;
    out << "usage: tastemaker-cli " << command;
    for (const std::string& name : positionalNames) out << " " << name;
    if (!options.empty()) out << " [options]";
    out << "\n\n" << summary << "\n";
    if (!options.empty()) out << "\noptions:\n";
    for (const OptionSpec& option : options) {
        std::string left = "  --" + option.name + (option.valueName.empty() ? "" : " " + option.valueName);
        if (left.size() < 28)
            left.resize(28, ' ');
        else
            left += "\n" + std::string(28, ' ');
        out << left << option.help;
        if (option.required) out << " (required)";
        if (option.kind == OptionKind::RepeatedValue) out << " (repeatable)";
        out << "\n";
    }
    out << "  --help                    show this help\n";
    return out.str();
}

} // namespace tmk::cli
