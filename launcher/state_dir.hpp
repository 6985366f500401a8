// The VM's state directory (sockets, console log, overlays, the cloud-init
// seed): made at start, locked while the launcher runs, removed at the end.
// One left by a launcher that was killed is cleaned at the next start.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "launcher/unique_fd.hpp"

namespace launcher {

class StateDir {
public:
    // Makes `path` (0700, parents as needed) and locks it. If it exists and
    // another launcher holds its lock, throws naming that launcher's pid; if
    // nobody holds it, it is stale: removed and made anew, and `stale_notice`
    // says so.
    static StateDir acquire(const std::filesystem::path& path, std::optional<std::string>& stale_notice);

    StateDir(StateDir&& o) noexcept
        : path_(std::move(o.path_)), lock_(std::move(o.lock_)), owned_(std::exchange(o.owned_, false)) {}
    StateDir& operator=(StateDir&&) = delete;
    ~StateDir();

    const std::filesystem::path& path() const { return path_; }
    // Removes the directory now (the destructor does it otherwise).
    void remove();

private:
    StateDir() = default;
    std::filesystem::path path_;
    Fd lock_;
    bool owned_ = false;
};

// /run/vmi-launcher/<namespace>/<name>
std::filesystem::path default_state_dir(const std::string& state_root, const std::string& ns, const std::string& name);

}  // namespace launcher
