#include "tensorio/mapped_file.h"

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
    void* address = ::mmap(nullptr, sizeBytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED)
        return Error::inFile(
            ErrorCode::Io, path.string(), std::string("could not be memory-mapped: ") + std::strerror(errno));
    return MappedFile(address, sizeBytes);
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
