// From command-line options to the plan layer's inputs, shared by plan,
// qemu-args and run.
#pragma once

#include "launcher/commands.hpp"
#include "qemu-args/accel.hpp"
#include "qemu-args/launch_plan.hpp"
#include "vmi/memory_plan.hpp"
#include "vmi/spec.hpp"

namespace launcher {

// The accelerator --accel asks for; only `auto` looks at the host.
qemu_args::AccelChoice accel_for(const PlanArgs& args);

vmi::PlanOptions plan_options(const PlanArgs& args, vmi::Accel accel, bool launcher_in_cgroup = false);

// --volume, --image, the directories. Throws naming the option on a bad or
// repeated mapping.
qemu_args::SourceOptions source_options(const LaunchArgs& args);

// The state directory (default <state root>/<namespace>/<name>), the QEMU
// binary as given, the tap descriptors.
qemu_args::LaunchOptions launch_options(const LaunchArgs& args, const vmi::VmiSpec& spec, vmi::Accel accel);

// The spec's warnings on standard error, one "warning: path: message" line each.
void print_warnings(const vmi::VmiSpec& spec);

}  // namespace launcher
