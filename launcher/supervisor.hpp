// Runs one VM from its plans: the state directory, the files, the cgroup,
// QEMU, and one event loop over QEMU's exit, OOM and pressure events,
// signals, QMP and the control socket, until QEMU is gone and everything it
// had is removed.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cgroups/detect.hpp"
#include "cgroups/libcgroup_backend.hpp"
#include "cgroups/mode.hpp"
#include "cgroups/vm_cgroup.hpp"
#include "launcher/log.hpp"
#include "qemu-args/launch_plan.hpp"
#include "vmi/balloon_policy.hpp"
#include "vmi/memory_plan.hpp"
#include "vmi/spec.hpp"

namespace launcher {

struct VmRun {
    vmi::VmiSpec spec;
    vmi::MemoryPlan memory;
    qemu_args::LaunchPlan launch;
    std::filesystem::path state_dir;
    cgroups::Detection detection;
    cgroups::ModeChoice cgroup_mode;
    cgroups::VmCgroupSpec cgroup;
    std::chrono::seconds grace_period{30};
    // QEMU must complete the QMP handshake (greeting, qmp_capabilities) this
    // soon after it starts, or it is killed and the run fails (exit 3).
    std::chrono::seconds qmp_timeout{30};
    std::optional<std::filesystem::path> termination_log;
    // The cgroup backend, begun (begin_backend()) as soon as the mode is
    // known, so that libcgroup starts in its helper while the plans are made.
    // Required unless the mode is none.
    std::shared_ptr<cgroups::PendingBackend> backend;
    // The balloon (when memory.balloon is enabled): set, the policy runs on
    // this timer only, with no event source (--balloon-poll-interval).
    std::optional<std::chrono::milliseconds> balloon_poll_interval;
    vmi::BalloonTuning balloon_tuning;
};

// Thrown for failures before QEMU started: nothing is left behind.
struct SetupError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Returns the exit status for the outcome (exit_codes.hpp).
int run_vm(Log& log, const VmRun& run);

}  // namespace launcher
