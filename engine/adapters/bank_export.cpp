// exportBank (tastemaker/adapters.h): a bank copied into a new, self-contained folder with its factors in one dtype.
#include <system_error>

#include "adapters/lora_adapter.h"
#include "tastemaker/adapters.h"
#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

// The training record a run folder keeps beside the adapter (docs/training.md); copied when present.
constexpr const char* kRecordFiles[] = { "run.json", "metrics.jsonl", "train.log" };

Expected<void> copyRecord(const fs::path& from, const fs::path& to)
{
    for (const char* name : kRecordFiles) {
        std::error_code ec;
        if (!fs::is_regular_file(from / name, ec)) continue;
        Expected<std::string> text = readFileText(from / name);
        if (!text) return text.error();
        TMK_TRY(writeFileAtomic(to / name, *text));
    }
    return {};
}

} // namespace

Expected<BankSummary> exportBank(const fs::path& bankDir, const fs::path& outDir, DType dtype,
    const std::vector<MetricInfo>& metrics, const std::function<void(int done, int total)>& progress,
    const BankBase& rebase)
{
    if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
        return Error { ErrorCode::InvalidArgument,
            std::string("an adapter's factors are F32, F16 or BF16, not ") + dtypeName(dtype) };
    Expected<BankSummary> bank = readBankSummary(bankDir, metrics);
    if (!bank) return bank.error();
    std::error_code ec;
    if (fs::exists(outDir, ec))
        return Error::inFile(ErrorCode::InvalidArgument, outDir.string(),
            "already exists; export the bank into a new folder so that nothing is overwritten");
    fs::path partial = outDir;
    partial += ".partial";
    fs::remove_all(partial, ec); // what an interrupted export left
    fs::create_directories(partial, ec);
    if (ec) return Error::inFile(ErrorCode::Io, partial.string(), "could not be created: " + ec.message());
    const int total = bank->adapterCount();
    int done = 0;
    for (const BankMetric& metric : bank->metrics) {
        for (AdapterSide side : { AdapterSide::Positive, AdapterSide::Negative }) {
            if (!metric.has(side)) continue;
            Expected<LoraAdapter> adapter = LoraAdapter::load(metric.dir(side));
            if (!adapter) return adapter.error();
            adapter->setStoredDtype(dtype);
            const fs::path target = partial / adapterName(metric.id, side);
            TMK_TRY(adapter->save(target));
            TMK_TRY(copyRecord(metric.dir(side), target));
            const bool rebased = !rebase.fingerprint.empty();
            TMK_TRY(registerAdapter(partial, metric.id, side, target, metrics, rebased ? rebase.name : bank->baseModel,
                rebased ? rebase.fingerprint : bank->baseModelFingerprint));
            if (progress) progress(++done, total);
        }
    }
    fs::rename(partial, outDir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, outDir.string(), "could not be created: " + ec.message());
    fs::remove(outDir / "bank.json.lock", ec); // registerAdapter's lock file, not part of the bank
    return readBankSummary(outDir, metrics);
}

} // namespace tmk
