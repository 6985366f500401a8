// libcgroup (the project's chosen cgroup library) for what it does well:
// create cgroups and set their values on cgroup v1 at the real mount. It
// finds mounts by itself from /proc/mounts, so it cannot work on an injected
// root or a test's fake cgroupfs, and version 2.0 ignores a cgroup2 mount
// whose root lists no controllers; those cases use DirectBackend.
// Removal stays a plain rmdir (inherited): cgroup_delete_cgroup moves a task
// that joined late into the parent, out of the VM's limit, where rmdir fails
// with EBUSY and lets teardown kill it (the integration race test saw it).
#pragma once

#include "cgroups/backend.hpp"
#include "cgroups/detect.hpp"
#include "cgroups/libcgroup_helper.hpp"
#include "cgroups/mode.hpp"

#include <memory>
#include <string>

namespace cgroups {

class LibcgroupBackend : public DirectBackend {
public:
    // Throws std::runtime_error when libcgroup cannot serve `memory_root`
    // (cgroup_init fails, or it sees the memory controller elsewhere).
    explicit LibcgroupBackend(std::filesystem::path memory_root);

    std::string name() const override { return "libcgroup"; }
    void create(const std::filesystem::path& dir) override;
    void set(const std::filesystem::path& dir, std::string_view file, std::string_view value) override;

private:
    std::string group_name(const std::filesystem::path& dir) const;

    std::filesystem::path memory_root_;
};

enum class BackendKind { automatic, libcgroup, direct };

struct BackendChoice {
    std::shared_ptr<Backend> backend;
    std::string reason;  // for the log
};

// automatic: libcgroup for a cgroup v1 memory hierarchy it can serve, else
// direct. libcgroup, when asked for and impossible, throws. libcgroup runs
// in a helper process (LibcgroupHelperBackend): call release() once the
// cgroup is set up.
BackendChoice make_backend(const Detection& detection, BackendKind kind = BackendKind::automatic);

// make_backend() in two steps, so that libcgroup starting in its helper
// overlaps the launcher's own work: begin_backend() starts the helper (and
// throws only as make_backend() would for `kind` libcgroup on v2),
// finish_backend() waits for it and falls back to direct as make_backend() does.
// `mode` is the cgroup mode the backend serves: adopt writes nothing, so it
// gets a direct backend and libcgroup never starts.
struct PendingBackend {
    BackendKind kind = BackendKind::automatic;
    std::filesystem::path memory_root;
    std::unique_ptr<LibcgroupHelperBackend> helper;  // none: direct, for `reason`
    std::string reason;
};
PendingBackend begin_backend(const Detection& detection, Mode mode, BackendKind kind = BackendKind::automatic);
BackendChoice finish_backend(PendingBackend pending);

}  // namespace cgroups
