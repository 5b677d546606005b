// The main of the grouped GoogleTest executables (tests/CMakeLists.txt). One executable holds the tests of
// several files; ctest runs it once per file with --tm_source=<file name without .cpp>, which selects the
// tests that file defines, so each file stays one ctest entry with its old name and label.
// Without --tm_source every test runs. A --gtest_filter given explicitly overrides --tm_source.
// Exit status 77 (ctest's SKIP_RETURN_CODE) when every selected test was skipped.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <string_view>

#include "tastemaker/process.h"

namespace {

constexpr std::string_view kSourceFlag = "--tm_source=";

// The ':'-joined full names of the tests defined in <source>.cpp; count is their number.
std::string filterForSource(const std::string& source, int& count)
{
    std::string filter;
    const testing::UnitTest& unit = *testing::UnitTest::GetInstance();
    for (int s = 0; s < unit.total_test_suite_count(); ++s) {
        const testing::TestSuite& suite = *unit.GetTestSuite(s);
        for (int t = 0; t < suite.total_test_count(); ++t) {
            const testing::TestInfo& info = *suite.GetTestInfo(t);
            if (std::filesystem::path(info.file()).stem() != source) continue;
            if (count++ > 0) filter += ':';
            filter += std::string(suite.name()) + "." + info.name();
        }
    }
    return filter;
}

} // namespace

int main(int argc, char** argv)
{
    tmk::preferPassiveOpenMpWait(argv);
    bool explicitFilter = false;
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--gtest_filter", 14) == 0) explicitFilter = true;
    testing::InitGoogleTest(&argc, argv);

    std::string source;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.substr(0, kSourceFlag.size()) == kSourceFlag) {
            source = arg.substr(kSourceFlag.size());
        } else {
            std::fprintf(stderr, "unknown argument: %s (expected --tm_source=test_<name> or gtest flags)\n", argv[i]);
            return 2;
        }
    }
    if (!source.empty() && !explicitFilter) {
        int count = 0;
        const std::string filter = filterForSource(source, count);
        if (count == 0) {
            std::fprintf(
                stderr, "--tm_source=%s: this executable has no tests from %s.cpp\n", source.c_str(), source.c_str());
            return 1;
        }
        GTEST_FLAG_SET(filter, filter);
    }

    const int status = RUN_ALL_TESTS();
    const testing::UnitTest& unit = *testing::UnitTest::GetInstance();
    if (status == 0 && unit.test_to_run_count() > 0 && unit.skipped_test_count() == unit.test_to_run_count()) return 77;
    return status;
}
