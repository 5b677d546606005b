// DecoderState: everything one decoding run owns, kept apart from the (immutable, shareable) decoder
// weights, like whisper.cpp's whisper_state: the projected encoder states and their mask, the cross-
// attention keys/values (computed once per layer), the preallocated self-attention cache and the position.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace tmk {

class MusicgenDecoder;

// One attention layer's keys and values, each [B, heads, length, headDim].
struct LayerKv {
    at::Tensor key;
    at::Tensor value;
};

class DecoderState {
public:
    DecoderState() = default;

    int64_t batch() const { return m_batch; } // B (text prompts; the decoder rows are B * K)
    int64_t position() const { return m_position; } // tokens already held in the self-attention cache
    int64_t capacity() const { return m_capacity; } // cache length in tokens; 0 when there is no cache
    bool hasCache() const { return m_capacity > 0; }
    const at::Tensor& encoderStates() const { return m_encoderStates; } // [B, S, H], padded rows 0
    const at::Tensor& encoderMask() const { return m_encoderMask; } // [B, S], 1 = real token

    // Forgets the cached tokens from `position` on (the cross-attention keys/values are kept), so the
    // next forward writes there. 0 <= position <= position().
    void rewind(int64_t position);

private:
    friend class MusicgenDecoder;

    int64_t m_batch = 0;
    int64_t m_position = 0;
    int64_t m_capacity = 0;
    at::Tensor m_encoderStates; // [B, S, H]
    at::Tensor m_encoderMask; // [B, S]
    at::Tensor m_encoderBias; // [B, 1, 1, S] float32: 0 or finfo(float32).min
    std::vector<LayerKv> m_cross; // per layer, [B, heads, S, headDim]; empty until the first cached forward
    std::vector<LayerKv> m_self; // per layer, [B, heads, capacity, headDim]; empty without a cache
};

} // namespace tmk
