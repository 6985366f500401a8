// The options of `vmi-launcher run` (and of the commands that share them).
#pragma once

#include <optional>
#include <string>

#include "launcher/commands.hpp"

namespace launcher {

struct RunArgs {
    PlanArgs plan;
    LaunchArgs launch;
    std::string cgroup_mode = "auto";
    std::string cgroup_parent;  // empty: the mode's default
    std::string cgroup_root = "/sys/fs/cgroup";
    std::optional<long> grace_period;  // seconds; default: the VMI's terminationGracePeriodSeconds
    long qmp_timeout = 30;             // seconds QEMU has to complete the QMP handshake
    std::string log_format;            // text or json; default: text on a terminal
    std::string termination_log;       // default: /dev/termination-log when it exists
    std::string console_log;           // keep the serial console's output here (default: in the state directory)
    std::string console_log_max;       // rotation size of the console log (a quantity); default 8Mi
    bool dry_run = false;
    std::string balloon_poll_interval;  // a duration: run the balloon policy on this timer only
    std::string balloon_quiet;          // hidden: no pressure for this long before deflating
    std::string balloon_step_interval;  // hidden: between two deflation steps
};

int cmd_run(const RunArgs& args);

}  // namespace launcher
