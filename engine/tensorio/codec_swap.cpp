// replaceCodecDecoder (tastemaker/tensorio.h): a model's EnCodec decoder replaced by a retrained one whose
// encoder and codebooks are the model's own.
#include <algorithm>

#include "tastemaker/tensorio.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

const std::string kCodecPrefix = "audio_encoder.";
const std::string kDecoderPrefix = "audio_encoder.decoder.";

} // namespace

Expected<CodecSwapStats> replaceCodecDecoder(
    const fs::path& modelDir, const fs::path& codecDir, const fs::path& outFile)
{
    Expected<SafetensorsCheckpoint> model = SafetensorsCheckpoint::open(modelDir);
    if (!model) return model.error();
    Expected<SafetensorsCheckpoint> codec = SafetensorsCheckpoint::open(codecDir);
    if (!codec) return codec.error();
    CodecSwapStats stats;
    std::vector<TensorView> out;
    for (const std::string& name : model->names()) {
        const SafetensorsCheckpoint::Entry mine = model->find(name);
        TensorView view { name, mine.info->dtype, mine.info->shape, mine.data() };
        if (name.starts_with(kCodecPrefix)) {
            const SafetensorsCheckpoint::Entry theirs = codec->find(name);
            if (!theirs.file)
                return Error::inFile(ErrorCode::Mismatch, codec->description(),
                    "has no tensor \"" + name + "\", which the model's codec has: it is not a codec of this shape");
            if (theirs.info->dtype != mine.info->dtype || theirs.info->shape != mine.info->shape)
                return Error::inFile(ErrorCode::Mismatch, codec->description(),
                    "holds \"" + name
                        + "\" with another dtype or shape than the model's: it is not a codec of this "
                          "shape");
            const auto a = mine.data(), b = theirs.data();
            const bool same = std::equal(a.begin(), a.end(), b.begin(), b.end());
            if (name.starts_with(kDecoderPrefix)) {
                view.data = b;
                stats.decoderTensors += 1;
                stats.decoderTensorsChanged += same ? 0 : 1;
            } else if (!same) {
                return Error::inFile(ErrorCode::Mismatch, codec->description(),
                    "changes \"" + name
                        + "\": its encoder or codebooks are not the model's, so it would encode songs into other "
                          "codes than the language model was trained on (retrain it with train-codec --decoder-only "
                          "--init-from the model)");
            }
        }
        out.push_back(std::move(view));
    }
    if (stats.decoderTensors == 0)
        return Error::inFile(
            ErrorCode::Format, model->description(), "has no EnCodec decoder (audio_encoder.decoder.*)");
    std::map<std::string, std::string> metadata;
    if (!model->files().empty()) metadata = model->files().front().metadata();
    TMK_TRY(writeSafetensors(outFile, out, metadata));
    return stats;
}

} // namespace tmk
