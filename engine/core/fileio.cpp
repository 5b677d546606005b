#include "tastemaker/fileio.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

#include "core/test_hooks.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

std::atomic<long long> g_failAfterBytes { -1 };

std::string osError(int errnum)
{
    return std::strerror(errnum);
}

fs::path tempPathFor(const fs::path& path)
{
    static std::atomic<unsigned> counter { 0 };
    std::random_device device;
    std::ostringstream name;
    name << "." << path.filename().string() << ".tmp-" << ::getpid() << "-" << counter++ << "-" << (device() & 0xffff);
    return path.parent_path() / name.str();
}

Expected<void> writeAll(int fd, const fs::path& path, std::span<const std::byte> bytes)
{
    const long long failAfter = g_failAfterBytes.load();
    size_t written = 0;
    while (written < bytes.size()) {
        size_t chunk = bytes.size() - written;
        if (failAfter >= 0) {
            if (static_cast<long long>(written) >= failAfter)
                return Error::inFile(
                    ErrorCode::Io, path.string(), "could not write: No space left on device (simulated)");
            chunk = std::min<size_t>(chunk, static_cast<size_t>(failAfter) - written);
        }
        ssize_t n = ::write(fd, bytes.data() + written, chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::inFile(ErrorCode::Io, path.string(), "could not write: " + osError(errno));
        }
        written += static_cast<size_t>(n);
    }
    return {};
}

} // namespace

void setSimulatedWriteFailureAfterBytes(long long bytes)
{
    g_failAfterBytes.store(bytes);
}

Expected<void> writeViaTempFile(const fs::path& path, const std::function<Expected<void>(const fs::path&)>& writer)
{
    if (path.empty()) return Error { ErrorCode::InvalidArgument, "No output file name was given." };
    const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    std::error_code ec;
    if (!fs::is_directory(parent, ec))
        return Error::inFile(
            ErrorCode::Io, path.string(), "cannot be written because folder '" + parent.string() + "' does not exist");
    const fs::path temp = tempPathFor(path.parent_path().empty() ? fs::path(".") / path : path);
    Expected<void> result = writer(temp);
    if (result) {
        if (::rename(temp.c_str(), path.c_str()) != 0)
            result = Error::inFile(ErrorCode::Io, path.string(), "could not replace the file: " + osError(errno));
    }
    if (!result) fs::remove(temp, ec);
    return result;
}

Expected<void> writeFileAtomic(const fs::path& path, std::span<const std::byte> bytes)
{
    return writeViaTempFile(path, [&](const fs::path& temp) -> Expected<void> {
        int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return Error::inFile(ErrorCode::Io, path.string(), "could not be created: " + osError(errno));
        Expected<void> written = writeAll(fd, path, bytes);
        if (written && ::fsync(fd) != 0)
            written = Error::inFile(ErrorCode::Io, path.string(), "could not be flushed to disk: " + osError(errno));
        if (::close(fd) != 0 && written)
            written = Error::inFile(ErrorCode::Io, path.string(), "could not be closed: " + osError(errno));
        return written;
    });
}

Expected<void> writeFileAtomic(const fs::path& path, std::string_view text)
{
    return writeFileAtomic(path, std::as_bytes(std::span(text.data(), text.size())));
}

Expected<std::string> readFileText(const fs::path& path)
{
    std::error_code ec;
    if (!fs::exists(path, ec)) return Error::inFile(ErrorCode::NotFound, path.string(), "does not exist");
    if (fs::is_directory(path, ec))
        return Error::inFile(ErrorCode::InvalidArgument, path.string(), "is a folder, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error::inFile(ErrorCode::Io, path.string(), "could not be opened: " + osError(errno));
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return Error::inFile(ErrorCode::Io, path.string(), "could not be read");
    return buffer.str();
}

} // namespace tmk
