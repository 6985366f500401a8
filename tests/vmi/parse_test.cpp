// Parsing: every field the launcher acts on lands in the typed spec, and
// every field it does not act on is reported by its path.
#include <catch2/catch.hpp>

#include <algorithm>

#include "vmi/base64.hpp"
#include "vmi/validate.hpp"

using namespace vmi;

namespace {

bool has_warning(const VmiSpec& spec, const std::string& path) {
    return std::any_of(spec.warnings.begin(), spec.warnings.end(), [&](const Warning& w) { return w.path == path; });
}

const char* full_v1 = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: web
  namespace: prod
  uid: 1234-5678
  labels:
    app: web
  annotations:
    note: "hello"
spec:
  terminationGracePeriodSeconds: 45
  nodeSelector:
    disk: ssd
  domain:
    cpu:
      sockets: 1
      cores: 2
      threads: 1
      model: Haswell-noTSX
    memory:
      guest: 2Gi
    resources:
      requests:
        memory: 1Gi
        cpu: 500m
      limits:
        memory: 4Gi
        cpu: "2"
      overcommitGuestOverhead: true
    firmware:
      uuid: 5d307ca9-b3ef-428c-8861-06e72d69f223
      serial: e4686d2c-6e8d-4335-b8fd-81bee22f4814
      bootloader:
        efi:
          secureBoot: false
    machine:
      type: q35
    devices:
      autoattachMemBalloon: false
      autoattachGraphicsDevice: false
      disks:
      - name: root
        bootOrder: 1
        cache: none
        serial: ROOT1
        disk:
          bus: virtio
      - name: iso
        cdrom:
          bus: sata
      - name: scratch
        disk:
          bus: scsi
          readonly: true
      - name: data
        lun: {}
      - name: ci
        disk: {}
      interfaces:
      - name: default
        masquerade: {}
        macAddress: "02:00:00:00:00:01"
      - name: lan
        bridge: {}
        model: e1000
  networks:
  - name: default
    pod: {}
  - name: lan
    multus:
      networkName: lan-net
  volumes:
  - name: root
    containerDisk:
      image: quay.io/containerdisks/fedora:40
      path: /disk/fedora.qcow2
  - name: iso
    hostDisk:
      path: /srv/iso/tools.iso
      type: Disk
  - name: scratch
    emptyDisk:
      capacity: 2Gi
  - name: data
    persistentVolumeClaim:
      claimName: data-pvc
      readOnly: true
  - name: ci
    cloudInitNoCloud:
      userDataBase64: I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogd2ViCg==
      networkData: |
        version: 2
)";

}  // namespace

TEST_CASE("a full kubevirt.io/v1 VMI parses into typed values") {
    const VmiSpec spec = load_vmi(full_v1);
    CHECK(spec.api_version == "kubevirt.io/v1");
    CHECK_FALSE(spec.from_virtual_machine);
    CHECK(spec.metadata.name == "web");
    CHECK(spec.metadata.namespace_name == "prod");
    CHECK(spec.metadata.uid == "1234-5678");
    CHECK(spec.metadata.labels == std::map<std::string, std::string>{{"app", "web"}});
    CHECK(spec.metadata.annotations.at("note") == "hello");
    CHECK(spec.termination_grace_period_seconds == 45);

    const Domain& d = spec.domain;
    CHECK(d.cpu == Cpu{1, 2, 1, "Haswell-noTSX", false});
    CHECK(spec.vcpus() == 2);
    CHECK(d.memory.guest->value.bytes() == gib(2));
    CHECK(d.resources.requests.memory->value.bytes() == gib(1));
    CHECK(d.resources.requests.cpu->value.millis() == 500);
    CHECK(d.resources.limits.memory->value.bytes() == gib(4));
    CHECK(d.resources.limits.cpu->value.millis() == 2000);
    CHECK(d.resources.overcommit_guest_overhead);
    CHECK(d.firmware.uuid == "5d307ca9-b3ef-428c-8861-06e72d69f223");
    CHECK(d.firmware.serial == "e4686d2c-6e8d-4335-b8fd-81bee22f4814");
    CHECK(d.firmware.bootloader == Bootloader::efi);
    CHECK(d.machine_type == "q35");
    CHECK_FALSE(d.devices.autoattach_mem_balloon);
    CHECK_FALSE(d.devices.autoattach_graphics_device);
    CHECK(d.devices.autoattach_serial_console);

    REQUIRE(d.devices.disks.size() == 5);
    Disk root;
    root.name = "root";
    root.bus = DiskBus::virtio;
    root.boot_order = 1;
    root.cache = "none";
    root.serial = "ROOT1";
    CHECK(d.devices.disks[0] == root);
    CHECK(d.devices.disks[1].kind == DiskKind::cdrom);
    CHECK(d.devices.disks[1].readonly);
    CHECK(d.devices.disks[2].bus == DiskBus::scsi);
    CHECK(d.devices.disks[2].readonly);
    CHECK(d.devices.disks[3].kind == DiskKind::lun);
    CHECK(d.devices.disks[3].bus == DiskBus::scsi);

    REQUIRE(d.devices.interfaces.size() == 2);
    CHECK(d.devices.interfaces[0].binding == InterfaceBinding::masquerade);
    CHECK(d.devices.interfaces[0].mac_address == "02:00:00:00:00:01");
    CHECK(d.devices.interfaces[1].binding == InterfaceBinding::bridge);
    CHECK(d.devices.interfaces[1].model == "e1000");
    REQUIRE(spec.networks.size() == 2);
    CHECK(spec.networks[0] == Network{"default", true, "", "", "", {}, {}});
    CHECK(spec.networks[1] == Network{"lan", false, "lan-net", "", "", {}, {}});

    REQUIRE(spec.volumes.size() == 5);
    CHECK(std::get<ContainerDiskSource>(spec.volumes[0].source) ==
          ContainerDiskSource{"quay.io/containerdisks/fedora:40", "/disk/fedora.qcow2", false});
    CHECK(std::get<HostDiskSource>(spec.volumes[1].source).path == "/srv/iso/tools.iso");
    CHECK_FALSE(std::get<HostDiskSource>(spec.volumes[1].source).create);
    CHECK(std::get<EmptyDiskSource>(spec.volumes[2].source).capacity.value.bytes() == gib(2));
    CHECK(std::get<PersistentVolumeClaimSource>(spec.volumes[3].source) ==
          PersistentVolumeClaimSource{"data-pvc", true, false});
    const auto& ci = std::get<CloudInitNoCloudSource>(spec.volumes[4].source);
    CHECK(ci.user_data == "#cloud-config\nhostname: web\n");
    CHECK(ci.network_data == "version: 2\n");

    CHECK(has_warning(spec, "spec.nodeSelector"));
}

TEST_CASE("the 2018 v1alpha2 spelling: registryDisk and disks' volumeName") {
    const VmiSpec spec = load_vmi(R"(apiVersion: kubevirt.io/v1alpha2
kind: VirtualMachineInstance
metadata:
  name: old
spec:
  domain:
    resources:
      requests:
        memory: 64M
    devices:
      disks:
      - name: mydisk
        volumeName: myvolume
        disk:
          bus: virtio
  volumes:
  - name: myvolume
    registryDisk:
      image: kubevirt/cirros-registry-disk-demo:latest
)");
    REQUIRE(spec.domain.devices.disks.size() == 1);
    CHECK(spec.domain.devices.disks[0].name == "myvolume");
    const auto& source = std::get<ContainerDiskSource>(spec.volumes[0].source);
    CHECK(source.legacy_registry_disk);
    CHECK(source.image == "kubevirt/cirros-registry-disk-demo:latest");
}

TEST_CASE("a VirtualMachine is read through its template") {
    const VmiSpec spec = load_vmi(R"(apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: vm1
  namespace: team
  labels:
    owner: me
spec:
  runStrategy: Always
  template:
    metadata:
      labels:
        kubevirt.io/vm: vm1
    spec:
      domain:
        memory:
          guest: 512Mi
        devices: {}
)");
    CHECK(spec.from_virtual_machine);
    CHECK(spec.metadata.name == "vm1");
    CHECK(spec.metadata.namespace_name == "team");
    // KubeVirt gives the VMI the template's labels, not the VirtualMachine's.
    CHECK(spec.metadata.labels.size() == 1);
    CHECK(spec.metadata.labels.at("kubevirt.io/vm") == "vm1");
    CHECK(has_warning(spec, "metadata.labels"));
    CHECK(spec.domain.memory.guest->value.bytes() == mib(512));
    CHECK(has_warning(spec, "spec.runStrategy"));
}

TEST_CASE("fields not acted on: harmless ones warn, ones that change the VM are errors") {
    const std::string head =
        "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\n"
        "  creationTimestamp: null\n  foo: bar\nspec:\n  livenessProbe: {}\n  domain:\n"
        "    memory:\n      guest: 1Gi\n";
    const VmiSpec spec = load_vmi(head);
    CHECK(has_warning(spec, "metadata.creationTimestamp"));
    CHECK(has_warning(spec, "metadata.foo"));  // unknown metadata is harmless
    CHECK(has_warning(spec, "spec.livenessProbe"));

    CHECK_THROWS_WITH(load_vmi(head + "    launchSecurity:\n      sev: {}\n"),
                      Catch::Contains("spec.domain.launchSecurity: KubeVirt's spec.domain.launchSecurity is not supported by "
                                     "vmi-launcher: confidential computing"));
    CHECK_THROWS_WITH(load_vmi(head + "    cpu:\n      features:\n      - name: pcid\n"),
                      Catch::Contains("spec.domain.cpu.features"));
}

TEST_CASE("base64 round trip") {
    for (std::string s : {"", "a", "ab", "abc", "abcd", "#cloud-config\nhostname: x\n"}) {
        CHECK(base64_decode(base64_encode(s)) == s);
    }
    CHECK_FALSE(base64_decode("abc").has_value());
    CHECK_FALSE(base64_decode("ab=c").has_value());
    CHECK(base64_decode("YWI=\n") == "ab");
}
