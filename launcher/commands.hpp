// The subcommands. Each takes its parsed options and returns an exit status;
// errors are thrown and turned into one line by run_cli.
#pragma once

#include <string>
#include <vector>

#include "vmi/memory_plan.hpp"

namespace launcher {

// Options shared by every command that plans a VMI.
struct PlanArgs {
    std::string file;
    std::string overhead_model = "launcher";
    std::string overhead_ratio = "1.0";  // KubeVirt's additionalGuestMemoryOverheadRatio
    std::string accel = "auto";
    unsigned memory_overcommit = 100;
    std::string balloon = "auto";
};

struct PlanCommandArgs {
    PlanArgs plan;
    std::string output = "table";
};

// Where a VM's files come from and go: shared by qemu-args and run.
struct LaunchArgs {
    std::vector<std::string> volumes;  // NAME=PATH
    std::vector<std::string> images;   // REF=DIR
    std::vector<std::string> tap_fds;  // INTERFACE=FD
    std::vector<std::string> host_ports;  // PORT=HOSTPORT
    std::string forward_address = "127.0.0.1";
    std::string volumes_dir;
    std::string images_dir;
    std::string state_dir;  // empty: <state_root>/<namespace>/<name>
    std::string state_root = "/run/vmi-launcher";
    std::string qemu = "qemu-system-x86_64";
};

struct QemuArgsCommandArgs {
    PlanArgs plan;
    LaunchArgs launch;
    std::string output = "shell";
};

// A running VM: "namespace/name" or "name" (namespace default), found
// through its state directory.
struct VmRef {
    std::string name;
    std::string state_root = "/run/vmi-launcher";
    std::string state_dir;  // overrides the above
};

int cmd_validate(const std::string& file);
int cmd_plan(const PlanCommandArgs& args);
int cmd_qemu_args(const QemuArgsCommandArgs& args);
int cmd_status(const VmRef& ref, const std::string& output);
int cmd_console(const VmRef& ref);

}  // namespace launcher
