#include "launcher/rotating_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "vmi/quantity.hpp"

namespace launcher {
namespace {

Fd open_log(const std::filesystem::path& path) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600));
    if (!fd) throw std::system_error(errno, std::generic_category(), "open " + path.string());
    return fd;
}

}  // namespace

std::uint64_t parse_console_log_max(const std::string& text) {
    std::string why;
    const auto q = vmi::Quantity::try_parse(text, &why);
    if (!q) throw std::runtime_error(fmt::format("--console-log-max: \"{}\" is not a quantity: {}", text, why));
    const auto bytes = q->bytes();
    if (!bytes || bytes->value < min_console_log_max || bytes->value > max_console_log_max) {
        throw std::runtime_error(fmt::format("--console-log-max: \"{}\" is outside {} bytes (4Ki) to {} bytes (64Gi)",
                                             text, min_console_log_max, max_console_log_max));
    }
    return bytes->value;
}

RotatingLog::RotatingLog(std::filesystem::path path, std::uint64_t max_file_bytes)
    : path_(std::move(path)), max_(max_file_bytes < 1 ? 1 : max_file_bytes), fd_(open_log(path_)) {
    struct stat st{};
    if (::fstat(fd_.get(), &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
}

std::string RotatingLog::rotate() {
    const std::filesystem::path older = path_.string() + ".1";
    if (::rename(path_.c_str(), older.c_str()) != 0) {
        // The bound matters more than the old bytes: start this file again.
        const std::string why = fmt::format("rename {} to {}: {}", path_.string(), older.string(), std::strerror(errno));
        if (::ftruncate(fd_.get(), 0) == 0) size_ = 0;
        return why;
    }
    size_ = 0;
    try {
        fd_ = open_log(path_);
    } catch (const std::system_error& e) {
        fd_.reset();
        return e.what();
    }
    return "";
}

std::string RotatingLog::write(std::string_view data) {
    std::string error;
    while (!data.empty()) {
        if (size_ >= max_) {
            std::string why = rotate();
            if (!why.empty() && error.empty()) error = why;
        }
        if (!fd_) {
            // A failed reopen: try again at the next write, never unbounded.
            try {
                fd_ = open_log(path_);
                size_ = 0;
            } catch (const std::system_error& e) {
                return error.empty() ? e.what() : error;
            }
        }
        const std::size_t room = static_cast<std::size_t>(std::min<std::uint64_t>(max_ - size_, data.size()));
        const ssize_t n = ::write(fd_.get(), data.data(), room);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (error.empty()) error = fmt::format("write {}: {}", path_.string(), n < 0 ? std::strerror(errno) : "no progress");
            return error;
        }
        size_ += static_cast<std::uint64_t>(n);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return error;
}

}  // namespace launcher
