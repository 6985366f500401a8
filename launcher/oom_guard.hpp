// When the launcher shares a memory limit with QEMU (adopt mode: the pod's
// cgroup; nested: the container's cgroup above both), an OOM kill may pick
// the launcher, and then nobody reports it. The launcher makes itself immune
// where it may (oom_score_adj -1000 needs CAP_SYS_RESOURCE); where it may
// not, QEMU's score is raised above the launcher's instead, which needs no
// privilege. QEMU's value is written by the child before exec.
#pragma once

#include <filesystem>
#include <string>

namespace launcher {

struct OomScores {
    int launcher_before = 0;       // as found (kubelet sets it by QoS class in a pod)
    int launcher = 0;              // after the attempt
    int qemu = 0;                  // what QEMU gets
    bool launcher_immune = false;  // -1000 took
    std::string why_not;           // when it did not: the error
};

// Pure: QEMU keeps the launcher's original score when the launcher is
// immune, else gets it raised by 500 (at most 1000): in a memory cgroup the
// OOM killer's points are RSS plus score x limit / 1000, so QEMU then
// outranks a launcher of a few MiB at any limit, while a Guaranteed pod's
// QEMU (-997 + 500) still goes after every Burstable and BestEffort process
// on the node.
int qemu_oom_score_adj(int launcher_before, bool launcher_immune);

// Reads `file` (the launcher's /proc/self/oom_score_adj), tries -1000, and
// says what QEMU gets. Never throws for a refused write; throws
// std::runtime_error when the file cannot be read.
OomScores protect_launcher(const std::filesystem::path& file = "/proc/self/oom_score_adj");

}  // namespace launcher
