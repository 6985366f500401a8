// From a validated VMI, its memory plan and its resolved sources to the
// LaunchPlan: QEMU's argv, the files to prepare and the descriptors to pass.
// Pure: no system calls; the same inputs give the same plan.
#pragma once

#include <string>

#include "qemu-args/launch_plan.hpp"

namespace qemu_args {

// The QMP listener the launcher creates and hands to QEMU at this number.
inline constexpr int qmp_fd_number = 3;
// The QEMU end of the serial console's socket pair, at this number.
inline constexpr int console_fd_number = 4;
// Descriptors up to this one are the launcher's to place; a tap above.
inline constexpr int last_fixed_fd_number = console_fd_number;

// Throws vmi::SpecError for what the VMI asks and QEMU cannot do (naming the
// field or the disk or interface), std::runtime_error for launch options that
// cannot work (a socket path too long, a tap descriptor taken),
// std::invalid_argument when the inputs disagree (a memory plan made for
// another accelerator, a volume resolve_sources did not resolve).
LaunchPlan build_launch_plan(const vmi::VmiSpec& spec, const vmi::MemoryPlan& memory,
                             const ResolvedSources& sources, const LaunchOptions& options);

// Where a VM's files live when no state directory is given:
// /run/vmi-launcher/<namespace>/<name>.
std::string default_state_dir(const vmi::VmiSpec& spec);

}  // namespace qemu_args
