#include "commands.h"

#include <iostream>

namespace tmk::cli {

const std::vector<Command>& allCommands()
{
    static const std::vector<Command> commands = {
        infoCommand(),
        inspectCommand(),
        generateCommand(),
        regenerateCommand(),
        encodeCommand(),
        decodeCommand(),
        makeModelCommand(),
        convertModelCommand(),
        makeAdaptersCommand(),
        benchCommand(),
        playCommand(),
        pairsCommand(),
        tokenizeCommand(),
        trainCommand(),
        trainAllCommand(),
        exportDpoCommand(),
        bankAddCommand(),
        worldCommand(),
        analyseCommand(),
        trainCodecCommand(),
        trainLmCommand(),
        codecEvalCommand(),
        evalTagsCommand(),
        evaluateCommand(),
        bankExportCommand(),
    };
    return commands;
}

int reportError(const Error& error)
{
    std::cerr << "tastemaker-cli: " << error.message << "\n";
    return error.code == ErrorCode::InvalidArgument ? kExitUsage : kExitFailure;
}

} // namespace tmk::cli
