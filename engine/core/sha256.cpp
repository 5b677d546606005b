#include "core/sha256.h"

#include <array>
#include <cstdint>

namespace tmk {

Sha256::Sha256()
{
    sha256_init(&m_context);
}

void Sha256::update(const void* data, size_t size)
{
    if (size > 0) sha256_update(&m_context, size, static_cast<const uint8_t*>(data));
}

std::string Sha256::hexDigest()
{
    std::array<uint8_t, SHA256_DIGEST_SIZE> digest {};
    sha256_digest(&m_context, digest.size(), digest.data());
    static const char* digits = "0123456789abcdef";
    std::string text;
    text.reserve(2 * digest.size());
    for (uint8_t byte : digest) {
        text += digits[byte >> 4];
        text += digits[byte & 0xf];
    }
    return text;
}

} // namespace tmk
