#include "cgroups/detect.hpp"

#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>

namespace cgroups {

namespace fs = std::filesystem;

std::string_view to_string(Layout layout) {
    switch (layout) {
    case Layout::none: return "none";
    case Layout::v1: return "v1";
    case Layout::hybrid: return "hybrid";
    case Layout::v2: return "v2";
    }
    return "?";
}

std::string_view to_string(Version version) { return version == Version::v1 ? "v1" : "v2"; }

DetectInputs system_inputs(fs::path cgroup_root) {
    return DetectInputs{
        .cgroup_root = std::move(cgroup_root),
        .proc_self_cgroup = read_text("/proc/self/cgroup"),
        .mountinfo = read_text("/proc/self/mountinfo"),
    };
}

namespace {

bool is_under(const fs::path& path, const fs::path& root) {
    const auto p = path.lexically_normal().string();
    auto r = root.lexically_normal().string();
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    return p == r || (p.size() > r.size() && p.compare(0, r.size(), r) == 0 &&
                      (r == "/" || p[r.size()] == '/'));
}

// cgroup mounts at or under the root; a later mount on the same point hides
// an earlier one.
std::vector<MountEntry> cgroup_mounts(const std::vector<MountEntry>& all, const fs::path& root) {
    std::map<std::string, MountEntry> by_point;
    for (const auto& m : all)
        if ((m.fs_type == "cgroup" || m.fs_type == "cgroup2") && is_under(m.mount_point, root))
            by_point.insert_or_assign(fs::path(m.mount_point).lexically_normal().string(), m);
    std::vector<MountEntry> mounts;
    for (auto& [point, m] : by_point) mounts.push_back(std::move(m));
    return mounts;
}

Layout layout_of(const std::vector<MountEntry>& mounts, const fs::path& root) {
    bool v1 = false, v2_at_root = false, v2_below = false;
    for (const auto& m : mounts) {
        if (m.fs_type == "cgroup") v1 = true;
        else if (fs::path(m.mount_point).lexically_normal() == root.lexically_normal()) v2_at_root = true;
        else v2_below = true;
    }
    if (v2_at_root) return Layout::v2;
    if (v1 || v2_below) return v2_below ? Layout::hybrid : Layout::v1;
    return Layout::none;
}

bool lists(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> controllers_at(const fs::path& dir) {
    const auto text = try_read_text(dir / "cgroup.controllers");
    return text ? parse_controllers(*text) : std::vector<std::string>{};
}

// The relative part of `own` below `mount_root`, or nullopt when the own
// cgroup lies outside what is mounted (a cgroup namespace shows "/..").
std::optional<fs::path> relative_own(const std::string& own, const std::string& mount_root) {
    const fs::path own_path(own);
    if (!is_under(own_path, mount_root)) return std::nullopt;
    const auto rel = own_path.lexically_normal().lexically_relative(fs::path(mount_root).lexically_normal());
    for (const auto& part : rel)
        if (part == "..") return std::nullopt;
    return rel == "." ? fs::path() : rel;
}

bool can_write(const fs::path& path) { return ::access(path.c_str(), W_OK) == 0; }

// Files the kernel shows only in the true root of a hierarchy: seeing them at
// the mount point means the whole hierarchy is visible.
bool is_hierarchy_root(const fs::path& dir, Version version) {
    if (version == Version::v1) return path_exists(dir / "release_agent");
    return !path_exists(dir / "cgroup.events");
}

}  // namespace

Detection detect(const DetectInputs& inputs) {
    Detection d;
    const auto mounts = cgroup_mounts(parse_mountinfo(inputs.mountinfo), inputs.cgroup_root);
    d.layout = layout_of(mounts, inputs.cgroup_root);
    if (d.layout == Layout::none) {
        d.why_no_memory = "no cgroup filesystem is mounted at or under " + inputs.cgroup_root.string();
        return d;
    }

    const MountEntry* memory = nullptr;
    for (const auto& m : mounts)
        if (m.fs_type == "cgroup" && m.has_super_option("memory")) memory = &m;
    if (memory) {
        d.version = Version::v1;
    } else {
        for (const auto& m : mounts)
            if (m.fs_type == "cgroup2" && lists(controllers_at(m.mount_point), "memory")) memory = &m;
        d.version = Version::v2;
    }
    if (!memory) {
        d.why_no_memory = "no cgroup v1 hierarchy has the memory controller and no cgroup2 mount under " +
                          inputs.cgroup_root.string() + " lists memory in cgroup.controllers";
        return d;
    }
    d.memory_available = true;
    d.memory_root = memory->mount_point;
    d.mount_root = memory->root;
    d.read_only = memory->read_only();
    d.writable = !d.read_only && can_write(d.memory_root);
    d.confined = d.mount_root != "/" || !is_hierarchy_root(d.memory_root, d.version);

    for (const auto& entry : parse_proc_self_cgroup(inputs.proc_self_cgroup)) {
        const bool match = d.version == Version::v1 ? lists(entry.controllers, "memory")
                                                    : entry.hierarchy_id == 0 && entry.controllers.empty();
        if (match) d.own_cgroup = entry.path;
    }
    if (!d.own_cgroup.empty()) {
        if (const auto rel = relative_own(d.own_cgroup, d.mount_root)) {
            const auto dir = rel->empty() ? d.memory_root : d.memory_root / *rel;
            if (path_exists(dir)) d.own_dir = dir;
        }
    }
    if (d.own_dir && !d.read_only && can_write(*d.own_dir)) {
        d.delegated = d.version == Version::v1 ||
                      (lists(controllers_at(*d.own_dir), "memory") &&
                       can_write(*d.own_dir / "cgroup.subtree_control") &&
                       can_write(*d.own_dir / "cgroup.procs"));
    }
    return d;
}

std::string describe(const Detection& d) {
    if (!d.memory_available)
        return "cgroup layout " + std::string(to_string(d.layout)) + ", no memory controller: " + d.why_no_memory;
    std::string line = "cgroup layout " + std::string(to_string(d.layout)) + ", memory controller on " +
                       std::string(to_string(d.version)) + " at " + d.memory_root.string();
    if (d.mount_root != "/") line += " (sub-tree " + d.mount_root + ")";
    line += ", own cgroup " + (d.own_cgroup.empty() ? std::string("unknown") : d.own_cgroup);
    if (!d.own_dir) line += " (not visible)";
    line += d.read_only ? ", read-only" : d.writable ? ", writable" : ", not writable";
    if (d.confined) line += ", confined to a sub-tree";
    if (d.delegated) line += ", delegated";
    return line;
}

}  // namespace cgroups
