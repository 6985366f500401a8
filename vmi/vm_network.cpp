#include "vmi/vm_network.hpp"

#include <arpa/inet.h>

#include <array>
#include <stdexcept>

#include <fmt/format.h>

namespace vmi {
namespace {

std::string example_of(IpFamily family) {
    return std::string(family == IpFamily::v4 ? default_vm_network_cidr : default_vm_ipv6_network_cidr);
}

std::string to_text(const std::array<unsigned char, 16>& bytes, IpFamily family) {
    char text[INET6_ADDRSTRLEN] = {};
    const int af = family == IpFamily::v4 ? AF_INET : AF_INET6;
    if (!::inet_ntop(af, bytes.data(), text, sizeof text)) throw std::logic_error("inet_ntop failed");
    return text;
}

}  // namespace

VmNetworkAddresses vm_network_addresses(std::string_view cidr, IpFamily family) {
    const std::string what = family == IpFamily::v4 ? "an IPv4" : "an IPv6";
    auto bad = [&] {
        return std::invalid_argument(
            fmt::format("\"{}\" is not {} network in CIDR notation (like {})", cidr, what, example_of(family)));
    };
    const auto slash = cidr.find('/');
    if (slash == std::string_view::npos) throw bad();
    const std::string address(cidr.substr(0, slash));
    const std::string_view length_text = cidr.substr(slash + 1);
    const unsigned bits = family == IpFamily::v4 ? 32 : 128;
    if (length_text.empty() || length_text.size() > 3) throw bad();
    unsigned length = 0;
    for (char c : length_text) {
        if (c < '0' || c > '9') throw bad();
        length = length * 10 + static_cast<unsigned>(c - '0');
    }
    if (length > bits) throw bad();

    std::array<unsigned char, 16> bytes{};
    if (::inet_pton(family == IpFamily::v4 ? AF_INET : AF_INET6, address.c_str(), bytes.data()) != 1) throw bad();
    // KubeVirt needs the network's own address, the gateway, the guest and one
    // more (the broadcast address in IPv4) in the range.
    if (bits - length < 2) {
        throw std::invalid_argument(fmt::format("\"{}\" has fewer than 4 addresses (the network's, the gateway's, "
                                                "the guest's and one more): use a prefix of at most /{}",
                                                cidr, bits - 2));
    }
    // Clear the host bits.
    for (unsigned bit = length; bit < bits; ++bit) bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));

    VmNetworkAddresses out;
    out.network = to_text(bytes, family);
    out.prefix_length = length;
    // At least two host bits: adding 1 and 2 to the last byte cannot carry.
    const std::size_t last = bits / 8 - 1;
    auto plus = [&](unsigned char n) {
        auto b = bytes;
        b[last] = static_cast<unsigned char>(b[last] | n);
        return to_text(b, family);
    };
    out.gateway = plus(1);
    out.guest = plus(2);
    return out;
}

}  // namespace vmi
