// Runs a program and captures its exit code and output (for CLI tests).
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace tmk::test {

struct ProcessResult {
    int exitCode = -1;
    std::string out; // stdout
    std::string err; // stderr
};

// Runs `program` with `args` (no shell), waits, and returns its exit code and output.
ProcessResult runProcess(const std::string& program, const std::vector<std::string>& args);

// Starts `program` with `args` without waiting: this process's environment with `env` ("NAME=value", each
// replacing a variable of that name), stdout to /dev/null and stderr into `stderrPath`. Returns the pid, or
// -1 when it could not be started.
pid_t startProcess(const std::string& program, const std::vector<std::string>& args,
    const std::vector<std::string>& env, const std::filesystem::path& stderrPath);

} // namespace tmk::test
