// Ownership of a VM cgroup: the launcher that runs the VM holds an exclusive
// flock on the cgroup's own directory for the VM's life. The kernel drops it
// when that launcher dies however it dies, so a cgroup whose lock can be had
// was provably left behind, and one whose lock is held belongs to a live
// launcher and is never touched.
//
// Why flock on the cgroupfs directory itself, not something of libcgroup:
// libcgroup has no notion of an owner or a lock, and a lock file elsewhere
// (the state directory) says nothing about a cgroup reached by another
// --state-root. flock is a VFS operation that cgroupfs directories take
// (checked on cgroup v1 and v2: a second open file description gets
// EWOULDBLOCK); the fd is O_CLOEXEC and QEMU's spawn closes everything above
// its numbered fds, so only the launcher holds it.
#pragma once

#include "cgroups/unique_fd.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>

namespace cgroups {

// Another launcher holds the cgroup: the caller must leave it alone.
struct CgroupInUse : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class LockResult { locked, busy, vanished };

struct CgroupLock {
    LockResult result = LockResult::vanished;
    UniqueFd fd;  // open (O_RDONLY | O_DIRECTORY | O_CLOEXEC) and locked when `locked`
};

// Opens `dir` and tries an exclusive, non-blocking flock on it. `vanished`
// when `dir` is gone, or no longer names the directory that was locked (its
// owner removed it meanwhile): the caller retries. `busy` when another
// launcher holds it and it is still there. Throws on other errors, naming
// the operation and path.
CgroupLock try_lock_cgroup(const std::filesystem::path& dir);

}  // namespace cgroups
