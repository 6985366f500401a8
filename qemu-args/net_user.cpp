#include "qemu-args/net_user.hpp"

#include <arpa/inet.h>

#include <stdexcept>

#include <fmt/format.h>

#include "vmi/vm_network.hpp"

namespace qemu_args::detail {
namespace {

using json = nlohmann::ordered_json;

// The addresses validate accepted; the CIDR is read again here.
vmi::VmNetworkAddresses addresses(const std::string& cidr, std::string_view fallback, const vmi::FieldRef& where,
                                  vmi::IpFamily family) {
    try {
        return vmi::vm_network_addresses(cidr.empty() ? fallback : std::string_view(cidr), family);
    } catch (const std::invalid_argument& e) {
        throw vmi::SpecError(where, e.what());
    }
}

void check_forward_address(const std::string& address) {
    in_addr parsed{};
    if (::inet_pton(AF_INET, address.c_str(), &parsed) != 1) {
        throw std::runtime_error(fmt::format("--forward-address: \"{}\" is not an IPv4 address (QEMU 7.2 forwards "
                                             "ports from IPv4 addresses only)",
                                             address));
    }
}

std::uint16_t host_port_of(const vmi::Port& p, const LaunchOptions& options) {
    auto it = options.host_ports.find(p.port);
    return it == options.host_ports.end() ? p.port : it->second;
}

}  // namespace

json user_netdev(const vmi::Interface& iface, const vmi::Network* net, const std::string& id,
                 const LaunchOptions& options, ForwardedPorts& taken) {
    json backend{{"type", "user"}, {"id", id}};
    std::string guest;  // empty: QEMU's own default guest address (slirp)
    if (iface.binding == vmi::InterfaceBinding::masquerade) {
        const vmi::Network none;
        const vmi::Network& n = net ? *net : none;
        const auto v4 = addresses(n.vm_network_cidr, vmi::default_vm_network_cidr, n.vm_network_cidr_ref,
                                  vmi::IpFamily::v4);
        const auto v6 = addresses(n.vm_ipv6_network_cidr, vmi::default_vm_ipv6_network_cidr,
                                  n.vm_ipv6_network_cidr_ref, vmi::IpFamily::v6);
        // DHCP's first (and, with one guest, only) lease is the guest's address.
        backend["net"] = fmt::format("{}/{}", v4.network, v4.prefix_length);
        backend["host"] = v4.gateway;
        backend["dhcpstart"] = v4.guest;
        backend["ipv6-prefix"] = v6.network;
        backend["ipv6-prefixlen"] = v6.prefix_length;
        backend["ipv6-host"] = v6.gateway;
        guest = v4.guest;
    }
    if (iface.ports.empty()) return backend;

    check_forward_address(options.forward_address);
    json rules = json::array();
    for (const auto& p : iface.ports) {
        const std::uint16_t host_port = host_port_of(p, options);
        if (!taken.insert({p.protocol, host_port}).second) {
            throw vmi::SpecError(p.where, fmt::format("interface \"{}\": {} port {} on {} is already forwarded to "
                                                      "the guest (map one of them elsewhere with --host-port)",
                                                      iface.name, p.protocol == vmi::PortProtocol::udp ? "UDP" : "TCP",
                                                      host_port, options.forward_address));
        }
        const char* proto = p.protocol == vmi::PortProtocol::udp ? "udp" : "tcp";
        rules.push_back({{"str", fmt::format("{}:{}:{}-{}:{}", proto, options.forward_address, host_port, guest,
                                             p.port)}});
    }
    backend["hostfwd"] = rules;
    return backend;
}

void check_host_ports(const std::vector<vmi::Interface>& forwarding, const LaunchOptions& options) {
    for (const auto& [port, host_port] : options.host_ports) {
        bool declared = false;
        for (const auto& iface : forwarding) {
            // A bridge interface's guest is on the network itself: nothing is forwarded.
            if (iface.binding == vmi::InterfaceBinding::bridge) continue;
            for (const auto& p : iface.ports) declared = declared || p.port == port;
        }
        if (!declared) {
            throw std::runtime_error(fmt::format("--host-port {}={}: no interface of the VMI forwards port {} "
                                                 "(interfaces[].ports of a masquerade or slirp interface)",
                                                 port, host_port, port));
        }
    }
}

}  // namespace qemu_args::detail
