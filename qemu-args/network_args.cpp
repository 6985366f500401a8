// NICs (user-mode networking for masquerade and slirp, a passed tap for
// bridge), their link state, and the memory balloon.
#include <fmt/format.h>

#include <cctype>
#include <set>
#include <stdexcept>

#include "qemu-args/build_plan.hpp"
#include "qemu-args/net_user.hpp"
#include "qemu-args/plan_parts.hpp"

namespace qemu_args::detail {
namespace {

using json = nlohmann::ordered_json;

// KubeVirt's interface models and QEMU's device for each.
std::string nic_driver(const vmi::Interface& i) {
    const std::string& m = i.model;
    if (m.empty() || m == "virtio") return "virtio-net-pci";
    if (m == "e1000" || m == "e1000e" || m == "rtl8139" || m == "pcnet" || m == "ne2k_pci") return m;
    throw vmi::SpecError(i.where, fmt::format("interface \"{}\": \"{}\" is not a model QEMU 7.2 offers (use virtio, "
                                              "e1000, e1000e, rtl8139, pcnet or ne2k_pci)",
                                              i.name, m));
}

bool is_mac(const std::string& s) {
    if (s.size() != 17) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i % 3 == 2 ? s[i] != ':' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

// KubeVirt adds the pod interface only when the VMI names no interface and
// no network, and autoattachPodInterface is not false.
std::vector<vmi::Interface> interfaces_of(const vmi::VmiSpec& spec) {
    const auto& dev = spec.domain.devices;
    if (!dev.interfaces.empty() || !spec.networks.empty() || !dev.autoattach_pod_interface) return dev.interfaces;
    vmi::Interface pod;
    pod.name = "default";
    pod.binding = vmi::InterfaceBinding::masquerade;
    pod.where = vmi::FieldRef{"spec.domain.devices.interfaces", std::nullopt};
    return {pod};
}

const vmi::Network* network_of(const vmi::VmiSpec& spec, const vmi::Interface& i) {
    for (const auto& n : spec.networks) {
        if (n.name == i.name) return &n;
    }
    return nullptr;
}

// KubeVirt's masquerade forwards every port when none is listed; user-mode
// networking can forward only the ports it is told. Said for an interface
// the VMI writes, where ports could have been listed; KubeVirt's default pod
// interface (no interfaces at all) stays quiet, or nearly every VMI would warn.
void warn_unforwarded(PlanContext& c, const vmi::Interface& i, bool written) {
    if (!written || i.binding == vmi::InterfaceBinding::bridge || !i.ports.empty()) return;
    c.plan.warnings.push_back(fmt::format(
        "{}: interface \"{}\" lists no ports: KubeVirt would forward every port to the guest, but user-mode "
        "networking forwards only listed ones, so no connection from outside reaches this guest (list them in "
        "ports)",
        i.where.path, i.name));
}

}  // namespace

void add_network(PlanContext& c) {
    const auto all = interfaces_of(c.spec);
    // state: absent: KubeVirt does not create the interface.
    std::vector<vmi::Interface> interfaces;
    for (const auto& i : all) {
        if (i.state != vmi::InterfaceState::absent) interfaces.push_back(i);
    }
    check_host_ports(interfaces, c.options);
    std::set<int> taps;
    ForwardedPorts forwarded;
    for (std::size_t n = 0; n < interfaces.size(); ++n) {
        const vmi::Interface& i = interfaces[n];
        const std::string netdev = fmt::format("net{}", n);
        json backend;
        if (i.binding == vmi::InterfaceBinding::bridge) {
            auto it = c.options.tap_fds.find(i.name);
            if (it == c.options.tap_fds.end()) {
                throw vmi::SpecError(i.where, fmt::format("interface \"{}\": a bridge interface needs a tap device "
                                                          "the launcher passes as a descriptor (none was given)",
                                                          i.name));
            }
            const int fd = it->second;
            if (fd <= last_fixed_fd_number || !taps.insert(fd).second) {
                throw std::runtime_error(fmt::format("interface \"{}\": tap descriptor {} is taken", i.name, fd));
            }
            c.plan.fds.push_back({FdSlot::Kind::tap, fd, i.name});
            backend = {{"type", "tap"}, {"id", netdev}, {"fd", std::to_string(fd)}};
        } else {
            // masquerade (and 2018's slirp): QEMU's user-mode network stack.
            backend = user_netdev(i, network_of(c.spec, i), netdev, c.options, forwarded);
            warn_unforwarded(c, i, !c.spec.domain.devices.interfaces.empty());
        }
        const std::string nic_id = qemu_id("ua-", i.name, fmt::format("nic{}", n));
        json nic{{"driver", nic_driver(i)}, {"id", nic_id}, {"netdev", netdev}};
        if (!i.mac_address.empty()) {
            if (!is_mac(i.mac_address)) {
                throw vmi::SpecError(i.where, fmt::format("interface \"{}\": \"{}\" is not a MAC address "
                                                          "(xx:xx:xx:xx:xx:xx)",
                                                          i.name, i.mac_address));
            }
            nic["mac"] = i.mac_address;
        }
        c.json("-netdev", backend);
        c.json("-device", nic);
        // There is no device property for the link state: QEMU starts paused
        // and the launcher sets the link down before the guest's first instruction.
        if (i.state == vmi::InterfaceState::down) {
            c.plan.startup_commands.push_back({"set_link", json{{"name", nic_id}, {"up", false}}.dump()});
        }
    }
    if (!c.plan.startup_commands.empty()) c.arg("-S");
}

void add_balloon(PlanContext& c) {
    if (!c.spec.domain.devices.autoattach_mem_balloon) return;
    // Free page reporting hands freed guest pages back to the host; the guest
    // deflates the balloon rather than OOM-kill; statistics every 10 s, as KubeVirt.
    c.json("-device", {{"driver", "virtio-balloon-pci"},
                       {"id", "balloon0"},
                       {"free-page-reporting", true},
                       {"deflate-on-oom", true},
                       {"guest-stats-polling-interval", 10}});
}

}  // namespace qemu_args::detail
