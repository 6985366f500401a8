// The memory limits a VM cgroup gets, and the files that carry them. Pure:
// which file gets which value is decided here and unit-tested.
#pragma once

#include "cgroups/detect.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cgroups {

struct MemoryLimits {
    std::uint64_t max_bytes = 0;               // the hard limit: OOM kill above it
    std::optional<std::uint64_t> high_bytes{};   // v2 memory.high: throttle and report pressure first
    bool swap = false;                         // let the VM swap (off unless asked)

    bool operator==(const MemoryLimits&) const = default;
};

// Throws std::invalid_argument when the limits make no sense (zero, high not
// below max).
void validate(const MemoryLimits& limits);

struct FileWrite {
    std::string file;   // relative to the cgroup directory
    std::string value;

    bool operator==(const FileWrite&) const = default;
};

// The writes that apply `limits` to a fresh cgroup, in order.
// v1: memory.limit_in_bytes, then memory.memsw.limit_in_bytes equal to it
//     (no swap) where swap accounting exists; memory.high has no v1 file.
// v2: memory.max, memory.swap.max=0 (where swap is accounted), memory.oom.group=1,
//     then memory.high when set.
std::vector<FileWrite> limit_writes(Version version, const MemoryLimits& limits, bool swap_accounting);

// The file that holds the hard limit: memory.limit_in_bytes or memory.max.
std::string limit_file(Version version);

// Adopt mode: the limit found (nullopt: none) against the plan. A warning
// with both numbers when they differ; the kernel keeps limits in whole pages,
// so a planned limit equal to the found one after rounding down to 4 KiB is
// no difference.
std::optional<std::string> compare_limit(const std::string& cgroup, std::optional<std::uint64_t> found,
                                         const MemoryLimits& plan);

}  // namespace cgroups
