// SHA-256 (FIPS 180-4), streaming (engine-internal): content fingerprints of models, adapter banks and
// the audio files of the token cache.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tmk {

class Sha256 {
public:
    void update(const void* data, size_t size);
    // The digest as 64 lower-case hex digits. Finishes the hash: call it once.
    std::string hexDigest();

private:
    void compress();

    std::array<uint32_t, 8> m_state
        = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    std::array<uint8_t, 64> m_block {};
    size_t m_used = 0;
    uint64_t m_length = 0;
};

} // namespace tmk
