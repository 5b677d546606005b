// A small, strict argument parser for tastemaker-cli subcommands: every option is declared, unknown
// ones are errors, and --help text is generated from the declarations.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tastemaker/error.h"

namespace tmk::cli {

enum class OptionKind { Flag, Value, RepeatedValue };

struct OptionSpec {
    std::string name; // without the leading "--"
    OptionKind kind = OptionKind::Value;
    std::string valueName; // e.g. "DIR"; empty for flags
    std::string help;
    bool required = false;
};

class Args {
public:
    bool has(const std::string& name) const;
    std::optional<std::string> get(const std::string& name) const;
    std::string getOr(const std::string& name, const std::string& fallback) const;
    const std::vector<std::string>& getAll(const std::string& name) const;
    const std::vector<std::string>& positional() const { return m_positional; }

    // Typed access; the error names the option and the bad value.
    Expected<double> number(const std::string& name, double fallback) const;
    Expected<long long> integer(const std::string& name, long long fallback) const;
    // Reads every option of `fields` that was given into its target (a target keeps its value, the default,
    // when the option is absent); the first malformed value is the error.
    Expected<void> readIntegers(std::initializer_list<std::pair<const char*, int64_t*>> fields) const;
    Expected<void> readNumbers(std::initializer_list<std::pair<const char*, double*>> fields) const;

private:
    friend Expected<Args> parseArgs(const std::string&, const std::vector<OptionSpec>&, int,
        const std::vector<std::string>&, const std::vector<std::string>&);
    std::map<std::string, std::vector<std::string>> m_values;
    std::vector<std::string> m_positional;
};

// Parses `argv`. `positionalNames` lists the positional arguments the command takes (all required,
// the last may be repeated when it ends in "..."). `minPositional` is how many must be present.
Expected<Args> parseArgs(const std::string& command, const std::vector<OptionSpec>& options, int minPositional,
    const std::vector<std::string>& positionalNames, const std::vector<std::string>& argv);

std::string usageText(const std::string& command, const std::string& summary, const std::vector<OptionSpec>& options,
    const std::vector<std::string>& positionalNames);

} // namespace tmk::cli
