// A fake cgroupfs in a temporary directory for unit tests: the layouts of
// real machines (v1, hybrid, v2), the matching /proc/self texts, and a
// backend that behaves like the kernel where the library relies on it
// (control files appear on mkdir, rmdir fails while populated, subtree_control
// takes "+memory", a read-only mount refuses changes) and records every change.
#pragma once

#include "cgroups/backend.hpp"
#include "cgroups/detect.hpp"

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace cgroups_test {

namespace fs = std::filesystem;

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

enum class FakeLayout { v1, hybrid, v2 };

struct FakeOptions {
    FakeLayout layout = FakeLayout::v1;
    std::string own_cgroup = "/user.slice/session-1.scope";  // where "the launcher" is
    std::string mount_root = "/";   // a container bind-mounting a sub-tree sets "/docker/abc"
    bool namespace_root = false;    // the mount shows a cgroup namespace root, not the true root
    bool read_only = false;         // mounted ro (a pod)
    bool memory = true;             // the memory controller exists
    bool memsw = true;              // v1 swap accounting (memory.memsw.*)
    bool own_has_memory = true;     // v2: memory in the own cgroup's cgroup.controllers
    bool cgroup_kill = true;        // v2: the kernel has cgroup.kill
    std::vector<pid_t> own_pids = {4242};  // fake processes in the own cgroup
};

class FakeCgroupfs : public cgroups::DirectBackend {
public:
    explicit FakeCgroupfs(FakeOptions options = {});

    fs::path root() const { return temp_.path() / "sys/fs/cgroup"; }
    fs::path memory_root() const;
    fs::path own_dir() const;
    std::string mountinfo() const;
    std::string proc_self_cgroup() const;
    cgroups::DetectInputs inputs() const;

    // Every change, with paths relative to root(): "mkdir memory/x",
    // "set memory/x/memory.limit_in_bytes 64", "write memory/x/cgroup.procs 7",
    // "rmdir memory/x", "kill 7".
    const std::vector<std::string>& log() const { return log_; }
    void clear_log() { log_.clear(); }

    // All files below root() with their contents, to prove nothing changed.
    std::map<std::string, std::string> snapshot() const;

    // Puts a fake process into a cgroup; SIGKILL removes it again unless it
    // is made unkillable (stuck in D state).
    void add_process(const fs::path& cgroup, pid_t pid);
    void make_unkillable(pid_t pid) { unkillable_.insert(pid); }
    // Makes the next `count` writes of `file_name` fail with `error`.
    void fail_writes(const std::string& file_name, int error) { failing_[file_name] = error; }

    void create(const fs::path& dir) override;
    void set(const fs::path& dir, std::string_view file, std::string_view value) override;
    void remove(const fs::path& dir) override;
    void write(const fs::path& file, std::string_view value) override;
    bool signal(pid_t pid, int signal_number) override;

private:
    std::string rel(const fs::path& path) const;
    bool is_v2(const fs::path& dir) const;
    void populate(const fs::path& dir, bool hierarchy_root);
    void check_writable(const std::string& operation, const fs::path& path) const;
    void move_pid(pid_t pid, const fs::path& to);
    bool drop_pid(pid_t pid);

    TempDir temp_;
    FakeOptions options_;
    std::vector<std::string> log_;
    std::set<pid_t> unkillable_;
    std::map<std::string, int> failing_;
};

}  // namespace cgroups_test
