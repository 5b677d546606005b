// `make-adapters`: a random 26-adapter bank for any model, for tests and benchmarks. `bank-export`: a bank copied
// into a self-contained folder, its factors in one dtype.
#include <algorithm>
#include <cctype>
#include <iostream>

#include "commands.h"
#include "tastemaker/adapters.h"
#include "tastemaker/devtools/model_maker.h"
#include "tastemaker/tensorio.h"

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

Command bankExportCommand()
{
    Command command;
    command.name = "bank-export";
    command.summary = "Copy an adapter bank into a new self-contained folder (relative paths, training records kept), "
                      "its LoRA factors in one dtype (bf16 halves a float32 bank).";
    command.options = {
        { "bank", OptionKind::Value, "DIR", "the bank to copy (its bank.json)", true },
        { "out", OptionKind::Value, "DIR", "the new folder (must not exist)", true },
        { "dtype", OptionKind::Value, "f32|bf16|f16", "the factors' dtype in the copy (default bf16)" },
    };
    command.run = [](const Args& args) {
        std::string name = args.getOr("dtype", "bf16");
        std::transform(
            name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        DType dtype = DType::BF16;
        if (!parseDType(name, &dtype) || (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16))
            return reportError(Error { ErrorCode::InvalidArgument,
                "bank-export: --dtype is f32, bf16 or f16, not \"" + args.getOr("dtype", "") + "\"" });
        Expected<std::vector<MetricInfo>> metrics = loadMetrics();
        if (!metrics) return reportError(metrics.error());
        const std::string out = *args.get("out");
        Expected<BankSummary> bank = exportBank(*args.get("bank"), out, dtype, *metrics, [](int done, int total) {
            std::cerr << "exported " << done << "/" << total << " adapters\r" << std::flush;
        });
        if (!bank) return reportError(bank.error());
        std::cerr << "\nwrote " << bank->adapterCount() << " adapters (" << dtypeName(dtype) << ") to " << out << "\n";
        return static_cast<int>(kExitOk);
    };
    return command;
}

} // namespace tmk::cli
