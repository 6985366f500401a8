// Putting the VM's process into its cgroup with no gap: the child joins
// between fork and exec, so QEMU's first instruction already runs inside.
#pragma once

#include <sys/types.h>

#include <string>

#include "cgroups/detect.hpp"

namespace cgroups {

// The exit status of a child that could not join its cgroup.
inline constexpr int join_failed_status = 125;

// The file a freshly forked (so single-threaded) child writes "0" to, to move
// itself in. v1: `tasks`. Moving one thread that is the caller skips the
// kernel's global threadgroup lock, whose write side waits for an RCU grace
// period: 5-25 ms through cgroup.procs on a v1 memory hierarchy, 0.04 ms
// through `tasks` (measured on Linux 6.18). With a single thread, moving the
// thread moves the process. v2: cgroup.procs (`cgroup.threads` only works in
// threaded subtrees), though v2 children are normally born inside
// (fork_into_cgroup()).
const char* join_file(Version version) noexcept;

// Async-signal-safe, for the child between fork and exec: writes "0" (the
// writing process) to `join_fd`, the open join_file() (VmCgroup::join_fd()).
// Returns 0 or the errno value. A negative fd means "stay here" (adopt mode).
int join_cgroup(int join_fd) noexcept;

// join_cgroup(), and on failure a line on stderr and _exit(join_failed_status):
// the child must never exec outside its cgroup.
void join_cgroup_or_exit(int join_fd) noexcept;

// cgroup v2: clone3(CLONE_INTO_CGROUP), so the child is born inside the
// cgroup open as `cgroup_fd` (VmCgroup::cgroup_fd()). Returns like fork():
// 0 in the child (which may only make async-signal-safe calls before exec),
// the pid in the parent. Throws std::system_error naming `path` on failure
// (ENOSYS before Linux 5.7).
pid_t fork_into_cgroup(int cgroup_fd, const std::string& path);

}  // namespace cgroups
