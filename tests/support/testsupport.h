// Shared helpers for the GoogleTest executables.
#pragma once

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace tmk::test {

// tests/data (TM_TEST_DATA), where committed fixtures live.
std::filesystem::path dataDir();
// A fresh, empty folder under the build tree's test-out (TM_TEST_OUT) named after `name`.
std::filesystem::path freshOutDir(const std::string& name);
// The tastemaker-cli binary (TM_CLI).
std::filesystem::path cliPath();

// The raw bytes of tensor `tensor` in the safetensors file `file` (a fixture case); fails the test
// (and returns nothing) when either is missing.
std::vector<std::byte> tensorBytes(const std::filesystem::path& file, const std::string& tensor);

template <typename T> std::vector<T> tensorValues(const std::filesystem::path& file, const std::string& tensor)
{
    std::vector<std::byte> bytes = tensorBytes(file, tensor);
    std::vector<T> values(bytes.size() / sizeof(T));
    if (!bytes.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
    return values;
}

} // namespace tmk::test
