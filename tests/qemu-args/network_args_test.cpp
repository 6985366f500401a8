// build_launch_plan, network and balloon: KubeVirt's default pod
// interface, user-mode and tap networking, models, MACs; the balloon.
#include <catch2/catch.hpp>

#include "plan_test_support.hpp"

using namespace qemu_test;
using nlohmann::json;

TEST_CASE("network: the default pod interface, none, masquerade, slirp and bridge") {
    // No interfaces and no networks: KubeVirt's default masquerade interface.
    auto argv = build(small).argv;
    CHECK(json_values(argv, "-netdev") == std::vector<json>{{{"type", "user"}, {"id", "net0"}}});
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
          std::vector<json>{{{"type", "user"}, {"id", "net0"}},
                            {{"type", "tap"}, {"id", "net1"}, {"fd", "7"}},
                            {{"type", "user"}, {"id", "net2"}}});
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
