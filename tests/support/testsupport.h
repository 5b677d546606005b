// Shared helpers for the GoogleTest executables.
#pragma once

#include <filesystem>
#include <string>

namespace tmk::test {

// tests/data (TM_TEST_DATA), where committed fixtures live.
std::filesystem::path dataDir();
// A fresh, empty folder under the build tree's test-out (TM_TEST_OUT) named after `name`.
std::filesystem::path freshOutDir(const std::string& name);
// The tastemaker-cli binary (TM_CLI).
std::filesystem::path cliPath();

}  // namespace tmk::test
