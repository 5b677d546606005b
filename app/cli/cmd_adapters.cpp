// `make-adapters`: a random 26-adapter bank for any model, for tests and benchmarks.
#include <iostream>

#include "commands.h"
#include "tastemaker/adapters.h"
#include "tastemaker/devtools/model_maker.h"

namespace tmk::cli {

Command makeAdaptersCommand()
{
    Command command;
    command.name = "make-adapters";
    command.summary = "Write a bank of 26 random LoRA adapters (13 metrics x {+, -}) in PEFT format for a model.";
    command.options = {
        { "model", OptionKind::Value, "DIR", "the base model's checkpoint folder (its config.json is read)", true },
        { "out", OptionKind::Value, "BANK_DIR", "folder to write (bank.json and one folder per adapter)", true },
        { "rank", OptionKind::Value, "R", "LoRA rank (default 16)" },
        { "seed", OptionKind::Value, "S", "random seed (default 0)" },
    };
    command.run = [](const Args& args) {
        Expected<long long> rank = args.integer("rank", 16);
        Expected<long long> seed = args.integer("seed", 0);
        if (!rank) return reportError(rank.error());
        if (!seed) return reportError(seed.error());
        if (*rank < 1)
            return reportError(Error { ErrorCode::InvalidArgument, "make-adapters: --rank must be at least 1" });
        Expected<std::vector<MetricInfo>> metrics = loadMetrics();
        if (!metrics) return reportError(metrics.error());
        RandomBankParams params;
        params.modelDir = *args.get("model");
        params.outDir = *args.get("out");
        params.rank = *rank;
        params.alpha = static_cast<double>(*rank);
        params.seed = static_cast<uint64_t>(*seed);
        Expected<BankSummary> bank = makeRandomAdapterBank(params, *metrics);
        if (!bank) return reportError(bank.error());
        std::cerr << "wrote " << bank->adapterCount() << " adapters to " << params.outDir.string() << "\n";
        return static_cast<int>(kExitOk);
    };
    return command;
}

} // namespace tmk::cli
