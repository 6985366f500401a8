#include "cgroups/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace cgroups {

namespace {

[[noreturn]] void throw_errno(std::string_view operation, const std::filesystem::path& path) {
    throw std::system_error(errno, std::generic_category(),
                            std::string(operation) + " " + path.string());
}

}  // namespace

UniqueFd open_file(const std::filesystem::path& path, int flags) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd) throw_errno("open", path);
    return fd;
}

std::string read_text_at(int fd, const std::filesystem::path& path) {
    std::string text;
    char buffer[4096];
    off_t offset = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", path);
        }
        if (n == 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
        offset += n;
    }
    return text;
}

std::string read_text(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("read", path);
    return read_text_at(fd.get(), path);
}

std::optional<std::string> try_read_text(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno("read", path);
    }
    return read_text_at(fd.get(), path);
}

void write_text(const std::filesystem::path& path, std::string_view value) {
    // O_TRUNC is harmless on cgroupfs and keeps a plain file (a test's fake
    // cgroupfs) holding exactly the last value written.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) throw_errno("write", path);
    for (;;) {
        ssize_t n = ::write(fd.get(), value.data(), value.size());
        if (n >= 0) {
            if (static_cast<std::size_t>(n) != value.size()) {
                errno = EIO;
                throw_errno("write", path);
            }
            return;
        }
        if (errno != EINTR) throw_errno("write", path);
    }
}

bool path_exists(const std::filesystem::path& path) noexcept {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace cgroups
