// The token cache's files (engine-internal; see tastemaker/token_cache.h for the layout): index.json and
// the per-song <hash>.safetensors files, read with full validation and written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "tastemaker/error.h"
#include "tastemaker/musicgen.h"

namespace tmk {

struct TokenWindow {
    double seconds = 10.0;
    double startFraction = 0.3;
    bool operator==(const TokenWindow&) const = default;
};

// What the audio file looked like when it was hashed. A later run that finds the same path, size,
// modification time and inode trusts the recorded hash instead of reading the whole file again (the rule
// make and rsync use); any rewrite, copy or touch of the file makes it hash again.
struct SourceStamp {
    std::string path;
    int64_t size = -1; // -1: unknown (an index written before stamps existed)
    int64_t mtimeNs = 0;
    uint64_t inode = 0;
    bool known() const { return size >= 0; }
    bool operator==(const SourceStamp&) const = default;
};

// The stamp of `path` now, or an unknown stamp when it cannot be read.
SourceStamp sourceStamp(const std::filesystem::path& path);

struct TokenEntry {
    std::string hash; // sha256 of the audio file's content, 64 hex digits
    int64_t frames = 0; // T of the stored codes
    SourceStamp source; // the file as it was when hashed
};

struct TokenIndex {
    std::string modelName, modelFingerprint;
    TokenWindow window;
    std::map<std::string, TokenEntry> tracks; // track id -> entry
    std::map<std::string, std::string> failed; // track id -> one sentence naming the file
};

inline constexpr int kTokenIndexFormat = 1;

std::filesystem::path tokenIndexPath(const std::filesystem::path& cacheDir); // cacheDir/index.json
std::filesystem::path tokenFilePath(const std::filesystem::path& cacheDir, const std::string& hash);

bool isContentHash(const std::string& text); // 64 lower-case hex digits

// Reads and validates index.json; every error names the file (and the entry at fault).
Expected<TokenIndex> readTokenIndex(const std::filesystem::path& path);
Expected<void> writeTokenIndex(const std::filesystem::path& path, const TokenIndex& index);

// What a stored file must agree with; 0 means "any".
struct TokenFileExpectation {
    int64_t codebooks = 0; // K
    int64_t codebookSize = 0; // V: values in [0, V)
    int64_t frames = 0; // T
};

// A stored file: codes [1, K, T] plus the metadata it was written with (model fingerprint and window).
struct TokenFile {
    AudioCodes codes;
    std::string modelFingerprint;
    TokenWindow window;
    bool hasWindow = false; // the metadata names a window
};

// Writes codes [1, K, T] as tensor "codes" int64 [K, T] with the model and window in the metadata.
Expected<void> writeTokenFile(const std::filesystem::path& path, const AudioCodes& codes,
    const std::string& modelFingerprint, const TokenWindow& window);
// Reads and validates a stored file; errors name it and say what is wrong.
Expected<TokenFile> readTokenFile(const std::filesystem::path& path, const TokenFileExpectation& expect);

// Checks codes [1, K, T] are well-formed before they are stored; `what` names them in the error.
Expected<void> checkCodesToStore(const AudioCodes& codes, const std::string& what);

} // namespace tmk
