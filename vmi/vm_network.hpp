// The guest's side of KubeVirt's masquerade binding: from a network range
// (networks[].pod.vmNetworkCIDR, vmIPv6NetworkCIDR, or KubeVirt's defaults)
// to the gateway's and the guest's addresses, as virt-launcher picks them.
#pragma once

#include <string>
#include <string_view>

namespace vmi {

enum class IpFamily { v4, v6 };

// KubeVirt's defaults (pkg/virt-launcher/virtwrap/api/defaults.go).
inline constexpr std::string_view default_vm_network_cidr = "10.0.2.0/24";
inline constexpr std::string_view default_vm_ipv6_network_cidr = "fd10:0:2::/120";

struct VmNetworkAddresses {
    std::string network;  // the range's first address: 10.0.2.0
    unsigned prefix_length = 0;
    std::string gateway;  // the next one: 10.0.2.1
    std::string guest;    // and the one after: 10.0.2.2
    bool operator==(const VmNetworkAddresses&) const = default;
};

// As KubeVirt's GenerateMasqueradeGatewayAndVmIPAddrs: host bits written in
// the CIDR are dropped (10.0.2.7/24 is 10.0.2.0/24); the gateway is the
// second address of the range and the guest the third; a range of fewer than
// four addresses (/31, /32; /127, /128) is refused. Throws
// std::invalid_argument saying what is wrong with `cidr`.
VmNetworkAddresses vm_network_addresses(std::string_view cidr, IpFamily family);

}  // namespace vmi
