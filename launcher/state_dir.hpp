// The VM's state directory (sockets, console log, overlays, the cloud-init
// seed), and the proof that it is ours.
//
// Ownership: the directory holds `launcher.lock`, whose content is an
// ownership record (a first line marking it as a vmi-launcher state
// directory, the VMI's namespace/name, the launcher's pid, version and start
// time) and on which the running launcher holds an exclusive flock for the
// VM's life. A new directory is made complete, lock held, under a private
// name and renamed into place without replacing anything, so no one ever
// sees it without its record. An existing directory is only ever touched
// when its record names the same VMI and its lock is free (the launcher that
// made it is gone): then its contents are removed and it is reused. Anything
// else is refused with StateDirRefused and left exactly as it was.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "launcher/unique_fd.hpp"

namespace launcher {

// A state directory that is not ours to use; nothing of it was changed.
// A setup failure (exit 2).
struct StateDirRefused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline constexpr const char* state_lock_name = "launcher.lock";
inline constexpr const char* state_record_magic = "vmi-launcher state directory";

struct OwnershipRecord {
    std::string vm;   // "namespace/name"
    std::string pid;  // as written; "unknown" when absent

    bool operator==(const OwnershipRecord&) const = default;
};

// The lock file's content for `vm` ("namespace/name").
std::string ownership_record(const std::string& vm, pid_t pid, std::string_view version, std::string_view started);
// nullopt when `text` is no ownership record (first line not the magic, no vm).
std::optional<OwnershipRecord> parse_ownership_record(std::string_view text);

class StateDir {
public:
    // Takes `path` for the VMI `vm` ("namespace/name"): makes it (0700, and
    // the missing parents, remembered as made here), or reuses a stale one
    // of the same VMI, `stale_notice` then saying so. Throws
    // StateDirRefused when the path exists and is not a state directory, is
    // another VMI's, or its launcher still runs.
    static StateDir acquire(const std::filesystem::path& path, const std::string& vm,
                            std::optional<std::string>& stale_notice);

    StateDir(StateDir&& o) noexcept
        : path_(std::move(o.path_)),
          dir_(std::move(o.dir_)),
          lock_(std::move(o.lock_)),
          made_parents_(std::move(o.made_parents_)),
          owned_(std::exchange(o.owned_, false)) {}
    StateDir& operator=(StateDir&&) = delete;
    ~StateDir();

    const std::filesystem::path& path() const { return path_; }
    // The parent directories acquire() made, outermost first.
    const std::vector<std::filesystem::path>& made_parents() const { return made_parents_; }

    // Removes the directory now (the destructor does it otherwise): first
    // moved aside in one rename, so no one sees it half removed, then its
    // contents, the lock file and the directory; then the parents that
    // acquire() made, while they are empty. Never a parent it did not make.
    void remove();

private:
    StateDir() = default;
    std::filesystem::path path_;
    Fd dir_;   // the directory itself, where every removal is done relative to
    Fd lock_;  // launcher.lock, flocked
    std::vector<std::filesystem::path> made_parents_;
    bool owned_ = false;
};

// /run/vmi-launcher/<namespace>/<name>
std::filesystem::path default_state_dir(const std::string& state_root, const std::string& ns, const std::string& name);

}  // namespace launcher
