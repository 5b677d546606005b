// Engine-internal access to a loaded model's parts (never include this from a public header).
//
// A MusicgenModel is immutable to its users: `shared_ptr<const MusicgenModel>` means what it says. Inside
// the engine, reading the parts (generation, streaming decode, encoding) goes through parts(), which is
// const all the way down. The decoder's weights have two explicit owners that change them, and only they
// call writableDecoder():
//   - Steering (pipeline/steering.cpp): adapter merges, holding weightsMutex() exclusively;
//   - the DPO trainer and its benchmark (training/): a LoRA hook on the decoder, holding weightsMutex()
//     exclusively for the whole run (the benchmark owns its private model).
// Generations hold weightsMutex() shared, so they always see one consistent set of weights.
#pragma once

#include <shared_mutex>

#include "pipeline/model_impl.h"

namespace tmk {

struct ModelAccess {
    static const MusicgenModel::Impl& parts(const MusicgenModel& model) { return *model.m_impl; }
    static MusicgenDecoder& writableDecoder(const MusicgenModel& model) { return *model.m_impl->decoder; }
    static std::shared_mutex& weightsMutex(const MusicgenModel& model) { return model.m_impl->weightsMutex; }
};

// Shorthands.
inline const MusicgenModel::Impl& modelParts(const MusicgenModel& model)
{
    return ModelAccess::parts(model);
}
inline MusicgenDecoder& writableDecoder(const MusicgenModel& model)
{
    return ModelAccess::writableDecoder(model);
}
inline std::shared_mutex& weightsMutex(const MusicgenModel& model)
{
    return ModelAccess::weightsMutex(model);
}

} // namespace tmk
