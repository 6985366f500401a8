// Memory pressure as pollable fds for the balloon controller's event loop.
//   VM cgroup v1: one eventfd registered through cgroup.event_control on
//     memory.usage_in_bytes at each usage threshold (the kernel signals a
//     crossing in either direction).
//   VM cgroup v2: memory.high set below memory.max (the kernel reclaims above
//     it and counts `high` in memory.events, watched with inotify), and a PSI
//     trigger on the cgroup's memory.pressure (POLLPRI).
//   Node: a PSI trigger on /proc/pressure/memory, and v1 usage thresholds on
//     every ancestor cgroup that has a memory limit of its own.
//   Where nothing can be registered (a read-only cgroupfs in adopt mode), a
//   timer: the caller re-reads usage on each tick.
// All of this is done directly on cgroupfs and procfs: libcgroup has no event
// API.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/backend.hpp"
#include "cgroups/detect.hpp"
#include "cgroups/unique_fd.hpp"

namespace cgroups {

// The text written to cgroup.event_control for one v1 usage threshold.
std::string v1_threshold_line(int event_fd, int usage_fd, std::uint64_t threshold_bytes);

// A PSI trigger: "some 50000 1000000" = 50 ms of stall within any 1 s window.
std::string psi_trigger_line(std::chrono::microseconds stall, std::chrono::microseconds window);

// The ancestors of `dir` below `root` (nearest first, at most `max_levels`),
// the directories whose own limit makes a node-level pressure signal.
std::vector<std::filesystem::path> ancestors_below(const std::filesystem::path& dir, const std::filesystem::path& root,
                                                   std::size_t max_levels = 8);

enum class PressureScope { vm, node };

enum class PressureKind {
    v1_threshold,  // eventfd, POLLIN; read 8 bytes
    v2_high,       // inotify on memory.events, POLLIN; the `high` counter says whether it was pressure
    psi,           // PSI trigger, POLLPRI; nothing to read
    timer,         // timerfd, POLLIN; read 8 bytes
};

class PressureSource {
public:
    PressureScope scope() const { return scope_; }
    PressureKind kind() const { return kind_; }
    // For the log: "eventfd on .../memory.usage_in_bytes at 300 MiB, 340 MiB".
    const std::string& method() const { return method_; }
    int fd() const { return fd_.get(); }
    // Readiness is POLLPRI (PSI), not POLLIN.
    bool priority() const { return kind_ == PressureKind::psi; }
    // Consumes the readiness; false when it turned out not to be pressure
    // (a memory.events change other than `high`).
    bool consume() noexcept;

private:
    friend struct PressureWatchBuilder;
    PressureScope scope_ = PressureScope::vm;
    PressureKind kind_ = PressureKind::timer;
    std::string method_;
    UniqueFd fd_;
    std::filesystem::path events_file_;  // v2_high
    std::uint64_t high_seen_ = 0;
};

struct PressureOptions {
    std::vector<std::uint64_t> v1_thresholds;  // usage marks of the VM cgroup (ascending)
    std::uint64_t v2_memory_high = 0;          // 0: leave memory.high alone
    std::chrono::microseconds cgroup_psi_stall{50'000};
    std::chrono::microseconds node_psi_stall{150'000};
    // The kernel takes windows of 2 s multiples only from a task without
    // CAP_SYS_RESOURCE in the initial namespace (a container): 2 s works for all.
    std::chrono::microseconds psi_window{2'000'000};
    std::filesystem::path node_psi = "/proc/pressure/memory";
    std::filesystem::path cgroup_root;          // ancestors below it are looked at; empty: none
    std::chrono::milliseconds poll_interval{500};  // the timer where nothing can be registered
    // v1: the thresholds for an ancestor with this limit (the caller's policy).
    std::vector<std::uint64_t> (*ancestor_thresholds)(std::uint64_t limit) = nullptr;
};

struct PressureWatch {
    std::vector<PressureSource> sources;
    std::vector<std::string> fallbacks;  // what could not be armed, and why
    bool polling = false;                // the VM cgroup is watched by a timer
};

// Arms what the kernel allows for the VM cgroup `dir`. Writes go through
// `backend.write` (direct: event registrations are no libcgroup setting).
// A registration refused (read-only, EPERM, EOPNOTSUPP, no PSI) becomes a
// fallback with its reason; other errors throw naming the file.
PressureWatch open_pressure_watch(Version version, const std::filesystem::path& dir, Backend& backend,
                                  const PressureOptions& options);

// A periodic timerfd (POLLIN each `interval`).
UniqueFd periodic_timerfd(std::chrono::milliseconds interval, const std::filesystem::path& for_what);

}  // namespace cgroups
