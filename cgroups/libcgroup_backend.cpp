#include "cgroups/libcgroup_backend.hpp"

#include "cgroups/file_io.hpp"
#include "cgroups/libcgroup_helper.hpp"

#include <libcgroup.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace cgroups {

namespace fs = std::filesystem;

namespace {

struct CgroupFree {
    void operator()(cgroup* group) const { cgroup_free(&group); }
};
using CgroupPtr = std::unique_ptr<cgroup, CgroupFree>;

// libcgroup answers 50000+ codes; ECGOTHER means "see the errno it kept".
[[noreturn]] void throw_libcgroup(int code, const std::string& operation) {
    const int error = cgroup_get_last_errno();
    if (code == ECGOTHER && error != 0) throw std::system_error(error, std::generic_category(), operation);
    if (code == ECGROUPNOTALLOWED) throw std::system_error(error ? error : EPERM, std::generic_category(), operation);
    // Only non-zero codes get here: cgroup_strerror(0) says "not compiled in".
    throw std::runtime_error(operation + ": libcgroup: " + cgroup_strerror(code));
}

// cgroup_init() must run once before any other call.
int init_once() {
    static std::once_flag once;
    static int result = 0;
    std::call_once(once, [] { result = cgroup_init(); });
    return result;
}

CgroupPtr memory_group(const std::string& name) {
    CgroupPtr group(cgroup_new_cgroup(name.c_str()));
    if (!group || !cgroup_add_controller(group.get(), "memory"))
        throw std::runtime_error("libcgroup: cannot describe cgroup " + name);
    return group;
}

}  // namespace

LibcgroupBackend::LibcgroupBackend(fs::path memory_root) : memory_root_(std::move(memory_root)) {
    if (const int code = init_once(); code != 0)
        throw std::runtime_error(std::string("libcgroup: cgroup_init: ") + cgroup_strerror(code));
    char* mount_point = nullptr;
    const int code = cgroup_get_subsys_mount_point("memory", &mount_point);
    const std::string found = code == 0 && mount_point ? mount_point : "";
    std::free(mount_point);
    if (found.empty() || fs::path(found).lexically_normal() != memory_root_.lexically_normal())
        throw std::runtime_error("libcgroup sees the memory controller at \"" + found + "\", not at " +
                                 memory_root_.string());
}

std::string LibcgroupBackend::group_name(const fs::path& dir) const {
    // libcgroup names a group by its path below the controller's mount point.
    return dir.lexically_normal().lexically_relative(memory_root_.lexically_normal()).string();
}

void LibcgroupBackend::create(const fs::path& dir) {
    // libcgroup treats an existing directory as created; say EEXIST as mkdir would.
    if (path_exists(dir)) throw std::system_error(EEXIST, std::generic_category(), "mkdir " + dir.string());
    auto group = memory_group(group_name(dir));
    // ignore_ownership=1: no chown of every control file to the default 0:0.
    if (const int code = cgroup_create_cgroup(group.get(), 1); code != 0) {
        // libcgroup folds mkdir's errno (EROFS, EACCES) into ECGROUPNOTALLOWED
        // and keeps no errno for it: ask the kernel why the parent takes no entry.
        if (code != ECGOTHER && ::access(dir.parent_path().c_str(), W_OK) != 0)
            throw std::system_error(errno, std::generic_category(), "libcgroup create " + dir.string());
        throw_libcgroup(code, "libcgroup create " + dir.string());
    }
}

void LibcgroupBackend::set(const fs::path& dir, std::string_view file, std::string_view value) {
    auto group = memory_group(group_name(dir));
    auto* controller = cgroup_get_controller(group.get(), "memory");
    const std::string name(file), text(value);
    const auto where = "libcgroup set " + (dir / file).string() + "=" + text;
    if (const int code = cgroup_add_value_string(controller, name.c_str(), text.c_str()); code != 0)
        throw_libcgroup(code, where);
    if (const int code = cgroup_modify_cgroup(group.get()); code != 0) throw_libcgroup(code, where);
}

namespace {

std::string direct_because(const std::string& why) { return "cgroup changes by direct cgroupfs writes: " + why; }

}  // namespace

PendingBackend begin_backend(const Detection& detection, Mode mode, BackendKind kind) {
    PendingBackend pending;
    if (mode == Mode::adopt) {
        pending.reason = "no cgroup changes: adopt mode uses the launcher's own cgroup as it is";
        return pending;
    }
    if (kind == BackendKind::direct) {
        pending.reason = "cgroup changes by direct cgroupfs writes (asked for)";
        return pending;
    }
    if (detection.version != Version::v1 || !detection.memory_available) {
        if (kind == BackendKind::libcgroup)
            throw std::runtime_error("libcgroup backend: only used for a cgroup v1 memory hierarchy");
        pending.reason = direct_because(
            "libcgroup 2.0 does not handle this cgroup v2 tree "
            "(it ignores a cgroup2 root without controllers and needs v2 file names)");
        return pending;
    }
    pending.kind = kind;
    pending.memory_root = detection.memory_root;
    try {
        pending.helper = std::make_unique<LibcgroupHelperBackend>(detection.memory_root);
    } catch (const std::exception& e) {
        if (kind == BackendKind::libcgroup) throw;
        pending.reason = direct_because(e.what());
    }
    return pending;
}

BackendChoice finish_backend(PendingBackend pending) {
    if (!pending.helper) return {std::make_unique<DirectBackend>(), pending.reason};
    try {
        pending.helper->wait_ready();
        return {std::move(pending.helper),
                "cgroup changes through libcgroup, in a helper process while the cgroup is set up (cgroup v1 at " +
                    pending.memory_root.string() + ")"};
    } catch (const std::exception& e) {
        if (pending.kind == BackendKind::libcgroup) throw;
        return {std::make_unique<DirectBackend>(), direct_because(e.what())};
    }
}

BackendChoice make_backend(const Detection& detection, BackendKind kind) {
    return finish_backend(begin_backend(detection, Mode::host, kind));
}

}  // namespace cgroups
