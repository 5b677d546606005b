// The main of the grouped Qt Test executables: runs the test class registered by the file named in argv[1]
// (see qtest_registry.h). The remaining arguments go to QTest.
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "qtest_registry.h"
#include "tastemaker/process.h"

namespace tmk::test {

namespace {

std::map<std::string, QTestMain>& registry()
{
    static std::map<std::string, QTestMain> tests;
    return tests;
}

} // namespace

bool registerQTest(const char* sourceFile, QTestMain main)
{
    registry()[std::filesystem::path(sourceFile).stem().string()] = main;
    return true;
}

} // namespace tmk::test

int main(int argc, char** argv)
{
    tmk::preferPassiveOpenMpWait(argv);
    const auto& tests = tmk::test::registry();
    const auto found = argc >= 2 ? tests.find(argv[1]) : tests.end();
    if (found == tests.end()) {
        std::fprintf(stderr, "usage: %s TEST [QTest arguments]; TEST is one of:\n", argv[0]);
        for (const auto& [name, main] : tests) std::fprintf(stderr, "  %s\n", name.c_str());
        return 2;
    }
    std::vector<char*> args { argv[0] };
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    return found->second(static_cast<int>(args.size()) - 1, args.data());
}
