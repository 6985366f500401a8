// What the integration tests share: this machine's detection and backend,
// a per-run parent cgroup, spawning the helper into a VM cgroup, waiting.
#pragma once

#include "cgroups/detect.hpp"
#include "cgroups/libcgroup_backend.hpp"
#include "cgroups/vm_cgroup.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cgroups_test {

struct Machine {
    cgroups::Detection detection;
    std::shared_ptr<cgroups::Backend> backend;
    std::string backend_reason;
    std::string parent;  // "vmi-launcher-test-<pid>", below the memory root

    std::filesystem::path parent_dir() const { return detection.memory_root / parent; }
};

// Detected once per run.
const Machine& machine();

// The helper program (CGROUPS_TEST_HELPER).
std::string helper();

// A host-mode VM cgroup under the run's parent.
cgroups::VmCgroup make_vm(const std::string& name, cgroups::MemoryLimits limits);

enum class Spawn { fork_join, clone_into };

// Starts `args` (after the helper path) inside `vm`: fork, join before exec
// (or clone3 into the cgroup), exec. Its stdout (stderr) goes to `stdout_fd`
// (`stderr_fd`) if set.
pid_t spawn_helper(const cgroups::VmCgroup& vm, const std::vector<std::string>& args, int stdout_fd = -1,
                   Spawn how = Spawn::fork_join, int stderr_fd = -1);

// waitpid with a bound; nullopt when it did not end in time.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout);

// Waits until `fd` is readable; false on timeout.
bool wait_readable(int fd, std::chrono::milliseconds timeout);

// Reads one line (a pid the helper printed) from a pipe.
std::string read_line(int fd, std::chrono::milliseconds timeout);

// The memory cgroup directory of a running process, from /proc/PID/cgroup.
std::optional<std::filesystem::path> memory_cgroup_of(pid_t pid, const cgroups::Detection& detection);

struct Pipe {
    int read = -1;
    int write = -1;
    Pipe();
    ~Pipe();
    void close_write();
};

}  // namespace cgroups_test
