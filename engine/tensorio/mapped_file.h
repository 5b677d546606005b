// A read-only memory mapping of a whole file (internal to tensorio). Move-only; unmaps on destruction.
// The bytes stay valid while the MappedFile lives, even when it is moved: the mapping does not move.
// If another process truncates the file while it is mapped, reading the lost pages raises SIGBUS;
// model files are not rewritten in place (writers rename a finished temp file), so this does not happen
// through Tastemaker.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

#include "tastemaker/error.h"

namespace tmk {

class MappedFile {
public:
    // Maps `path` read-only. An empty file gives an empty span (nothing is mapped).
    static Expected<MappedFile> open(const std::filesystem::path& path);

    MappedFile() = default;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::span<const std::byte> bytes() const { return { static_cast<const std::byte*>(m_address), m_sizeBytes }; }
    size_t sizeBytes() const { return m_sizeBytes; }

private:
    MappedFile(void* address, size_t sizeBytes)
        : m_address(address)
        , m_sizeBytes(sizeBytes)
    {
    }
    void release() noexcept;

    void* m_address = nullptr;
    size_t m_sizeBytes = 0;
};

} // namespace tmk
