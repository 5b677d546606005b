// Runs a program and captures its exit code and output (for CLI tests).
#pragma once

#include <string>
#include <vector>

namespace tmk::test {

struct ProcessResult {
    int exitCode = -1;
    std::string out; // stdout
    std::string err; // stderr
};

// Runs `program` with `args` (no shell), waits, and returns its exit code and output.
ProcessResult runProcess(const std::string& program, const std::vector<std::string>& args);

} // namespace tmk::test
