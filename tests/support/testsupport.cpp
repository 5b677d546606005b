#include "testsupport.h"

#include <cstdlib>
#include <gtest/gtest.h>
#include <system_error>

#include "tastemaker/tensorio.h"

namespace tmk::test {

namespace {
std::filesystem::path envPath(const char* variable, const char* fallback)
{
    const char* value = std::getenv(variable);
    return value && *value ? std::filesystem::path(value) : std::filesystem::path(fallback);
}
} // namespace

std::filesystem::path dataDir()
{
    return envPath("TM_TEST_DATA", "tests/data");
}

std::filesystem::path freshOutDir(const std::string& name)
{
    std::filesystem::path dir = envPath("TM_TEST_OUT", "test-out") / name;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir);
    return dir;
}

std::filesystem::path cliPath()
{
    return envPath("TM_CLI", "tastemaker-cli");
}

std::vector<std::byte> tensorBytes(const std::filesystem::path& file, const std::string& tensor)
{
    Expected<SafetensorsFile> opened = SafetensorsFile::open(file);
    if (!opened) {
        ADD_FAILURE() << opened.error().message;
        return {};
    }
    const TensorInfo* info = opened->find(tensor);
    if (!info) {
        ADD_FAILURE() << file << " has no tensor " << tensor;
        return {};
    }
    std::span<const std::byte> data = opened->data(*info);
    return { data.begin(), data.end() };
}

} // namespace tmk::test
