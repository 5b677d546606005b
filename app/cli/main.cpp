// tastemaker-cli: command-line access to the Tastemaker engine.
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "local_launch.h"
#include "tastemaker/log.h"
#include "tastemaker/process.h"
#include "tastemaker/runtime.h"

namespace {

void printOverview()
{
    std::cout << "usage: tastemaker-cli <command> [options]\n\ncommands:\n";
    for (const tmk::cli::Command& command : tmk::cli::allCommands()) {
        std::string name = "  " + command.name;
        name.resize(16, ' ');
        std::cout << name << command.summary << "\n";
    }
    std::cout << "\nRun 'tastemaker-cli <command> --help' for a command's options.\n";
}

} // namespace

int main(int argc, char** argv)
{
    tmk::preferPassiveOpenMpWait(argv);
    using namespace tmk::cli;
    std::vector<std::string> words(argv + 1, argv + argc);
    if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
        printOverview();
        return words.empty() ? kExitUsage : kExitOk;
    }
    setCommandLine(words);
    const std::string name = words[0];
    words.erase(words.begin());
    for (const Command& command : allCommands()) {
        if (command.name != name) continue;
        for (const std::string& word : words) {
            if (word == "--help" || word == "-h") {
                std::cout << usageText(command.name, command.summary, command.options, command.positional);
                return kExitOk;
            }
        }
        tmk::Expected<Args> args
            = parseArgs(command.name, command.options, command.minPositional, command.positional, words);
        if (!args) {
            std::cerr << "tastemaker-cli: " << args.error().message << " (see 'tastemaker-cli " << name
                      << " --help')\n";
            return kExitUsage;
        }
        tmk::setLogSink([](tmk::LogLevel level, std::string_view message) {
            if (level != tmk::LogLevel::Debug) std::cerr << "[" << tmk::logLevelName(level) << "] " << message << "\n";
        });
        tmk::initRuntime();
        return command.run(*args);
    }
    std::cerr << "tastemaker-cli: unknown command '" << name << "' (run 'tastemaker-cli --help' for the list)\n";
    return kExitUsage;
}
