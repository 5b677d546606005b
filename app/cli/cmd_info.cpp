// `info`: what this build and machine offer (libtorch version, threads, CUDA).
#include <iostream>

#include "commands.h"
#include "tastemaker/runtime.h"

namespace tmk::cli {

Command infoCommand()
{
    Command command;
    command.name = "info";
    command.summary = "Show the libtorch version, compute threads and whether CUDA is available.";
    command.run = [](const Args&) {
        RuntimeInfo info = runtimeInfo();
        std::cout << "libtorch " << info.torchVersion << "\n"
                  << "intra-op threads " << info.intraOpThreads << "\n"
                  << "cuda "
                  << (info.cudaAvailable ? "available, " + std::to_string(info.cudaDeviceCount) + " device(s)"
                                         : "not available")
                  << "\n";
        return kExitOk;
    };
    return command;
}

} // namespace tmk::cli
