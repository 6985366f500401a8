// Parsers for the text the kernel hands out about cgroups. They take text,
// never paths, so every edge case is a unit test; callers read the file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cgroups {

// Malformed input; the message says which line and why.
struct ParseError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One line of /proc/self/cgroup: "4:memory:/process_api/e58" (v1) or
// "0::/user.slice" (v2, no controllers).
struct CgroupEntry {
    unsigned hierarchy_id = 0;
    std::vector<std::string> controllers;  // "memory", "cpu", "name=systemd"
    std::string path;

    bool operator==(const CgroupEntry&) const = default;
};

std::vector<CgroupEntry> parse_proc_self_cgroup(std::string_view text);

// One line of /proc/self/mountinfo, octal escapes (\040) decoded.
struct MountEntry {
    std::string root;          // the path inside the filesystem that is mounted
    std::string mount_point;
    std::vector<std::string> mount_options;
    std::string fs_type;
    std::string source;
    std::vector<std::string> super_options;

    bool operator==(const MountEntry&) const = default;
    bool read_only() const;
    bool has_super_option(std::string_view option) const;
};

std::vector<MountEntry> parse_mountinfo(std::string_view text);

// "key value" lines (memory.events, memory.stat, memory.oom_control).
using FlatKeyed = std::map<std::string, std::uint64_t, std::less<>>;
FlatKeyed parse_flat_keyed(std::string_view text);

// v2 memory.events. Keys a kernel does not have read as 0.
struct MemoryEvents {
    std::uint64_t low = 0;
    std::uint64_t high = 0;            // reclaim forced by memory.high: pressure
    std::uint64_t max = 0;             // usage hit memory.max: pressure
    std::uint64_t oom = 0;             // the OOM path was entered
    std::uint64_t oom_kill = 0;        // processes killed by the OOM killer
    std::uint64_t oom_group_kill = 0;  // whole-group kills (memory.oom.group)

    bool operator==(const MemoryEvents&) const = default;
};

MemoryEvents parse_memory_events(std::string_view text);

// v1 memory.oom_control. `oom_kill` is absent before Linux 4.13.
struct OomControl {
    bool oom_kill_disable = false;
    bool under_oom = false;
    std::optional<std::uint64_t> oom_kill{};

    bool operator==(const OomControl&) const = default;
};

OomControl parse_oom_control(std::string_view text);

// memory.stat (either version): every counter by name.
FlatKeyed parse_memory_stat(std::string_view text);

// One number on a line (memory.current, memory.usage_in_bytes, ...).
std::uint64_t parse_counter(std::string_view text);

// A limit: v2 "max" and v1's page-rounded LONG_MAX mean no limit (nullopt).
std::optional<std::uint64_t> parse_limit(std::string_view text);

// cgroup.procs: one pid a line.
std::vector<pid_t> parse_pids(std::string_view text);

// cgroup.controllers / cgroup.subtree_control: "cpu io memory".
std::vector<std::string> parse_controllers(std::string_view text);

}  // namespace cgroups
