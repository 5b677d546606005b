// Helpers shared by the model-using subcommands: model options, progress printing, codes files.
#pragma once

#include <filesystem>
#include <memory>

#include "args.h"
#include "tastemaker/musicgen.h"

namespace tmk::cli {

// --model DIR, --device cpu|cuda, --dtype f32|bf16|f16
std::vector<OptionSpec> modelOptions();
// The tokenizer that make-model and the benchmarks give random models: an installed tree's
// share/tastemaker/models/tokenizer/spiece.model, else the source tree's models/tokenizer/spiece.model.
std::string defaultSpieceModel();
Expected<std::shared_ptr<const MusicgenModel>> loadModel(const Args& args);

// h:mm:ss, for ETAs.
std::string clockText(double seconds);
// The non-empty items of a comma-separated list ("a,,b" gives a and b).
std::vector<std::string> splitList(const std::string& text);
// The comma-separated numbers of option --`option`'s `text` ("4,1,1,1"); an error names the item that is not one.
Expected<std::vector<double>> numberList(const std::string& text, const std::string& option);

// Prints progress to stderr on one updating line (only when stderr is a terminal, else every 10%).
ProgressCallback stderrProgress();

Expected<void> writeCodesNpy(const std::filesystem::path& path, const AudioCodes& codes);
Expected<AudioCodes> readCodesNpy(const std::filesystem::path& path);

// x.wav for one item; x-0.wav, x-1.wav, ... for several, in order.
std::filesystem::path itemPath(const std::filesystem::path& path, size_t index, size_t count);

Expected<void> writeSignals(const std::filesystem::path& out, const std::vector<std::vector<float>>& signals,
    int sampleRate, const std::string& sampleFormat, const std::string& comment);

} // namespace tmk::cli
