// Devices beyond disks and NICs: the entropy source and the watchdog.
#include <fmt/format.h>

#include "qemu-args/plan_parts.hpp"

namespace qemu_args::detail {
namespace {

// QEMU's -action watchdog= names for KubeVirt's WatchdogAction; libvirt
// passes these through unchanged. shutdown is the ACPI power button (the
// guest may ignore it), poweroff ends QEMU at once, reset reboots the guest.
const char* watchdog_action(vmi::WatchdogAction a) {
    switch (a) {
        case vmi::WatchdogAction::poweroff: return "poweroff";
        case vmi::WatchdogAction::reset: return "reset";
        case vmi::WatchdogAction::shutdown: return "shutdown";
    }
    return "reset";
}

}  // namespace

void add_devices(PlanContext& c) {
    const vmi::Devices& dev = c.spec.domain.devices;
    if (dev.rng) {
        // KubeVirt's converter: a virtio RNG whose backend reads /dev/urandom,
        // which never blocks the VM waiting for host entropy.
        c.json("-object", {{"qom-type", "rng-random"}, {"id", "rng0"}, {"filename", "/dev/urandom"}});
        c.json("-device", {{"driver", "virtio-rng-pci"}, {"id", "rng0-dev"}, {"rng", "rng0"}});
    }
    if (dev.watchdog) {
        c.json("-device", {{"driver", "i6300esb"}, {"id", qemu_id("ua-", dev.watchdog->name, "watchdog0")}});
        c.arg("-action", fmt::format("watchdog={}", watchdog_action(dev.watchdog->action)));
    }
}

}  // namespace qemu_args::detail
