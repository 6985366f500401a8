// A log file of bounded size: at `max_file_bytes` the file is renamed to
// FILE.1 (replacing the previous FILE.1) and a new FILE starts, so the two
// together never hold more than twice that. The console log is one: the
// guest decides how much it prints, the launcher decides how much is kept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "launcher/unique_fd.hpp"

namespace launcher {

inline constexpr std::uint64_t min_console_log_max = 4u << 10;       // 4 KiB
inline constexpr std::uint64_t max_console_log_max = 64ull << 30;    // 64 GiB

// --console-log-max: a Kubernetes quantity ("8Mi") within the bounds above;
// throws std::runtime_error naming the option otherwise.
std::uint64_t parse_console_log_max(const std::string& text);

class RotatingLog {
public:
    // Opens `path` for appending (created 0600, a file that exists keeps its
    // bytes and mode); throws std::system_error naming the path.
    RotatingLog(std::filesystem::path path, std::uint64_t max_file_bytes);

    // Appends every byte, rotating where the limit falls (a chunk may be
    // split between FILE.1 and FILE; read together they are the stream).
    // Returns "" or what failed (the bytes that could not be written are lost).
    std::string write(std::string_view data);

    const std::filesystem::path& path() const { return path_; }
    std::uint64_t size() const { return size_; }

private:
    std::string rotate();

    std::filesystem::path path_;
    std::uint64_t max_;
    std::uint64_t size_ = 0;
    Fd fd_;
};

}  // namespace launcher
