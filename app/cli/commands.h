// The subcommands of tastemaker-cli. Each lives in its own cmd_<name>.cpp and is listed in commands.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "args.h"

namespace tmk::cli {

// Exit codes: 0 success, 1 the work failed (a message on stderr), 2 bad arguments, 130 cancelled.
enum ExitCode { kExitOk = 0, kExitFailure = 1, kExitUsage = 2, kExitCancelled = 130 };

struct Command {
    std::string name;
    std::string summary;
    std::vector<OptionSpec> options;
    std::vector<std::string> positional; // names, e.g. "FILE"; a last name ending in "..." repeats
    int minPositional = 0;
    std::function<int(const Args&)> run;
};

const std::vector<Command>& allCommands();

// Prints "tastemaker-cli: <message>" on stderr and returns kExitFailure (or kExitUsage for
// InvalidArgument errors).
int reportError(const Error& error);

Command infoCommand();
Command inspectCommand();
Command generateCommand();
Command encodeCommand();
Command decodeCommand();
Command makeModelCommand();
Command convertModelCommand();
Command benchCommand();
Command makeAdaptersCommand();
Command bankExportCommand();
Command playCommand();
Command regenerateCommand();
Command pairsCommand();
Command tokenizeCommand();
Command trainCommand();
Command trainAllCommand();
Command exportDpoCommand();
Command bankAddCommand();
Command worldCommand();
Command analyseCommand();
Command trainCodecCommand();
Command trainLmCommand();
Command codecEvalCommand();
Command evalTagsCommand();
Command evaluateCommand();

} // namespace tmk::cli
