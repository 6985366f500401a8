// build_launch_plan for what KubeVirt does with devices, clock and features:
// default disks for volumes, the RNG, the watchdog, shareable disks, the
// config drive, Hyper-V and KVM CPU flags, the machine's timers, the RTC.
#include <catch2/catch.hpp>

#include "plan_test_support.hpp"

using namespace qemu_test;
using nlohmann::json;

TEST_CASE("a volume without a disk is attached as a virtio disk") {
    const std::string body = "  domain:\n    memory: {guest: 256Mi}\n    devices: {}\n"
                             "  volumes:\n  - {name: root, persistentVolumeClaim: {claimName: root}}\n";
    ResolvedSources s;
    s.volumes = {resolved("root", "/v/root.img")};
    const auto argv = build(body, s).argv;
    CHECK(devices(argv, "virtio-blk-pci") ==
          std::vector<json>{{{"driver", "virtio-blk-pci"}, {"id", "ua-root"}, {"drive", "vol0"}}});
    CHECK(blockdev(argv, "vol0-file")["filename"] == "/v/root.img");
}

TEST_CASE("rng: a virtio-rng-pci reading /dev/urandom") {
    const auto argv = build(small + "    devices:\n      rng: {}\n").argv;
    CHECK(json_values(argv, "-object").size() == 2);  // the RAM backend and the RNG's
    CHECK(json_values(argv, "-object")[1] == json{{"qom-type", "rng-random"}, {"id", "rng0"}, {"filename", "/dev/urandom"}});
    CHECK(devices(argv, "virtio-rng-pci") ==
          std::vector<json>{{{"driver", "virtio-rng-pci"}, {"id", "rng0-dev"}, {"rng", "rng0"}}});
    CHECK(devices(build(small).argv, "virtio-rng-pci").empty());
}

TEST_CASE("watchdog: an i6300esb and QEMU's watchdog action for each of KubeVirt's") {
    for (const std::string action : {"poweroff", "reset", "shutdown"}) {
        INFO(action);
        const auto argv =
            build(small + "    devices:\n      watchdog: {name: wd1, i6300esb: {action: " + action + "}}\n").argv;
        CHECK(devices(argv, "i6300esb") == std::vector<json>{{{"driver", "i6300esb"}, {"id", "ua-wd1"}}});
        CHECK(values_of(argv, "-action") == std::vector<std::string>{"watchdog=" + action});
    }
    const auto argv = build(small + "    devices:\n      watchdog: {name: wd1}\n").argv;
    CHECK(values_of(argv, "-action") == std::vector<std::string>{"watchdog=reset"});
    CHECK(values_of(build(small).argv, "-action").empty());
}

TEST_CASE("a shareable disk's device has share-rw and its nodes bypass the host cache") {
    const std::string body = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                             "      - {name: shared, shareable: true, disk: {bus: scsi}}\n"
                             "      - {name: own, disk: {}}\n"
                             "  volumes:\n  - {name: shared, persistentVolumeClaim: {claimName: s}}\n"
                             "  - {name: own, persistentVolumeClaim: {claimName: o}}\n";
    ResolvedSources s;
    s.volumes = {resolved("shared", "/v/shared.img"), resolved("own", "/v/own.img")};
    const auto argv = build(body, s).argv;
    REQUIRE(devices(argv, "scsi-hd").size() == 1);
    CHECK(devices(argv, "scsi-hd")[0]["share-rw"] == true);
    CHECK(blockdev(argv, "vol0-file")["cache"] == json{{"direct", true}, {"no-flush", false}});
    REQUIRE(devices(argv, "virtio-blk-pci").size() == 1);
    CHECK_FALSE(devices(argv, "virtio-blk-pci")[0].contains("share-rw"));
}

TEST_CASE("cloudInitConfigDrive: a config-2 seed with OpenStack's files, attached like the NoCloud seed") {
    const std::string body =
        "  domain:\n    memory: {guest: 256Mi}\n    firmware: {uuid: 5d307ca9-b3ef-428c-8861-06e72d69f223}\n"
        "  volumes:\n  - {name: cd, cloudInitConfigDrive: {userData: \"#cloud-config\\n\", networkData: \"{}\"}}\n";
    const auto plan = build(body);
    REQUIRE(plan.prepare.size() == 1);
    const PrepareStep& step = plan.prepare[0];
    CHECK(step.kind == PrepareStep::Kind::config_drive);
    CHECK(step.path == state + "/config-2.iso");
    CHECK(step.files == std::map<std::string, std::string>{
                            {"openstack/latest/meta_data.json",
                             "{\"instance_id\":\"t.default\",\"local_hostname\":\"t\",\"hostname\":\"t\","
                             "\"uuid\":\"5d307ca9-b3ef-428c-8861-06e72d69f223\"}\n"},
                            {"openstack/latest/user_data", "#cloud-config\n"},
                            {"openstack/latest/network_data.json", "{}"},
                        });
    CHECK(blockdev(plan.argv, "vol0-file")["filename"] == state + "/config-2.iso");
    CHECK(blockdev(plan.argv, "vol0")["read-only"] == true);
    CHECK(devices(plan.argv, "virtio-blk-pci").size() == 1);
}

TEST_CASE("a NoCloud seed and a config drive together each get their own file") {
    const std::string body = small + "  volumes:\n  - {name: a, cloudInitNoCloud: {userData: x}}\n"
                                     "  - {name: b, cloudInitConfigDrive: {userData: y}}\n";
    const auto plan = build(body);
    REQUIRE(plan.prepare.size() == 2);
    CHECK(plan.prepare[0].path == state + "/cidata.iso");
    CHECK(plan.prepare[0].kind == PrepareStep::Kind::cloud_init);
    CHECK(plan.prepare[1].path == state + "/config-2.iso");
    CHECK(plan.prepare[1].files.at("openstack/latest/user_data") == "y");
}

namespace {

const std::string windows = R"(    features:
      kvm: {hidden: true}
      pvspinlock: {enabled: false}
      hyperv:
        relaxed: {}
        vapic: {}
        spinlocks: {spinlocks: 8191}
        synictimer: {direct: {}}
        reset: {}
        frequencies: {}
        reenlightenment: {}
        tlbflush: {}
        ipi: {}
        runtime: {}
        evmcs: {enabled: false}
        vendorid: {vendorid: KubeVirt}
    clock:
      utc: {}
      timer:
        hyperv: {}
)";

}  // namespace

TEST_CASE("Hyper-V and KVM features become -cpu flags under KVM, as libvirt writes them") {
    const auto argv = build(small + windows, {}, options(vmi::Accel::kvm)).argv;
    CHECK(value_of(argv, "-cpu") ==
          "host,hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff,hv-vpindex=on,hv-runtime=on,hv-synic=on,hv-stimer=on,"
          "hv-stimer-direct=on,hv-reset=on,hv-vendor-id=KubeVirt,hv-frequencies=on,hv-reenlightenment=on,"
          "hv-tlbflush=on,hv-ipi=on,hv-time=on,kvm=off,kvm-pv-unhalt=off");
}

TEST_CASE("under TCG the Hyper-V and KVM flags are left out, and the plan says so") {
    const auto plan = build(small + windows);
    CHECK(value_of(plan.argv, "-cpu") == "max");
    REQUIRE(plan.warnings.size() == 2);
    CHECK_THAT(plan.warnings[0], Catch::StartsWith("spec.domain.features.hyperv: Hyper-V enlightenments need KVM; "
                                                   "not applied under TCG (hv-relaxed=on,"));
    CHECK_THAT(plan.warnings[1], Catch::Contains("(kvm=off,kvm-pv-unhalt=off)"));
}

TEST_CASE("features and timers that are machine properties: acpi, smm, hpet, pit") {
    const auto argv = build(small + "    features:\n      acpi: {enabled: false}\n      smm: {}\n"
                                    "    clock:\n      timer:\n        hpet: {present: false}\n"
                                    "        pit: {present: false}\n")
                          .argv;
    CHECK(value_of(argv, "-machine") ==
          "type=q35,memory-backend=ram0,dump-guest-core=off,acpi=off,smm=on,hpet=off,pit=off");
    CHECK(value_of(build(small).argv, "-machine") == "type=q35,memory-backend=ram0,dump-guest-core=off");
}

TEST_CASE("clock: -rtc from utc, its offset against the wall clock, the RTC's track and tick policy") {
    CHECK(value_of(build(small).argv, "-rtc").empty());
    CHECK(value_of(build(small + "    clock: {utc: {}}\n").argv, "-rtc") == "base=utc");

    LaunchOptions o = options();
    o.wall_clock_seconds = 1577934245;  // 2020-01-02T03:04:05Z
    const auto argv = build(small + "    clock:\n      utc: {offsetSeconds: 90061}\n      timer:\n"
                                    "        rtc: {tickPolicy: catchup, track: guest}\n",
                            {}, o)
                          .argv;
    CHECK(value_of(argv, "-rtc") == "base=2020-01-03T04:05:06,clock=vm,driftfix=slew");
    o.wall_clock_seconds = 0;
    CHECK(value_of(build(small + "    clock: {utc: {offsetSeconds: -1}}\n", {}, o).argv, "-rtc") ==
          "base=1969-12-31T23:59:59");
    CHECK(value_of(build(small + "    clock:\n      timer:\n        rtc: {tickPolicy: delay, track: wall}\n").argv,
                   "-rtc") == "clock=host,driftfix=none");
}

TEST_CASE("the PIT's tick policy is the in-kernel PIT's under KVM, and said not to apply under TCG") {
    const std::string body = small + "    clock:\n      timer:\n        pit: {tickPolicy: delay}\n";
    CHECK(values_of(build(body, {}, options(vmi::Accel::kvm)).argv, "-global") ==
          std::vector<std::string>{"kvm-pit.lost_tick_policy=discard"});
    const auto tcg = build(body);
    CHECK(values_of(tcg.argv, "-global").empty());
    REQUIRE(tcg.warnings.size() == 1);
    CHECK_THAT(tcg.warnings[0], Catch::StartsWith("spec.domain.clock.timer.pit.tickPolicy: not applied under TCG"));
}
