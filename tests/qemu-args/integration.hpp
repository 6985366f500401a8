// Shared by the integration tests: the test guest and how a VMI is planned
// to boot it here (TCG, a temporary state directory).
#pragma once

#include <optional>
#include <string>

#include "qemu-args/build_plan.hpp"
#include "qemu-args/sources.hpp"
#include "vm_harness.hpp"
#include "vmi/validate.hpp"

namespace qemu_test {

// The unpacked test guest image (boot/vmlinuz, boot/initrd.img), set by main.
extern std::string guest_image;

struct Planned {
    vmi::VmiSpec spec;
    vmi::MemoryPlan memory;
    qemu_args::LaunchPlan plan;
};

// Plans a VMI for TCG with the test guest mapped as vmi-launcher/test-guest.
// `wall_clock`: what the launcher's clock reads (clock.utc.offsetSeconds).
inline Planned plan_vmi(const std::string& yaml, const std::string& state_dir,
                        qemu_args::SourceOptions sources = {}, std::optional<std::int64_t> wall_clock = {}) {
    Planned p{vmi::load_vmi(yaml), {}, {}};
    vmi::PlanOptions po;
    po.accel = vmi::Accel::tcg;
    p.memory = vmi::plan_memory(p.spec, po);
    sources.images.emplace("vmi-launcher/test-guest", guest_image);
    qemu_args::LaunchOptions o;
    o.accel = vmi::Accel::tcg;
    o.state_dir = state_dir;
    o.wall_clock_seconds = wall_clock;
    p.plan = qemu_args::build_launch_plan(p.spec, p.memory, qemu_args::resolve_sources(p.spec, sources), o);
    return p;
}

// kernelBoot of the test guest, for spec.domain.firmware.
inline std::string guest_kernel_boot(const std::string& extra_args = "") {
    return "    firmware:\n      kernelBoot:\n        kernelArgs: console=ttyS0 quiet panic=-1" + extra_args +
           "\n        container: {image: vmi-launcher/test-guest, kernelPath: /boot/vmlinuz, "
           "initrdPath: /boot/initrd.img}\n";
}

// A panic reboots (panic=-1); -no-reboot turns that into an exit.
inline VmRun boot_run() {
    VmRun r;
    r.extra_args = {"-no-reboot"};
    return r;
}

}  // namespace qemu_test
