// `make-adapters`: a random 26-adapter bank for any model, for tests and benchmarks. `bank-export`: a bank copied
// into a self-contained folder, its factors in one dtype. `bank-add`: one adapter folder registered in a bank.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <unistd.h>

#include "commands.h"
#include "tastemaker/adapters.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/devtools/model_maker.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/steering.h"
#include "tastemaker/tensorio.h"
#include "tastemaker/training.h"

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
        { "model", OptionKind::Value, "DIR",
            "record this model as the copy's base (its name and fingerprint), e.g. after convert-model --codec" },
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
        BankBase base;
        if (auto model = args.get("model")) {
            Expected<ContentIdentity> identity = modelIdentity(*model);
            if (!identity) return reportError(identity.error());
            base = { identity->name, identity->fingerprint };
        }
        Expected<BankSummary> bank = exportBank(
            *args.get("bank"), out, dtype, *metrics,
            [](int done, int total) {
                std::cerr << "exported " << done << "/" << total << " adapters\r" << std::flush;
            },
            base);
        if (!bank) return reportError(bank.error());
        std::cerr << "\nwrote " << bank->adapterCount() << " adapters (" << dtypeName(dtype) << ") to " << out << "\n";
        return static_cast<int>(kExitOk);
    };
    return command;
}

// Checks that `adapterDir` loads on the model (every tensor against the model's modules), through a bank of
// its own in a temporary folder, so a bad adapter never reaches the user's bank.
Expected<void> checkAdapterOnModel(const std::string& modelDir, const std::string& metric, AdapterSide side,
    const std::filesystem::path& adapterDir, const std::vector<MetricInfo>& metrics)
{
    const std::filesystem::path scratch = std::filesystem::temp_directory_path()
        / ("tastemaker-bank-add-" + std::to_string(static_cast<long long>(::getpid())));
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
    Expected<void> result = registerAdapter(scratch, metric, side, std::filesystem::absolute(adapterDir), metrics);
    if (result) {
        Expected<std::shared_ptr<const MusicgenModel>> model = MusicgenModel::load(modelDir, ModelOptions {});
        if (!model)
            result = model.error();
        else if (auto steering = Steering::load(*model, scratch, metrics); !steering)
            result = steering.error();
    }
    std::filesystem::remove_all(scratch, ec);
    return result;
}

Command bankAddCommand()
{
    Command command;
    command.name = "bank-add";
    command.summary = "Register a PEFT LoRA adapter folder (trained here, or by PEFT + TRL elsewhere) as one side of a "
                      "metric's slider in a bank.";
    command.options = {
        { "bank", OptionKind::Value, "DIR", "the bank folder (bank.json is created when missing)", true },
        { "metric", OptionKind::Value, "M", "the slider's metric (an id of resources/metrics.json)", true },
        { "direction", OptionKind::Value, "+|-", "the side of the slider the adapter drives", true },
        { "adapter", OptionKind::Value, "DIR", "the adapter folder (adapter_config.json, adapter_model.safetensors)",
            true },
        { "model", OptionKind::Value, "DIR", "check first that the adapter loads on this base model" },
    };
    command.run = [](const Args& args) {
        Expected<std::vector<MetricInfo>> metrics = loadMetrics();
        if (!metrics) return reportError(metrics.error());
        Expected<AdapterSide> side = parseDirection(*args.get("direction"));
        if (!side) return reportError(side.error());
        const std::string metric = *args.get("metric");
        const std::filesystem::path adapter = *args.get("adapter");
        std::string baseModel;
        if (auto model = args.get("model")) {
            if (Expected<void> checked = checkAdapterOnModel(*model, metric, *side, adapter, *metrics); !checked)
                return reportError(checked.error());
            baseModel = std::filesystem::path(*model).filename().string();
        }
        Expected<void> added = registerAdapter(*args.get("bank"), metric, *side, adapter, *metrics, baseModel);
        if (!added) return reportError(added.error());
        std::cerr << "registered " << adapterName(metric, *side) << " -> " << adapter.string() << " in "
                  << *args.get("bank") << "\n";
        return static_cast<int>(kExitOk);
    };
    return command;
}

} // namespace tmk::cli
