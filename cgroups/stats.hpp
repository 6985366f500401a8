// A snapshot of a cgroup's memory for status output and benchmarks.
#pragma once

#include "cgroups/detect.hpp"
#include "cgroups/events.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>

namespace cgroups {

struct MemoryStats {
    std::uint64_t usage_bytes = 0;             // memory.usage_in_bytes / memory.current
    std::optional<std::uint64_t> peak_bytes{};   // memory.max_usage_in_bytes / memory.peak (Linux 5.19+)
    std::optional<std::uint64_t> limit_bytes{};  // nullopt: no limit
    std::optional<std::uint64_t> high_bytes{};   // v2 memory.high, when set
    std::uint64_t anon_bytes = 0;              // memory.stat rss (v1) / anon (v2)
    std::uint64_t file_bytes = 0;              // memory.stat cache (v1) / file (v2)
    MemoryEventCounts events;                  // OOM kills and pressure since the cgroup was made

    bool operator==(const MemoryStats&) const = default;
};

// Reads the cgroup's files; throws naming the file that could not be read.
MemoryStats read_stats(Version version, const std::filesystem::path& dir);

}  // namespace cgroups
