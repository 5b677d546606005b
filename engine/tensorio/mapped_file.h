// A private (copy-on-write) memory mapping of a whole file (internal to tensorio). Move-only; unmaps on
// destruction. The bytes stay valid while the MappedFile lives, even when it is moved: the mapping does not
// move. Writes through mutableData() change only this process's copy of the touched pages, never the file:
// a model whose weights are used in place can still have adapters merged into them.
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
    std::byte* mutableData() const { return static_cast<std::byte*>(m_address); }
    size_t sizeBytes() const { return m_sizeBytes; }

    // Maps the pages of [offset, offset + bytes) now (MADV_POPULATE_READ, or a read of each page), so that
    // the time is spent while loading rather than at the first use.
    void prefault(size_t offset, size_t bytes) const;
    // Hands the whole pages inside [offset, offset + bytes) back to the page cache (MADV_DONTNEED): they
    // leave this process's resident memory and are read from the file again if touched. Private changes
    // to those pages are lost, so call it only for bytes nothing uses any more.
    void dropPages(size_t offset, size_t bytes) const;

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
