// Emptying and removing a cgroup: kill everything left, wait until it is
// empty, remove it (children first) with a bounded retry on EBUSY. Also
// empties a stale cgroup left by a launcher that is gone, for reuse.
#pragma once

#include "cgroups/backend.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

namespace cgroups {

struct TeardownReport {
    std::size_t killed = 0;         // processes found inside and killed
    bool used_cgroup_kill = false;  // the kernel's cgroup.kill did it (v2, Linux 5.14+)
    unsigned remove_attempts = 0;   // rmdir calls for the top cgroup (1 unless it was busy)

    bool operator==(const TeardownReport&) const = default;
};

struct TeardownLimits {
    std::chrono::milliseconds empty_wait{10'000};  // for killed processes to leave
    unsigned remove_attempts = 50;                 // rmdir tries while EBUSY (~2.5 s)
};

// Kills every process in `dir` and its descendants: a write to cgroup.kill
// where the kernel has it, else SIGKILL to each pid in cgroup.procs, again
// until none is left (a process may fork meanwhile). Throws when processes
// are still there after `limits.empty_wait`.
TeardownReport kill_all(Backend& backend, const std::filesystem::path& dir, const TeardownLimits& limits = {});

// Removes `dir` and its descendants, deepest first. A cgroup already gone is
// fine. While rmdir says EBUSY it retries (bounded), killing any process
// that joined meanwhile (a child forked earlier whose join was in flight).
// Returns the rmdir attempts of `dir` itself and the processes killed late.
TeardownReport remove_tree(Backend& backend, const std::filesystem::path& dir, const TeardownLimits& limits = {});

// kill_all, then remove_tree.
TeardownReport tear_down(Backend& backend, const std::filesystem::path& dir, const TeardownLimits& limits = {});

// `dir` is a cgroup whose owner is provably gone (the caller holds its lock,
// cgroup_lock.hpp): kills every process in it and below, removes its child
// cgroups, and keeps `dir` itself for reuse (its lock is on that directory).
// Returns a line for the log saying what was cleaned.
std::string clean_stale(Backend& backend, const std::filesystem::path& dir, const TeardownLimits& limits = {});

}  // namespace cgroups
