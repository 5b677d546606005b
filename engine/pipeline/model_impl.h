// The inside of a MusicgenModel (engine-internal): the four parts and where they run.
#pragma once

#include <optional>
#include <shared_mutex>

#include <ATen/core/Tensor.h>

#include "codec/encodec.h"
#include "core/model_config.h"
#include "lm/decoder.h"
#include "tastemaker/musicgen.h"
#include "text/t5_encoder.h"
#include "text/tokenizer.h"

namespace tmk {

struct MusicgenModel::Impl {
    MusicgenConfig config;
    ModelInfo info;
    at::Device device { at::kCPU };
    at::ScalarType computeType = at::kFloat;
    std::optional<T5Tokenizer> tokenizer;
    std::optional<T5Encoder> textEncoder;
    std::optional<MusicgenDecoder> decoder; // written only through writableDecoder() (pipeline/model_access.h)
    std::optional<Encodec> codec;
    // Generations hold it shared, adapter merges exclusively (see tastemaker/steering.h).
    mutable std::shared_mutex weightsMutex;
};

// Converts codes [B, K, T] to an int64 tensor on the codec's device, checking ids are in range.
Expected<at::Tensor> codesToTensor(const MusicgenModel::Impl& impl, const AudioCodes& codes);
AudioCodes codesFromTensor(const at::Tensor& codes);

} // namespace tmk
