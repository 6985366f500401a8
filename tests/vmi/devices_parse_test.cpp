// Reading and defaulting what KubeVirt does for volumes without disks, the
// RNG, the watchdog, shareable disks, the config drive, clock and features.
#include <catch2/catch.hpp>

#include "error_of.hpp"
#include "vmi/validate.hpp"

using namespace vmi;

namespace {

std::string vmi_with(const std::string& domain_rest, const std::string& volumes = "") {
    return "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\nspec:\n  domain:\n"
           "    memory: {guest: 256Mi}\n" +
           domain_rest + volumes;
}

}  // namespace

TEST_CASE("a volume no disk names gets a virtio disk, as KubeVirt's SetDefaultVolumeDisk does") {
    const VmiSpec spec = load_vmi(vmi_with("    devices: {}\n",
                                           "  volumes:\n"
                                           "  - {name: root, containerDisk: {image: quay.io/x/y}}\n"
                                           "  - {name: seed, cloudInitNoCloud: {userData: hi}}\n"));
    REQUIRE(spec.domain.devices.disks.size() == 2);
    const Disk& root = spec.domain.devices.disks[0];
    CHECK(root.name == "root");
    CHECK(root.kind == DiskKind::disk);
    CHECK(root.bus == DiskBus::virtio);
    CHECK_FALSE(root.readonly);
    CHECK(spec.domain.devices.disks[1].name == "seed");
    CHECK(spec.domain.devices.disks[1].bus == DiskBus::virtio);
}

TEST_CASE("a default disk comes after the disks the VMI gives, which keep their settings") {
    const VmiSpec spec = load_vmi(vmi_with("    devices:\n      disks:\n      - {name: b, cdrom: {bus: sata}}\n",
                                           "  volumes:\n"
                                           "  - {name: a, emptyDisk: {capacity: 1Gi}}\n"
                                           "  - {name: b, containerDisk: {image: x}}\n"));
    REQUIRE(spec.domain.devices.disks.size() == 2);
    CHECK(spec.domain.devices.disks[0].name == "b");
    CHECK(spec.domain.devices.disks[0].kind == DiskKind::cdrom);
    CHECK(spec.domain.devices.disks[1].name == "a");
    CHECK(spec.domain.devices.disks[1].kind == DiskKind::disk);
}

TEST_CASE("rng and watchdog are read; the watchdog's model and action default as KubeVirt's") {
    const VmiSpec spec = load_vmi(vmi_with("    devices:\n      rng: {}\n"
                                           "      watchdog: {name: wd, i6300esb: {action: poweroff}}\n"));
    CHECK(spec.domain.devices.rng);
    REQUIRE(spec.domain.devices.watchdog);
    CHECK(spec.domain.devices.watchdog->name == "wd");
    CHECK(spec.domain.devices.watchdog->action == WatchdogAction::poweroff);
    CHECK(spec.warnings.empty());

    const VmiSpec bare = load_vmi(vmi_with("    devices:\n      watchdog: {name: wd}\n"));
    REQUIRE(bare.domain.devices.watchdog);
    CHECK(bare.domain.devices.watchdog->action == WatchdogAction::reset);
    CHECK_FALSE(load_vmi(vmi_with("    devices: {}\n")).domain.devices.rng);

    CHECK_THAT(test_files::error_of(vmi_with("    devices:\n      watchdog: {name: wd, i6300esb: {action: pause}}\n")),
               Catch::StartsWith("spec.domain.devices.watchdog.i6300esb.action: \"pause\" is not a watchdog action "
                                 "(use poweroff, reset or shutdown)"));
}

TEST_CASE("shareable disks: read, and their cache is none as KubeVirt's converter makes it") {
    const std::string vol = "  volumes:\n  - {name: d, persistentVolumeClaim: {claimName: d}}\n";
    const VmiSpec spec = load_vmi(vmi_with("    devices:\n      disks:\n      - {name: d, shareable: true}\n", vol));
    REQUIRE(spec.domain.devices.disks.size() == 1);
    CHECK(spec.domain.devices.disks[0].shareable);
    CHECK(spec.domain.devices.disks[0].cache == "none");
    CHECK_THAT(test_files::error_of(vmi_with(
                   "    devices:\n      disks:\n      - {name: d, shareable: true, cache: writeback}\n", vol)),
               Catch::Contains("disk \"d\": a shareable disk needs cache none, not writeback"));
}

TEST_CASE("cloudInitConfigDrive is read as a config drive seed; its Secret references are refused by name") {
    const VmiSpec spec = load_vmi(vmi_with(
        "", "  volumes:\n  - {name: cd, cloudInitConfigDrive: {userData: \"#cloud-config\\n\", networkData: net}}\n"));
    REQUIRE(spec.volumes.size() == 1);
    const auto* seed = std::get_if<CloudInitNoCloudSource>(&spec.volumes[0].source);
    REQUIRE(seed);
    CHECK(seed->config_drive);
    CHECK(seed->user_data == "#cloud-config\n");
    CHECK(seed->network_data == "net");
    CHECK_THAT(test_files::error_of(vmi_with(
                   "", "  volumes:\n  - {name: cd, cloudInitConfigDrive: {secretRef: {name: s}}}\n")),
               Catch::Contains("KubeVirt's cloudInitConfigDrive.secretRef is not supported by vmi-launcher"));
}

TEST_CASE("clock: utc with an offset, timers with their policies; timezone is read and said to be not applied") {
    const VmiSpec spec = load_vmi(vmi_with("    clock:\n      utc: {offsetSeconds: -3600}\n      timer:\n"
                                           "        rtc: {tickPolicy: catchup, track: guest}\n"
                                           "        hpet: {present: false}\n        pit: {tickPolicy: delay}\n"
                                           "        hyperv: {}\n        kvm: {present: false}\n"));
    const Clock& c = spec.domain.clock;
    CHECK(c.utc);
    CHECK(c.utc_offset_seconds == -3600);
    REQUIRE(c.rtc);
    CHECK(c.rtc->tick_policy == "catchup");
    CHECK(c.rtc->track == "guest");
    REQUIRE(c.hpet);
    CHECK_FALSE(c.hpet->present);
    REQUIRE(c.pit);
    CHECK(c.pit->present);
    CHECK(c.pit->tick_policy == "delay");
    REQUIRE(c.hyperv);
    CHECK(c.hyperv->present);
    REQUIRE(c.kvm);
    CHECK_FALSE(c.kvm->present);
    CHECK(spec.warnings.empty());

    const VmiSpec tz = load_vmi(vmi_with("    clock: {timezone: Europe/Paris}\n"));
    CHECK(tz.domain.clock.timezone == "Europe/Paris");
    REQUIRE(tz.warnings.size() == 1);
    CHECK(tz.warnings[0].path == "spec.domain.clock.timezone");

    CHECK_THAT(test_files::error_of(vmi_with("    clock: {utc: {}, timezone: UTC}\n")),
               Catch::StartsWith("spec.domain.clock.timezone: give only one of utc and timezone"));
    CHECK_THAT(test_files::error_of(vmi_with("    clock:\n      timer:\n        rtc: {tickPolicy: merge}\n")),
               Catch::Contains("spec.domain.clock.timer.rtc.tickPolicy: \"merge\" is not an RTC tick policy"));
}

TEST_CASE("features: acpi, smm, kvm.hidden and Hyper-V, with KubeVirt's dependencies and spinlock default") {
    const VmiSpec spec = load_vmi(vmi_with("    features:\n      acpi: {enabled: false}\n      smm: {}\n"
                                           "      kvm: {hidden: true}\n"
                                           "      hyperv:\n        relaxed: {}\n        spinlocks: {}\n"
                                           "        synictimer: {direct: {}}\n        ipi: {enabled: false}\n"
                                           "        vendorid: {vendorid: KubeVirt}\n"));
    const Features& f = spec.domain.features;
    CHECK_FALSE(f.acpi);
    CHECK(f.smm == true);
    CHECK(f.kvm_hidden);
    REQUIRE(f.hyperv);
    const Hyperv& h = *f.hyperv;
    CHECK(h.relaxed == true);
    CHECK(h.spinlocks == true);
    CHECK(h.spinlock_retries == 4096u);  // KubeVirt's SetDefaults_FeatureSpinlocks
    CHECK(h.synic_timer == true);
    CHECK(h.synic_timer_direct == true);
    // synictimer needs synic, which needs vpindex: both turned on.
    CHECK(h.synic == true);
    CHECK(h.vpindex == true);
    CHECK(h.ipi == false);
    CHECK(h.vendor_id_enabled == true);
    CHECK(h.vendor_id == "KubeVirt");
    CHECK(spec.warnings.empty());

    CHECK(load_vmi(vmi_with("    features:\n      hyperv:\n        spinlocks: {spinlocks: 8191}\n"))
              .domain.features.hyperv->spinlock_retries == 8191u);
    CHECK(test_files::error_of(vmi_with("    features:\n      hyperv:\n        vpindex: {enabled: false}\n"
                                        "        ipi: {}\n")) ==
          "spec.domain.features.hyperv.ipi: ipi requires spec.domain.features.hyperv.vpindex, which is disabled");
    CHECK_THAT(test_files::error_of(vmi_with("    features:\n      hyperv:\n"
                                             "        vendorid: {vendorid: much-too-long-id}\n")),
               Catch::Contains("is not a Hyper-V vendor id"));
}
