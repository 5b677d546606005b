// `make-model`: a random-weight MusicGen checkpoint of any config, in the Hugging Face layout.
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/devtools/model_maker.h"

namespace tmk::cli {

Command makeModelCommand()
{
    Command command;
    command.name = "make-model";
    command.summary = "Write a random-weight (untrained) MusicGen checkpoint for tests and benchmarks.";
    command.options = {
        { "config", OptionKind::Value, "CONFIG.json", "a MusicGen config.json", true },
        { "out", OptionKind::Value, "DIR", "folder to write", true },
        { "seed", OptionKind::Value, "S", "random seed (default 0)" },
        { "tokenizer", OptionKind::Value, "SPIECE.model",
            "sentencepiece model to include (default: the bundled tiny one)" },
    };
    command.run = [](const Args& args) {
        Expected<long long> seed = args.integer("seed", 0);
        if (!seed) return reportError(seed.error());
        MakeModelOptions options;
        options.configJson = *args.get("config");
        options.outDir = *args.get("out");
        options.seed = static_cast<uint64_t>(*seed);
        options.spieceModel = args.getOr("tokenizer", defaultSpieceModel());
        if (Expected<void> made = makeRandomModel(options); !made) return reportError(made.error());
        std::cerr << "wrote a random-weight model to " << options.outDir.string() << "\n";
        return static_cast<int>(kExitOk);
    };
    return command;
}

} // namespace tmk::cli
