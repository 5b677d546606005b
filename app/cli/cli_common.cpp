#include "cli_common.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "tastemaker/audio_file.h"
#include "tastemaker/metrics.h"
#include "tastemaker/tensorio.h"

namespace tmk::cli {

namespace fs = std::filesystem;

std::string defaultSpieceModel()
{
    const std::filesystem::path share = installedDataDir();
    const std::filesystem::path installed = share / "models" / "tokenizer" / "spiece.model";
    std::error_code error;
    if (!share.empty() && std::filesystem::is_regular_file(installed, error)) return installed.string();
    return TM_DEFAULT_SPIECE_MODEL;
}

std::vector<OptionSpec> modelOptions()
{
    return {
        { "model", OptionKind::Value, "DIR", "Hugging Face MusicGen checkpoint folder (default: the bundled model)" },
        { "device", OptionKind::Value, "cpu|cuda", "compute device (default: cpu)" },
        { "dtype", OptionKind::Value, "f32|bf16|f16", "compute dtype of T5 and the decoder (default: f32)" },
    };
}

Expected<std::shared_ptr<const MusicgenModel>> loadModel(const Args& args)
{
    ModelOptions options;
    Expected<DeviceKind> device = parseDeviceKind(args.getOr("device", "cpu"));
    if (!device) return device.error();
    Expected<ComputeDType> dtype = parseComputeDType(args.getOr("dtype", "f32"));
    if (!dtype) return dtype.error();
    options.device = *device;
    options.dtype = *dtype;
    if (auto dir = args.get("model")) return MusicgenModel::load(*dir, options);
    const std::filesystem::path bundled = bundledModelDir();
    if (bundled.empty())
        return Error { ErrorCode::NotFound,
            "no --model given and no bundled model found (build the project, or pass a MusicGen folder)" };
    std::fprintf(stderr, "using the bundled model %s\n", bundled.string().c_str());
    return MusicgenModel::load(bundled, options);
}

ProgressCallback stderrProgress()
{
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    auto lastDecile = std::make_shared<int>(-1);
    return [terminal, lastDecile](const Progress& progress) {
        if (progress.total <= 1) return;
        const int percent = static_cast<int>(100.0 * progress.fraction());
        if (terminal) {
            std::fprintf(stderr, "\r%s %3d%%%s", progressStageName(progress.stage), percent,
                progress.done == progress.total ? "\n" : "");
        } else if (percent / 10 != *lastDecile || progress.done == progress.total) {
            *lastDecile = percent / 10;
            std::fprintf(stderr, "%s %d%%\n", progressStageName(progress.stage), percent);
        }
    };
}

Expected<void> writeCodesNpy(const fs::path& path, const AudioCodes& codes)
{
    return writeNpy(
        path, DType::I64, { codes.batch, codes.codebooks, codes.frames }, std::as_bytes(std::span(codes.values)));
}

Expected<AudioCodes> readCodesNpy(const fs::path& path)
{
    Expected<NpyArray> array = readNpy(path);
    if (!array) return array.error();
    if (array->dtype != DType::I64 || array->shape.size() != 3)
        return Error::inFile(
            ErrorCode::Format, path.string(), "must hold int64 codes shaped [batch, codebooks, frames]");
    AudioCodes codes;
    codes.batch = array->shape[0];
    codes.codebooks = array->shape[1];
    codes.frames = array->shape[2];
    std::span<const int64_t> values = array->as<int64_t>();
    codes.values.assign(values.begin(), values.end());
    return codes;
}

fs::path itemPath(const fs::path& path, size_t index, size_t count)
{
    if (count <= 1) return path;
    fs::path result = path;
    result.replace_filename(path.stem().string() + "-" + std::to_string(index) + path.extension().string());
    return result;
}

Expected<void> writeSignals(const fs::path& out, const std::vector<std::vector<float>>& signals, int sampleRate,
    const std::string& sampleFormat, const std::string& comment)
{
    Expected<SampleFormat> format = parseSampleFormat(sampleFormat);
    if (!format) return format.error();
    Expected<AudioContainer> container = containerForPath(out);
    if (!container) return container.error();
    AudioWriteOptions options;
    options.container = *container;
    options.format = *format;
    options.comment = comment;
    for (size_t i = 0; i < signals.size(); ++i) {
        const fs::path path = itemPath(out, i, signals.size());
        TMK_TRY(writeAudioFile(path, signals[i], 1, sampleRate, options));
        std::cerr << "wrote " << path.string() << "\n";
    }
    return {};
}

std::string clockText(double seconds)
{
    const long long s = static_cast<long long>(std::max(0.0, seconds) + 0.5);
    char text[32];
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    return text;
}

std::vector<std::string> splitList(const std::string& text)
{
    std::vector<std::string> items;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t end = std::min(text.find(',', start), text.size());
        if (end > start) items.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return items;
}

Expected<std::vector<double>> numberList(const std::string& text, const std::string& option)
{
    std::vector<double> values;
    for (const std::string& item : splitList(text)) {
        char* end = nullptr;
        const double value = std::strtod(item.c_str(), &end);
        if (*end != '\0')
            return Error { ErrorCode::InvalidArgument,
                "--" + option + " expects numbers separated by commas, not '" + item + "'" };
        values.push_back(value);
    }
    return values;
}

} // namespace tmk::cli
