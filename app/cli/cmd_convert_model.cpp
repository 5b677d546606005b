// `convert-model`: a MusicGen folder with its T5 and decoder matrices stored in bf16 (or back in f32), so
// that a bf16 model loads in place from the memory-mapped file (docs/performance.md, "Loading").
#include <iostream>
#include <system_error>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"

namespace tmk::cli {

namespace fs = std::filesystem;

namespace {

// Copies every file of `from` but the weights into `to` (config, generation config, tokenizer), atomically.
Expected<void> copyModelFiles(const fs::path& from, const fs::path& to)
{
    std::error_code ec;
    for (fs::directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path& path = it->path();
        const std::string name = path.filename().string();
        if (!it->is_regular_file(ec) || path.extension() == ".safetensors" || name == "model.safetensors.index.json")
            continue;
        Expected<std::string> bytes = readFileText(path);
        if (!bytes) return bytes.error();
        TMK_TRY(writeFileAtomic(to / name, *bytes));
    }
    if (ec) return Error::inFile(ErrorCode::Io, from.string(), "could not be listed: " + ec.message());
    return {};
}

} // namespace

Command convertModelCommand()
{
    Command command;
    command.name = "convert-model";
    command.summary = "Write a copy of a MusicGen folder whose text encoder and decoder matrices are stored in bf16 "
                      "(half the size; a bf16 model then loads in place) or in f32, or whose EnCodec decoder is "
                      "replaced by a retrained one (--codec).";
    command.options = {
        { "model", OptionKind::Value, "DIR", "the MusicGen folder to convert", true },
        { "out", OptionKind::Value, "DIR", "folder to write (created; must not be DIR)", true },
        { "dtype", OptionKind::Value, "bf16|f32", "the matrices' dtype (default bf16)" },
        { "codec", OptionKind::Value, "DIR",
            "instead: take the EnCodec decoder from this codec (train-codec --decoder-only --init-from DIR's codec; "
            "its encoder and codebooks must be DIR's), keeping every other tensor as it is" },
    };
    command.run = [](const Args& args) {
        const fs::path in = *args.get("model"), out = *args.get("out");
        const std::string name = args.getOr("dtype", "bf16");
        if (name != "bf16" && name != "f32")
            return reportError(Error { ErrorCode::InvalidArgument, "convert-model: --dtype is bf16 or f32" });
        std::error_code ec;
        if (fs::exists(out, ec) && fs::equivalent(in, out, ec))
            return reportError(Error { ErrorCode::InvalidArgument, "convert-model: --out must be another folder" });
        if (args.has("codec") && args.has("dtype"))
            return reportError(
                Error { ErrorCode::InvalidArgument, "convert-model: give --codec or --dtype, not both" });
        fs::create_directories(out, ec);
        if (ec) return reportError(Error::inFile(ErrorCode::Io, out.string(), "could not be created: " + ec.message()));
        if (auto codec = args.get("codec")) {
            Expected<CodecSwapStats> swapped = replaceCodecDecoder(in, *codec, out / "model.safetensors");
            if (!swapped) return reportError(swapped.error());
            if (Expected<void> copied = copyModelFiles(in, out); !copied) return reportError(copied.error());
            std::cerr << "took the EnCodec decoder from " << *codec << " (" << swapped->decoderTensorsChanged << " of "
                      << swapped->decoderTensors << " tensors changed); every other tensor is " << in.string()
                      << "'s, in " << out.string() << "\n";
            return static_cast<int>(kExitOk);
        }
        // EnCodec always runs in float32: its weights stay as they are.
        Expected<ConvertStats> stats = convertCheckpoint(
            in, out / "model.safetensors", name == "bf16" ? DType::BF16 : DType::F32, { "audio_encoder." });
        if (!stats) return reportError(stats.error());
        if (Expected<void> copied = copyModelFiles(in, out); !copied) return reportError(copied.error());
        std::cerr << "converted " << stats->tensorsConverted << " tensors to " << name << ": "
                  << stats->bytesIn / 1000000 << " MB -> " << stats->bytesOut / 1000000 << " MB in " << out.string()
                  << "\n";
        return static_cast<int>(kExitOk);
    };
    return command;
}

} // namespace tmk::cli
