// build_launch_plan, network and balloon: KubeVirt's default pod
// interface, user-mode and tap networking, models, MACs; the balloon.
#include <catch2/catch.hpp>

#include "plan_test_support.hpp"

using namespace qemu_test;
using nlohmann::json;

namespace {

// KubeVirt's masquerade layout, by hand from pkg/network/link/address.go and
// virtwrap/api/defaults.go: 10.0.2.0/24 and fd10:0:2::/120, the gateway at
// the second address, the guest (DHCP's first lease) at the third.
json masquerade_netdev(const std::string& id) {
    return {{"type", "user"},          {"id", id},
            {"net", "10.0.2.0/24"},    {"host", "10.0.2.1"},
            {"dhcpstart", "10.0.2.2"}, {"ipv6-prefix", "fd10:0:2::"},
            {"ipv6-prefixlen", 120},   {"ipv6-host", "fd10:0:2::1"}};
}

// One masquerade interface on the pod network, with `extra` inside its map
// and `pod` as the network's pod: map.
std::string one_interface(const std::string& extra, const std::string& pod = "{}") {
    return "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      interfaces:\n"
           "      - {name: default, masquerade: {}" +
           (extra.empty() ? "" : ", " + extra) + "}\n  networks:\n  - {name: default, pod: " + pod + "}\n";
}

std::vector<std::string> hostfwd_rules(const LaunchPlan& plan) {
    std::vector<std::string> out;
    for (const auto& n : json_values(plan.argv, "-netdev")) {
        if (!n.contains("hostfwd")) continue;
        for (const auto& r : n["hostfwd"]) out.push_back(r["str"]);
    }
    return out;
}

}  // namespace

TEST_CASE("network: the default pod interface, none, masquerade, slirp and bridge") {
    // No interfaces and no networks: KubeVirt's default masquerade interface.
    auto argv = build(small).argv;
    CHECK(json_values(argv, "-netdev") == std::vector<json>{masquerade_netdev("net0")});
    CHECK(devices(argv, "virtio-net-pci") ==
          std::vector<json>{{{"driver", "virtio-net-pci"}, {"id", "ua-default"}, {"netdev", "net0"}}});

    argv = build("  domain:\n    memory: {guest: 256Mi}\n    devices: {autoattachPodInterface: false}\n").argv;
    CHECK(json_values(argv, "-netdev").empty());
    argv = build(small + "  networks:\n  - {name: default, pod: {}}\n").argv;
    CHECK(json_values(argv, "-netdev").empty());  // networks given, no interfaces: no NIC

    const std::string two = R"(  domain:
    memory: {guest: 256Mi}
    devices:
      interfaces:
      - {name: default, masquerade: {}, model: e1000e, macAddress: '02:00:00:aa:bb:cc'}
      - {name: br, bridge: {}}
      - {name: old, slirp: {}, model: rtl8139}
  networks:
  - {name: default, pod: {}}
  - {name: br, multus: {networkName: br-net}}
  - {name: old, pod: {}}
)";
    CHECK_THAT(build_error(two), Catch::Contains("interface \"br\"") && Catch::Contains("tap"));
    LaunchOptions o = options();
    o.tap_fds["br"] = 7;
    const auto plan = build(two, {}, o);
    CHECK(json_values(plan.argv, "-netdev") ==
          std::vector<json>{masquerade_netdev("net0"),
                            {{"type", "tap"}, {"id", "net1"}, {"fd", "7"}},
                            {{"type", "user"}, {"id", "net2"}}});  // slirp: QEMU's own addresses, as KubeVirt had them
    CHECK(devices(plan.argv, "e1000e") == std::vector<json>{{{"driver", "e1000e"}, {"id", "ua-default"},
                                                             {"netdev", "net0"}, {"mac", "02:00:00:aa:bb:cc"}}});
    CHECK(devices(plan.argv, "virtio-net-pci").at(0)["netdev"] == "net1");
    CHECK(devices(plan.argv, "rtl8139").at(0)["netdev"] == "net2");
    CHECK(plan.fds == std::vector<FdSlot>{{FdSlot::Kind::qmp_listener, 3, ""},
                                          {FdSlot::Kind::console, 4, ""},
                                          {FdSlot::Kind::tap, 7, "br"}});

    o.tap_fds["br"] = 3;  // QMP's
    CHECK_THAT(build_error(two, {}, o), Catch::Contains("descriptor 3 is taken"));
    o.tap_fds["br"] = 4;  // the serial console's
    CHECK_THAT(build_error(two, {}, o), Catch::Contains("descriptor 4 is taken"));

    const std::string bad_model = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      interfaces:\n"
                                  "      - {name: default, masquerade: {}, model: 'virtio,romfile=/x'}\n"
                                  "  networks:\n  - {name: default, pod: {}}\n";
    CHECK_THAT(build_error(bad_model), Catch::Contains("interface \"default\"") && Catch::Contains("not a model"));
    const std::string bad_mac = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      interfaces:\n"
                                "      - {name: default, masquerade: {}, macAddress: '02:00:00:aa:bb'}\n"
                                "  networks:\n  - {name: default, pod: {}}\n";
    CHECK_THAT(build_error(bad_mac), Catch::Contains("interface \"default\"") && Catch::Contains("not a MAC"));
}

TEST_CASE("the balloon unless autoattachMemBalloon is false") {
    CHECK(devices(build(small).argv, "virtio-balloon-pci") ==
          std::vector<json>{{{"driver", "virtio-balloon-pci"}, {"id", "balloon0"}, {"free-page-reporting", true},
                             {"deflate-on-oom", true}, {"guest-stats-polling-interval", 10}}});
    CHECK(devices(build("  domain:\n    memory: {guest: 256Mi}\n    devices: {autoattachMemBalloon: false}\n").argv,
                  "virtio-balloon-pci")
              .empty());
}

TEST_CASE("masquerade: the guest's addresses come from vmNetworkCIDR and vmIPv6NetworkCIDR as KubeVirt picks them") {
    auto n = json_values(build(one_interface("", "{vmNetworkCIDR: 192.168.7.0/24}")).argv, "-netdev").at(0);
    CHECK(n["net"] == "192.168.7.0/24");
    CHECK(n["host"] == "192.168.7.1");
    CHECK(n["dhcpstart"] == "192.168.7.2");
    CHECK(n["ipv6-prefix"] == "fd10:0:2::");  // the IPv6 default stays

    // Host bits written in the CIDR are dropped, as Go's ParseCIDR does; the
    // smallest range KubeVirt accepts holds four addresses.
    n = json_values(build(one_interface("", "{vmNetworkCIDR: 10.1.2.77/30, vmIPv6NetworkCIDR: 'fd00:1::9/126'}")).argv,
                    "-netdev")
            .at(0);
    CHECK(n["net"] == "10.1.2.76/30");
    CHECK(n["host"] == "10.1.2.77");
    CHECK(n["dhcpstart"] == "10.1.2.78");
    CHECK(n["ipv6-prefix"] == "fd00:1::8");
    CHECK(n["ipv6-prefixlen"] == 126);
    CHECK(n["ipv6-host"] == "fd00:1::9");

    for (const std::string bad : {"10.0.2.0/31", "10.0.2.0", "10.0.2.0/33", "10.0.2/24", "fd10::/120", "x/24"}) {
        CAPTURE(bad);
        CHECK_THAT(build_error(one_interface("", "{vmNetworkCIDR: '" + bad + "'}")),
                   Catch::Contains("spec.networks[0].pod.vmNetworkCIDR") && Catch::Contains(bad));
    }
    CHECK_THAT(build_error(one_interface("", "{vmIPv6NetworkCIDR: 'fd10::/127'}")),
               Catch::Contains("vmIPv6NetworkCIDR") && Catch::Contains("fewer than 4 addresses"));
    CHECK_THAT(build_error(one_interface("", "{vmIPv6NetworkCIDR: 10.0.2.0/24}")),
               Catch::Contains("vmIPv6NetworkCIDR") && Catch::Contains("not an IPv6 network"));
}

TEST_CASE("ports: each declared port is forwarded from the forward address to the same port of the guest") {
    const std::string ports = "ports: [{name: http, port: 80}, {port: 53, protocol: UDP}, {port: 22, protocol: TCP}]";
    auto plan = build(one_interface(ports));
    CHECK(hostfwd_rules(plan) == std::vector<std::string>{"tcp:127.0.0.1:80-10.0.2.2:80",
                                                          "udp:127.0.0.1:53-10.0.2.2:53",
                                                          "tcp:127.0.0.1:22-10.0.2.2:22"});
    CHECK(plan.warnings.empty());

    // In a pod: every address of the pod; --host-port moves one port.
    LaunchOptions o = options();
    o.forward_address = "0.0.0.0";
    o.host_ports[22] = 2222;
    plan = build(one_interface(ports, "{vmNetworkCIDR: 10.9.0.0/24}"), {}, o);
    CHECK(hostfwd_rules(plan) == std::vector<std::string>{"tcp:0.0.0.0:80-10.9.0.2:80", "udp:0.0.0.0:53-10.9.0.2:53",
                                                          "tcp:0.0.0.0:2222-10.9.0.2:22"});

    // slirp (2018): to QEMU's default guest address.
    const std::string slirp = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      interfaces:\n"
                              "      - {name: default, slirp: {}, ports: [{port: 8080}]}\n"
                              "  networks:\n  - {name: default, pod: {}}\n";
    CHECK(hostfwd_rules(build(slirp)) == std::vector<std::string>{"tcp:127.0.0.1:8080-:8080"});
}

TEST_CASE("ports: no ports is a warning, collisions and bad options are errors") {
    // KubeVirt forwards everything when nothing is listed; user-mode networking cannot.
    auto plan = build(one_interface(""));
    REQUIRE(plan.warnings.size() == 1);
    CHECK_THAT(plan.warnings[0], Catch::Contains("spec.domain.devices.interfaces[0]: interface \"default\" lists "
                                                 "no ports"));
    CHECK(build(small).warnings.empty());  // KubeVirt's default interface: nothing the user could have listed

    // The same host port twice: the second port is named.
    CHECK_THAT(build_error(one_interface("ports: [{port: 80}, {name: web, port: 80}]")),
               Catch::Contains("spec.domain.devices.interfaces[0].ports[1]") && Catch::Contains("TCP port 80"));
    LaunchOptions o = options();
    o.host_ports[81] = 80;
    CHECK_THAT(build_error(one_interface("ports: [{port: 80}, {port: 81}]"), {}, o),
               Catch::Contains("ports[1]") && Catch::Contains("already forwarded"));
    // TCP and UDP on one number are two rules.
    CHECK(hostfwd_rules(build(one_interface("ports: [{port: 53}, {port: 53, protocol: UDP}]"))).size() == 2);

    o = options();
    o.host_ports[443] = 8443;
    CHECK_THAT(build_error(one_interface("ports: [{port: 80}]"), {}, o),
               Catch::Contains("--host-port 443=8443") && Catch::Contains("forwards port 443"));
    o = options();
    o.forward_address = "::1";
    CHECK_THAT(build_error(one_interface("ports: [{port: 80}]"), {}, o),
               Catch::Contains("--forward-address") && Catch::Contains("IPv4"));
}

TEST_CASE("ports: KubeVirt's admission rules") {
    CHECK_THAT(build_error(one_interface("ports: [{port: 0}]")), Catch::Contains("ports[0].port"));
    CHECK_THAT(build_error(one_interface("ports: [{port: 65536}]")), Catch::Contains("ports[0].port"));
    CHECK_THAT(build_error(one_interface("ports: [{name: http}]")), Catch::Contains("port"));
    CHECK_THAT(build_error(one_interface("ports: [{port: 80, protocol: SCTP}]")),
               Catch::Contains("ports[0].protocol") && Catch::Contains("SCTP"));
    CHECK_THAT(build_error(one_interface("ports: [{port: 80, protocol: tcp}]")), Catch::Contains("protocol"));
    for (const std::string bad : {"HTTP", "-http", "http-", "h--p", "1234", "a-very-long-port-name"}) {
        CAPTURE(bad);
        CHECK_THAT(build_error(one_interface("ports: [{port: 80, name: '" + bad + "'}]")),
                   Catch::Contains("ports[0].name") && Catch::Contains("not a port name"));
    }
    CHECK_THAT(build_error(one_interface("ports: [{port: 80, name: web}, {port: 81, name: web}]")),
               Catch::Contains("ports[1].name") && Catch::Contains("given twice"));
    CHECK(build(one_interface("ports: [{port: 80, name: h2c-1, protocol: ''}]")).warnings.empty());
}

TEST_CASE("interface state: down starts QEMU paused and sets the link down; absent creates no NIC") {
    auto plan = build(one_interface("ports: [{port: 80}], state: down"));
    CHECK(has_flag(plan.argv, "-S"));
    REQUIRE(plan.startup_commands.size() == 1);
    CHECK(plan.startup_commands[0].execute == "set_link");
    CHECK(json::parse(plan.startup_commands[0].arguments) == json{{"name", "ua-default"}, {"up", false}});
    CHECK(devices(plan.argv, "virtio-net-pci").size() == 1);

    for (const std::string up : {"state: up", "state: ''", "ports: [{port: 80}]"}) {
        plan = build(one_interface(up));
        CHECK_FALSE(has_flag(plan.argv, "-S"));
        CHECK(plan.startup_commands.empty());
    }
    CHECK_THAT(build_error(one_interface("state: sleeping")),
               Catch::Contains("interfaces[0].state") && Catch::Contains("up, down or absent"));

    // absent: only a bridge interface on a secondary network (KubeVirt's admitter).
    CHECK_THAT(build_error(one_interface("state: absent")),
               Catch::Contains("interfaces[0].state") && Catch::Contains("only for bridge"));
    const std::string two = R"(  domain:
    memory: {guest: 256Mi}
    devices:
      interfaces:
      - {name: default, masquerade: {}, ports: [{port: 22}]}
      - {name: br, bridge: {}, state: absent}
  networks:
  - {name: default, pod: {}}
  - {name: br, multus: {networkName: br-net}}
)";
    plan = build(two);  // no tap needed for an interface that is not created
    json expected = masquerade_netdev("net0");
    expected["hostfwd"] = json::array({json{{"str", "tcp:127.0.0.1:22-10.0.2.2:22"}}});
    CHECK(json_values(plan.argv, "-netdev") == std::vector<json>{expected});
    CHECK(devices(plan.argv, "virtio-net-pci").size() == 1);
    CHECK(plan.fds.size() == 2);
    // A bridge interface forwards nothing, so --host-port cannot name its port.
    const std::string bridge_port = R"(  domain:
    memory: {guest: 256Mi}
    devices:
      interfaces:
      - {name: default, masquerade: {}, ports: [{port: 22}]}
      - {name: br, bridge: {}, ports: [{port: 8080}]}
  networks:
  - {name: default, pod: {}}
  - {name: br, multus: {networkName: br-net}}
)";
    LaunchOptions o = options();
    o.tap_fds["br"] = 7;
    CHECK(hostfwd_rules(build(bridge_port, {}, o)) == std::vector<std::string>{"tcp:127.0.0.1:22-10.0.2.2:22"});
    o.host_ports[8080] = 18080;
    CHECK_THAT(build_error(bridge_port, {}, o), Catch::Contains("no interface of the VMI forwards port 8080"));
    const std::string bridge_on_pod = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      interfaces:\n"
                                      "      - {name: default, bridge: {}, state: absent}\n"
                                      "  networks:\n  - {name: default, pod: {}}\n";
    CHECK_THAT(build_error(bridge_on_pod), Catch::Contains("not supported on the pod network"));
}
