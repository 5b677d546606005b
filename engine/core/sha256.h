// SHA-256 (FIPS 180-4), streaming (engine-internal): content fingerprints of models, adapter banks and
// the audio files of the token cache. The hashing is Nettle's (Debian's libnettle).
#pragma once

#include <cstddef>
#include <nettle/sha2.h>
#include <string>

namespace tmk {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    // The digest as 64 lower-case hex digits. Finishes the hash: call it once.
    std::string hexDigest();

private:
    sha256_ctx m_context;
};

} // namespace tmk
