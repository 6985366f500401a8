// Unix socket paths longer than sockaddr_un allows (state directories are
// named after namespace and VM, up to 63 characters each) are reached
// through /proc/self/fd/<directory fd>/<name>.
#pragma once

#include <filesystem>
#include <string>

#include "launcher/unique_fd.hpp"

namespace launcher {

// A listening socket bound at `path`; throws naming the path.
Fd listen_unix(const std::filesystem::path& path, int backlog = 4);

// Connects a blocking client socket to `path`; throws naming the path.
Fd connect_unix(const std::filesystem::path& path);

// A path short enough for sockaddr_un that names `path`; `holder` keeps the
// directory open while the short path is in use.
std::string short_socket_path(const std::filesystem::path& path, Fd& holder);

}  // namespace launcher
