// QEMU's user-mode network stack for KubeVirt's masquerade (and 2018's
// slirp) binding: the guest's addresses and the forwarded ports (internal).
#pragma once

#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "qemu-args/launch_plan.hpp"

namespace qemu_args::detail {

// The host ports already forwarded, by protocol, so two rules never claim one.
using ForwardedPorts = std::set<std::pair<vmi::PortProtocol, std::uint16_t>>;

// The -netdev object of type user for `iface` (whose network is `net`, null
// for KubeVirt's default pod interface). Masquerade: the range of
// vmNetworkCIDR / vmIPv6NetworkCIDR or KubeVirt's defaults, the gateway at
// its second address and DHCP handing the guest the third. Slirp: QEMU's
// defaults, as KubeVirt gave them. Each port of `iface` becomes a hostfwd
// rule from options.forward_address to the guest. Throws vmi::SpecError for a
// port forwarded twice, std::runtime_error for a bad --forward-address.
nlohmann::ordered_json user_netdev(const vmi::Interface& iface, const vmi::Network* net, const std::string& id,
                                   const LaunchOptions& options, ForwardedPorts& taken);

// Throws std::runtime_error for a --host-port naming a port no interface forwards.
void check_host_ports(const std::vector<vmi::Interface>& forwarding, const LaunchOptions& options);

}  // namespace qemu_args::detail
