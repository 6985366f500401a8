// The VM's memory cgroup: made (host, nested) or adopted, with its limits,
// ready for the child to join before exec, and torn down by the destructor.
#pragma once

#include "cgroups/backend.hpp"
#include "cgroups/cgroup_lock.hpp"
#include "cgroups/detect.hpp"
#include "cgroups/limits.hpp"
#include "cgroups/mode.hpp"
#include "cgroups/teardown.hpp"
#include "cgroups/unique_fd.hpp"

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cgroups {

struct VmCgroupSpec {
    std::string vm_namespace;           // "default"
    std::string vm_name;                // "testvm1": the cgroup is "<parent>/<namespace>/<name>"
    std::optional<std::string> parent{};  // --cgroup-parent. host: below the memory root
                                        // (default "vmi-launcher"); nested: below the
                                        // launcher's own cgroup (default: that cgroup)
    MemoryLimits limits;

    bool operator==(const VmCgroupSpec&) const = default;
};

// The leaf the launcher moves itself into in nested mode, inside its own cgroup.
inline constexpr const char* launcher_leaf = "launcher";

class VmCgroup {
public:
    // host/nested: creates the cgroup (or finds it) and takes its lock
    // (cgroup_lock.hpp), held until close(). A cgroup another launcher holds
    // throws CgroupInUse and nothing is changed. One that existed with its
    // lock free was left by a launcher that is gone: it is emptied (processes
    // killed, child cgroups removed) and reused. Then sets the limits; on
    // failure removes what it made and throws (errors name the operation and
    // path). adopt: the launcher's own cgroup, read and compared with the
    // plan, never written. `mode` is host, nested or adopt.
    static VmCgroup open(const Detection& detection, Mode mode, const VmCgroupSpec& spec,
                         std::shared_ptr<Backend> backend);

    VmCgroup(VmCgroup&& other) noexcept;
    VmCgroup& operator=(VmCgroup&& other) noexcept;
    VmCgroup(const VmCgroup&) = delete;
    VmCgroup& operator=(const VmCgroup&) = delete;
    // Same as close(), errors swallowed: call close() to see them.
    ~VmCgroup();

    Mode mode() const { return mode_; }
    Version version() const { return version_; }
    const std::filesystem::path& path() const { return path_; }

    // The file the child writes "0" to between fork and exec (join_cgroup()),
    // open for writing: `tasks` on v1, cgroup.procs on v2 (see join_file()).
    // -1 in adopt mode: the child is inside already.
    int join_fd() const { return join_.get(); }

    // The cgroup directory (O_PATH) for clone3(CLONE_INTO_CGROUP); cgroup v2
    // host and nested modes only, else -1.
    int cgroup_fd() const { return dir_.get(); }

    // Lines for the log: a stale cgroup cleaned, the launcher moved to a
    // leaf, the adopted limit differing from the plan.
    const std::vector<std::string>& notices() const { return notices_; }

    // Adopt mode: the warning with both numbers when the limit found differs.
    const std::optional<std::string>& limit_warning() const { return limit_warning_; }

    // Moves an existing process in (through cgroup.procs).
    void attach(pid_t pid);

    // Kills what is left, waits until empty, removes the cgroup, and the
    // namespace level above it when open() made it and it is empty now; then
    // lets go of the lock. Nothing in adopt mode. Idempotent; throws when the
    // cgroup cannot be removed.
    TeardownReport close();

private:
    VmCgroup() = default;

    Mode mode_ = Mode::none;
    Version version_ = Version::v1;
    std::filesystem::path path_;
    std::shared_ptr<Backend> backend_;
    UniqueFd join_;
    UniqueFd dir_;
    UniqueFd lock_;  // flock held on the cgroup directory while the VM lives
    std::optional<std::filesystem::path> made_namespace_{};  // the <namespace> level, when open() made it
    std::vector<std::string> notices_;
    std::optional<std::string> limit_warning_{};
    bool owned_ = false;  // made by us, so removed by us
};

// "<namespace>/<name>": two directory levels, so that no two VMs share a
// cgroup ("a-b"/"c" and "a"/"b-c" differ). Throws std::invalid_argument for a
// part that is no safe directory name (empty, '/', leading '.'); the VMI's
// validation allows only DNS-1123 labels there.
std::filesystem::path cgroup_subpath(const VmCgroupSpec& spec);

// Where the VM cgroup goes for host or nested mode (pure):
// host:   <memory root>/<parent, default vmi-launcher>/<namespace>/<name>
// nested: <own cgroup>/<parent, default none>/<namespace>/<name>; a first
//         level named like the launcher's leaf ("launcher") is refused.
std::filesystem::path vm_cgroup_path(const Detection& detection, Mode mode, const VmCgroupSpec& spec);

}  // namespace cgroups
