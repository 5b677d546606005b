// Small file helpers shared by every writer: nothing the user made is lost, so writes are atomic.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "tastemaker/error.h"

namespace tmk {

// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, then rename().
// On any failure the original file (if any) is untouched and the temporary file is removed.
Expected<void> writeFileAtomic(const std::filesystem::path& path, std::span<const std::byte> bytes);
Expected<void> writeFileAtomic(const std::filesystem::path& path, std::string_view text);

// Like writeFileAtomic, for writers that produce a file themselves (libsndfile, for one): `writer`
// is given the temporary path and must create it; on success it is renamed over `path`.
Expected<void> writeViaTempFile(
    const std::filesystem::path& path, const std::function<Expected<void>(const std::filesystem::path&)>& writer);

// Reads a whole file; the error names the file.
Expected<std::string> readFileText(const std::filesystem::path& path);

} // namespace tmk
