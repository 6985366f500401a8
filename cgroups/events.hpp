// OOM kills and memory pressure of a cgroup: a pollable fd for the event
// loop, and counters re-read against a baseline taken at setup.
//   v1: an eventfd registered through cgroup.event_control on
//       memory.oom_control. It also fires when the cgroup is removed, so
//       the oom_kill counter decides whether a kill happened. Where that
//       file cannot be written (a pod's read-only cgroupfs), a timerfd
//       makes the loop re-read the counters periodically instead.
//   v2: inotify IN_MODIFY on memory.events; high and max changes are
//       pressure, not OOM, and watching goes on. Removal makes no event.
#pragma once

#include "cgroups/backend.hpp"
#include "cgroups/detect.hpp"
#include "cgroups/unique_fd.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace cgroups {

struct MemoryEventCounts {
    std::uint64_t oom_kills = 0;        // the kernel's oom_kill: processes killed (see kill_events)
    std::uint64_t oom_group_kills = 0;  // v2: whole-cgroup kills (memory.oom.group)
    std::uint64_t ooms = 0;             // v2: times the cgroup went out of memory
    std::uint64_t high = 0;             // v2: reclaim forced above memory.high (pressure)
    std::uint64_t max = 0;              // v2: usage hit memory.max; v1: memory.failcnt (pressure)

    bool operator==(const MemoryEventCounts&) const = default;
    bool oom_killed() const { return oom_kills > 0 || oom_group_kills > 0; }
    bool pressure() const { return high > 0 || max > 0; }

    // How many times the OOM killer struck. A group kill is one, however many
    // processes it took: Linux 6.1 even counts its victim twice in oom_kill
    // (once chosen, once as a member of the group), so oom_kills over-counts.
    std::uint64_t kill_events() const { return oom_group_kills > 0 ? oom_group_kills : oom_kills; }
};

// The counters now (since the cgroup was made). Throws naming the file.
MemoryEventCounts read_event_counts(Version version, const std::filesystem::path& dir);

class OomWatcher {
public:
    // Starts watching `dir` (the VM cgroup, or the adopted one) and reads the
    // baseline. v1's registration goes through `backend.write` (direct: an
    // event registration is no setting libcgroup knows).
    static OomWatcher open(Version version, const std::filesystem::path& dir, Backend& backend,
                           std::chrono::milliseconds poll_interval = std::chrono::milliseconds(250));

    // For the log: "eventfd on .../memory.oom_control", "inotify on
    // .../memory.events" or "polling ... every 250 ms (...)".
    const std::string& method() const { return method_; }

    // No event could be registered: fd() is a timer and the counters are
    // re-read every poll_interval.
    bool polling() const { return polling_; }

    // Readable (POLLIN) when something may have happened; then call check().
    int fd() const { return fd_.get(); }

    // Consumes the fd's readiness and returns what is new since the previous
    // check (the first time: since the baseline). Call once more after the
    // child is reaped and before the cgroup is removed: it catches kills that
    // raced the watcher. After removal it returns nothing new and gone() is true.
    MemoryEventCounts check();

    // Everything since the baseline.
    MemoryEventCounts total() const;

    // The cgroup was removed (v1's eventfd fired for that, or the counters can
    // no longer be read).
    bool gone() const { return gone_; }

private:
    OomWatcher() = default;
    void drain() noexcept;

    Version version_ = Version::v1;
    std::filesystem::path dir_;
    std::string method_;
    UniqueFd fd_;           // eventfd (v1), inotify (v2) or timerfd (v1, read-only)
    UniqueFd oom_control_;  // v1: kept open, the eventfd is tied to it
    MemoryEventCounts baseline_;
    MemoryEventCounts last_;
    bool gone_ = false;
    bool polling_ = false;
};

}  // namespace cgroups
