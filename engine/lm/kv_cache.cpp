#include "lm/kv_cache.h"

namespace tmk {

void DecoderState::rewind(int64_t position)
{
    TORCH_CHECK(position >= 0 && position <= m_position, "DecoderState::rewind: position ", position,
        " is outside the cached range 0..", m_position);
    m_position = position;
}

} // namespace tmk
