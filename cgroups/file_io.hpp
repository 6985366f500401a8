// Reading and writing small control files. Every error names the operation
// and the path ("write /sys/fs/cgroup/memory/x/memory.limit_in_bytes: ...").
#pragma once

#include "cgroups/unique_fd.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace cgroups {

// Opens `path`; throws std::system_error("open PATH").
UniqueFd open_file(const std::filesystem::path& path, int flags);

// The whole file as text; throws std::system_error("read PATH").
std::string read_text(const std::filesystem::path& path);

// The whole file, or nullopt when it does not exist.
std::optional<std::string> try_read_text(const std::filesystem::path& path);

// Reads from offset 0 of an open file (control files are re-read this way).
// `path` only names the file in errors.
std::string read_text_at(int fd, const std::filesystem::path& path);

// One write(2) of `value` to an existing file (never creates one, since a
// missing control file is an error worth seeing); throws "write PATH".
void write_text(const std::filesystem::path& path, std::string_view value);

// Whether the file exists (lstat succeeds).
bool path_exists(const std::filesystem::path& path) noexcept;

}  // namespace cgroups
