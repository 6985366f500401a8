// Putting the VM's process into its cgroup with no gap: the child joins
// between fork and exec, so QEMU's first instruction already runs inside.
#pragma once

#include <sys/types.h>

#include <string>

namespace cgroups {

// The exit status of a child that could not join its cgroup.
inline constexpr int join_failed_status = 125;

// Async-signal-safe, for the child between fork and exec: writes "0" (the
// writing process) to the open cgroup.procs `procs_fd` (VmCgroup::procs_fd()).
// Returns 0 or the errno value. A negative fd means "stay here" (adopt mode).
int join_cgroup(int procs_fd) noexcept;

// join_cgroup(), and on failure a line on stderr and _exit(join_failed_status):
// the child must never exec outside its cgroup.
void join_cgroup_or_exit(int procs_fd) noexcept;

// cgroup v2: clone3(CLONE_INTO_CGROUP), so the child is born inside the
// cgroup open as `cgroup_fd` (VmCgroup::cgroup_fd()). Returns like fork():
// 0 in the child (which may only make async-signal-safe calls before exec),
// the pid in the parent. Throws std::system_error naming `path` on failure
// (ENOSYS before Linux 5.7).
pid_t fork_into_cgroup(int cgroup_fd, const std::string& path);

}  // namespace cgroups
