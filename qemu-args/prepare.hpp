// Making the files a LaunchPlan names, before QEMU starts (effectful).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "qemu-args/launch_plan.hpp"

namespace qemu_args {

// The programs preparation runs (found on PATH unless given with a slash).
struct PrepareTools {
    std::string qemu_img = "qemu-img";
    std::string xorrisofs = "xorrisofs";
};

// Creates the state directory (mode 0700, parents as needed) and runs the
// plan's steps in order: qcow2 overlays with qemu-img, sparse files with
// ftruncate, the cloud-init seed with xorrisofs from a temporary directory,
// private copies. A sparse file or copy that already exists is kept; an
// overlay or seed is made afresh. On failure everything it made is removed
// again and std::runtime_error names the step and the path.
void prepare_files(const LaunchPlan& plan, const PrepareTools& tools = {});

// Where execvp would find `name`: itself when it holds a '/', else the first
// executable regular file NAME in PATH's directories (PATH unset:
// /usr/local/bin:/usr/bin:/bin). nullopt when there is none.
std::optional<std::string> find_program(const std::string& name);

// Runs a program (found by find_program) with stdin from /dev/null and waits; returns its exit
// status (128 + N for signal N) and sets `output` to its stdout and stderr.
int run_program(const std::vector<std::string>& argv, std::string& output);

}  // namespace qemu_args
