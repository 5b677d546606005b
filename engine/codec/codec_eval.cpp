// TrainedCodec: a trained codec folder or checkpoint loaded for measurement (round trips and their log-mel
// distance), and the held-out rule of the trainers.
#include <algorithm>
#include <cmath>

#include <ATen/TensorOperators.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/hann_window.h>
#include <ATen/ops/log10.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/stft.h>
#include <ATen/ops/view_as_real.h>
#include <c10/core/InferenceMode.h>

#include "codec/codec_data.h"
#include "codec/codec_losses.h"
#include "codec/encodec.h"
#include "codec/encodec_train.h"
#include "tastemaker/codec_training.h"
#include "tensorio/torch/weights.h"

namespace tmk {

namespace fs = std::filesystem;

struct TrainedCodec::Impl {
    Encodec codec;
    at::Tensor window; // [1024]
    at::Tensor mel; // [513, 64]
};

TrainedCodec::TrainedCodec(std::shared_ptr<const Impl> impl)
    : m_impl(std::move(impl))
{
}

Expected<TrainedCodec> TrainedCodec::load(const fs::path& folderOrCheckpoint)
{
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    try {
        Expected<Encodec> codec = Error { ErrorCode::NotFound, "" };
        std::error_code error;
        if (fs::is_directory(folderOrCheckpoint, error)) {
            codec = encodec::loadEncodecFolder(folderOrCheckpoint, f32);
        } else {
            Expected<WeightStore> store = WeightStore::open(folderOrCheckpoint);
            if (!store) return store.error();
            const std::string configText = store->metadataValue("encodec_config");
            if (configText.empty())
                return Error::inFile(ErrorCode::Format, folderOrCheckpoint.string(),
                    "is neither a codec folder nor a train-codec checkpoint (no encodec_config metadata)");
            Expected<EncodecConfig> config = encodec::parseEncodecConfig(configText, folderOrCheckpoint.string());
            if (!config) return config.error();
            MusicgenConfig model;
            model.codec = *config;
            codec = Encodec::load(*store, model, f32);
        }
        if (!codec) return codec.error();
        const int64_t rate = codec->sampleRate();
        auto impl = std::make_shared<Impl>(
            Impl { *codec, at::hann_window(1024, f32), encodec::melFilterbank(rate, 1024, 64) });
        return TrainedCodec(std::move(impl));
    } catch (const c10::Error& e) {
        return Error::inFile(ErrorCode::Internal, folderOrCheckpoint.string(),
            std::string("could not be loaded: ") + e.what_without_backtrace());
    }
}

int TrainedCodec::sampleRate() const
{
    return static_cast<int>(m_impl->codec.sampleRate());
}

int TrainedCodec::codebookCount() const
{
    return static_cast<int>(m_impl->codec.codebookCount());
}

Expected<TrainedCodec::RoundTrip> TrainedCodec::roundTrip(std::span<const float> audio, RoundTripOptions options) const
{
    if (audio.size() < 1024) return Error { ErrorCode::InvalidArgument, "a round trip needs at least 1024 samples" };
    try {
        c10::InferenceMode guard;
        const Encodec& codec = m_impl->codec;
        const auto length = static_cast<int64_t>(audio.size());
        at::Tensor input = at::from_blob(const_cast<float*>(audio.data()), { 1, 1, length }, at::kFloat).clone();
        const int64_t codebooks = options.codebooks > 0 ? std::min<int64_t>(options.codebooks, codec.codebookCount())
                                                        : codec.codebookCount();
        at::Tensor decoded = options.unquantized ? codec.decodeLatent(codec.encodeLatent(input))
                                                 : codec.decode(codec.encode(input, codebooks));
        at::Tensor output = decoded.narrow(2, 0, length).contiguous();
        RoundTrip result;
        result.audio.assign(output.data_ptr<float>(), output.data_ptr<float>() + length);
        auto melDb = [&](const at::Tensor& x) {
            at::Tensor spectrum = at::stft(x.view({ 1, length }), 1024, 256, 1024, m_impl->window, true, "reflect",
                false, true, true); // [1, 513, frames]
            at::Tensor power = at::view_as_real(spectrum).pow(2).sum(-1); // [1, 513, frames]
            return at::matmul(power.transpose(1, 2), m_impl->mel); // [1, frames, 64]
        };
        at::Tensor a = melDb(input), b = melDb(output);
        const double floor = std::max(a.max().item<double>(), 1e-20) * 1e-8; // 80 dB below the loudest
        at::Tensor dbA = 10.0 * at::log10(a.clamp_min(floor)), dbB = 10.0 * at::log10(b.clamp_min(floor));
        result.logMelDb = (dbA - dbB).abs().mean().item<double>();
        return result;
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, std::string("codec round trip failed: ") + e.what_without_backtrace() };
    }
}

std::vector<std::string> heldOutSongIds(const std::vector<std::string>& ids, uint64_t seed, double fraction)
{
    std::vector<encodec::Song> songs;
    for (const std::string& id : ids) songs.push_back({ id, {}, {} });
    std::vector<std::string> out;
    for (const encodec::Song& song : encodec::splitBySong(std::move(songs), seed, fraction).heldOut)
        out.push_back(song.id);
    return out;
}

} // namespace tmk
