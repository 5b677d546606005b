#include "tensorio/mapped_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace tmk {

namespace {

// Closes a file descriptor when the scope ends.
class FdCloser {
public:
    explicit FdCloser(int fd)
        : m_fd(fd)
    {
    }
    FdCloser(const FdCloser&) = delete;
    FdCloser& operator=(const FdCloser&) = delete;
    ~FdCloser() { ::close(m_fd); }

private:
    int m_fd;
};

Error openError(const std::filesystem::path& path, int errnum)
{
    if (errnum == ENOENT || errnum == ENOTDIR)
        return Error::inFile(ErrorCode::NotFound, path.string(), "does not exist");
    return Error::inFile(ErrorCode::Io, path.string(), std::string("could not be opened: ") + std::strerror(errnum));
}

size_t pageSize()
{
    static const size_t size = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

} // namespace

Expected<MappedFile> MappedFile::open(const std::filesystem::path& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return openError(path, errno);
    FdCloser closer(fd);

    struct stat info { };
    if (::fstat(fd, &info) != 0) return openError(path, errno);
    if (S_ISDIR(info.st_mode))
        return Error::inFile(ErrorCode::InvalidArgument, path.string(), "is a folder, not a file");
    if (!S_ISREG(info.st_mode))
        return Error::inFile(ErrorCode::InvalidArgument, path.string(), "is not a regular file");
    if (info.st_size == 0) return MappedFile();

    const size_t sizeBytes = static_cast<size_t>(info.st_size);
    // Private and writable: copy-on-write, so weights used in place can be changed without touching the file.
    void* address = ::mmap(nullptr, sizeBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED)
        return Error::inFile(
            ErrorCode::Io, path.string(), std::string("could not be memory-mapped: ") + std::strerror(errno));
    return MappedFile(address, sizeBytes);
}

void MappedFile::prefault(size_t offset, size_t bytes) const
{
    if (!m_address || offset >= m_sizeBytes) return;
    bytes = std::min(bytes, m_sizeBytes - offset);
    const size_t page = pageSize();
    const size_t start = offset / page * page;
    auto* first = static_cast<std::byte*>(m_address) + start;
    const size_t length = offset + bytes - start;
#ifdef MADV_POPULATE_READ
    if (::madvise(first, length, MADV_POPULATE_READ) == 0) return;
#endif
    volatile std::byte sink {}; // kernels before 5.14: touch one byte per page
    for (size_t i = 0; i < length; i += page) sink = first[i];
    (void)sink;
}

void MappedFile::dropPages(size_t offset, size_t bytes) const
{
    if (!m_address || offset >= m_sizeBytes) return;
    bytes = std::min(bytes, m_sizeBytes - offset);
    const size_t page = pageSize();
    const size_t start = (offset + page - 1) / page * page; // whole pages only: neighbours keep theirs
    const size_t end = (offset + bytes) / page * page;
    if (end > start) ::madvise(static_cast<std::byte*>(m_address) + start, end - start, MADV_DONTNEED);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_address(std::exchange(other.m_address, nullptr))
    , m_sizeBytes(std::exchange(other.m_sizeBytes, 0))
{
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept
{
    if (this != &other) {
        release();
        m_address = std::exchange(other.m_address, nullptr);
        m_sizeBytes = std::exchange(other.m_sizeBytes, 0);
    }
    return *this;
}

MappedFile::~MappedFile()
{
    release();
}

void MappedFile::release() noexcept
{
    if (m_address) ::munmap(m_address, m_sizeBytes);
    m_address = nullptr;
    m_sizeBytes = 0;
}

} // namespace tmk
