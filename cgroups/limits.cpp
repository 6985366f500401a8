#include "cgroups/limits.hpp"

#include <stdexcept>

namespace cgroups {

void validate(const MemoryLimits& limits) {
    if (limits.max_bytes == 0) throw std::invalid_argument("memory limit: 0 bytes is no limit a VM can run in");
    if (limits.high_bytes && *limits.high_bytes >= limits.max_bytes)
        throw std::invalid_argument("memory.high " + std::to_string(*limits.high_bytes) +
                                    " must be below the limit " + std::to_string(limits.max_bytes));
}

std::string limit_file(Version version) {
    return version == Version::v1 ? "memory.limit_in_bytes" : "memory.max";
}

std::vector<FileWrite> limit_writes(Version version, const MemoryLimits& limits, bool swap_accounting) {
    validate(limits);
    const auto max = std::to_string(limits.max_bytes);
    std::vector<FileWrite> writes;
    if (version == Version::v1) {
        // memsw (memory + swap) must never be below the memory limit: set the
        // memory limit first, then memsw equal to it so no swap is left.
        writes.push_back({"memory.limit_in_bytes", max});
        if (swap_accounting && !limits.swap) writes.push_back({"memory.memsw.limit_in_bytes", max});
        return writes;
    }
    writes.push_back({"memory.max", max});
    if (swap_accounting && !limits.swap) writes.push_back({"memory.swap.max", "0"});
    writes.push_back({"memory.oom.group", "1"});
    if (limits.high_bytes) writes.push_back({"memory.high", std::to_string(*limits.high_bytes)});
    return writes;
}

std::optional<std::string> compare_limit(const std::string& cgroup, std::optional<std::uint64_t> found,
                                         const MemoryLimits& plan) {
    constexpr std::uint64_t page = 4096;
    const auto planned = std::to_string(plan.max_bytes) + " bytes";
    if (!found)
        return "adopted cgroup " + cgroup + " has no memory limit; the plan asks for " + planned;
    if (*found == plan.max_bytes || *found == plan.max_bytes / page * page) return std::nullopt;
    return "adopted cgroup " + cgroup + " has a memory limit of " + std::to_string(*found) +
           " bytes; the plan asks for " + planned;
}

}  // namespace cgroups
