// Where the memory controller is and what the launcher may do with it,
// worked out from injected inputs: the cgroup mount root, the text of
// /proc/self/cgroup and of /proc/self/mountinfo.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace cgroups {

// How cgroups are mounted under the root (default /sys/fs/cgroup).
enum class Layout {
    none,    // no cgroup filesystem there
    v1,      // only v1 hierarchies
    hybrid,  // v1 hierarchies plus a cgroup2 mount (usually .../unified)
    v2,      // cgroup2 mounted at the root
};

// The version of the hierarchy that carries the memory controller.
enum class Version { v1, v2 };

std::string_view to_string(Layout layout);
std::string_view to_string(Version version);

struct DetectInputs {
    std::filesystem::path cgroup_root = "/sys/fs/cgroup";
    std::string proc_self_cgroup;  // text of /proc/self/cgroup
    std::string mountinfo;         // text of /proc/self/mountinfo
};

// Reads /proc/self/cgroup and /proc/self/mountinfo for `cgroup_root`.
DetectInputs system_inputs(std::filesystem::path cgroup_root = "/sys/fs/cgroup");

struct Detection {
    Layout layout = Layout::none;
    bool memory_available = false;
    Version version = Version::v1;
    std::filesystem::path memory_root;  // mount point of the memory hierarchy
    std::string mount_root = "/";       // the part of the hierarchy mounted there
    std::string own_cgroup;             // the launcher's cgroup, as /proc/self/cgroup says
    std::optional<std::filesystem::path> own_dir{};  // that cgroup's directory, when visible
    bool read_only = false;   // the memory hierarchy is mounted read-only
    bool writable = false;    // new cgroups can be made under memory_root
    bool confined = false;    // only a sub-tree is visible (cgroup namespace, bind mount)
    bool delegated = false;   // the own cgroup is ours to split (v2: memory in its
                              // cgroup.controllers, subtree_control writable)
    std::string why_no_memory;  // when !memory_available: what was looked at

    bool operator==(const Detection&) const = default;
};

Detection detect(const DetectInputs& inputs);

// One line for the log: "cgroup v1 hybrid, memory at /sys/fs/cgroup/memory, ...".
std::string describe(const Detection& detection);

}  // namespace cgroups
