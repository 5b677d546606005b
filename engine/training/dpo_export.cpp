// exportDpoData (tastemaker/training.h): one run's pairs and codes for trainers outside Tastemaker.
#include <map>
#include <nlohmann/json.hpp>

#include "tastemaker/clip_library.h"
#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "training/dpo_data.h"

namespace tmk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string pairLines(const std::vector<DpoExample>& examples)
{
    std::string text;
    for (const DpoExample& e : examples)
        text += json { { "prompt", e.prompt }, { "chosen", e.chosenId }, { "rejected", e.rejectedId } }.dump() + "\n";
    return text;
}

} // namespace

Expected<DpoExportReport> exportDpoData(
    const TrainOptions& options, const std::vector<MetricInfo>& metrics, const fs::path& outDir)
{
    Expected<DpoDataset> data = loadDpoDataset(options, metrics);
    if (!data) return data.error();
    Expected<ContentIdentity> model = modelIdentity(options.modelDir);
    if (!model) return model.error();
    std::error_code ec;
    fs::create_directories(outDir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, outDir.string(), "cannot be created: " + ec.message());

    // Every song once, under its track id, as the run would see it (cropped to maxFrames).
    std::map<std::string, at::Tensor> songs;
    for (const auto* split : { &data->train, &data->test })
        for (const DpoExample& e : *split) {
            songs.emplace(e.chosenId, e.chosen.select(0, 0).contiguous());
            songs.emplace(e.rejectedId, e.rejected.select(0, 0).contiguous());
        }
    std::vector<TensorView> views;
    for (const auto& [id, codes] : songs)
        views.push_back(TensorView { id, DType::I64, { codes.size(0), codes.size(1) },
            { static_cast<const std::byte*>(codes.data_ptr()), static_cast<size_t>(codes.nbytes()) } });
    const std::string adapter = options.metric + sideSymbol(options.direction);
    TMK_TRY(writeSafetensors(outDir / "codes.safetensors", views,
        { { "format", "pt" }, { "tastemaker_export", "dpo/1" }, { "model_fingerprint", model->fingerprint } }));
    TMK_TRY(writeFileAtomic(outDir / "train.jsonl", pairLines(data->train)));
    TMK_TRY(writeFileAtomic(outDir / "test.jsonl", pairLines(data->test)));
    DpoExportReport report;
    report.trainPairs = static_cast<int64_t>(data->train.size());
    report.testPairs = static_cast<int64_t>(data->test.size());
    report.skippedPairs = data->skipped;
    report.songs = static_cast<int64_t>(songs.size());
    const json description = {
        { "format", 1 },
        { "model", { { "name", model->name }, { "fingerprint", model->fingerprint } } },
        { "metric", options.metric },
        { "direction", sideSymbol(options.direction) },
        { "adapter_name", adapter },
        { "max_frames", options.maxFrames },
        { "train_pairs", report.trainPairs },
        { "test_pairs", report.testPairs },
        { "skipped_pairs", report.skippedPairs },
        { "songs", report.songs },
        { "codes", "codes.safetensors: one int64 [codebooks, frames] tensor per track id, undelayed" },
        { "pairs", "train.jsonl / test.jsonl: {prompt, chosen, rejected}, track ids; direction applied" },
        { "training_options", json::parse(options.toJson()) },
    };
    TMK_TRY(writeFileAtomic(outDir / "export.json", description.dump(2) + "\n"));
    return report;
}

} // namespace tmk
