// The changes made to a cgroup tree, behind one small interface so a mode's
// logic is written once. DirectBackend does them with plain syscalls on any
// directory (the real cgroupfs, or a test's fake one); the libcgroup backend
// (libcgroup_backend.hpp) does create/set/remove where libcgroup works.
// Reads never go through here: they are plain file reads.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace cgroups {

class Backend {
public:
    virtual ~Backend() = default;

    // For the log: "libcgroup" or "cgroupfs".
    virtual std::string name() const = 0;

    // Makes one cgroup; its parent exists. Throws std::system_error naming the
    // operation and path (EEXIST when it is already there).
    virtual void create(const std::filesystem::path& dir) = 0;

    // Sets a control value of a cgroup (memory.max, cgroup.subtree_control).
    virtual void set(const std::filesystem::path& dir, std::string_view file, std::string_view value) = 0;

    // Removes an empty cgroup; std::system_error with EBUSY while it is populated.
    virtual void remove(const std::filesystem::path& dir) = 0;

    // Writes a control file that is an action, not a setting: cgroup.procs,
    // cgroup.kill, cgroup.event_control. Direct in every backend: libcgroup
    // has no such calls (its attach writes `tasks`, one thread at a time).
    virtual void write(const std::filesystem::path& file, std::string_view value) = 0;

    // Sends a signal to a process found in a cgroup; false when it is gone.
    virtual bool signal(pid_t pid, int signal_number) = 0;

    // The cgroup is set up: let go of what only creating and setting need
    // (the libcgroup helper process). Later calls still work.
    virtual void release() {}
};

// Plain syscalls on whatever directory it is given.
class DirectBackend : public Backend {
public:
    std::string name() const override { return "cgroupfs"; }
    void create(const std::filesystem::path& dir) override;
    void set(const std::filesystem::path& dir, std::string_view file, std::string_view value) override;
    void remove(const std::filesystem::path& dir) override;
    void write(const std::filesystem::path& file, std::string_view value) override;
    bool signal(pid_t pid, int signal_number) override;
};

}  // namespace cgroups
