// The field policy against KubeVirt's API (vmi/kubevirt_fields.inc, generated
// from KubeVirt's Go types) and against the parser: every field of every
// KubeVirt release has exactly one handling, and the fields called "acted
// on" are the ones the parser reads.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "vmi/field_policy.hpp"
#include "vmi/kubevirt_api.hpp"
#include "vmi/parse.hpp"
#include "vmi/yaml_input.hpp"

using namespace vmi;

namespace {

using Key = std::pair<PolicyScope, std::string>;

std::string show(const Key& k) {
    return (k.first == PolicyScope::virtual_machine ? "VirtualMachine " : "") + k.second;
}

// Records what the parser asks for.
struct Recorder : FieldObserver {
    std::set<Key> taken;
    std::set<Key> ignored;
    void asked(PolicyScope scope, std::string_view path, bool by_ignore) override {
        (by_ignore ? ignored : taken).emplace(scope, std::string(path));
    }
};

const std::string head = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\n"
                         "  namespace: ns\n  uid: 1234\n  labels: {a: b}\n  annotations: {c: d}\n";

// Manifests that between them reach every branch of the parser: each kind of
// disk, binding, volume source, network and bootloader. The parser asks for
// every key of a mapping it reads, present or not.
const std::vector<std::string> probes = {
    head + R"(spec:
  terminationGracePeriodSeconds: 0
  domain:
    cpu: {sockets: 1, cores: 1, threads: 1, model: host-model, dedicatedCpuPlacement: false}
    memory:
      guest: 1Gi
      maxGuest: 1Gi
      hugepages: {pageSize: 2Mi}
    resources:
      requests: {memory: 1Gi, cpu: "1"}
      limits: {memory: 1Gi}
      overcommitGuestOverhead: false
    machine: {type: q35}
    firmware:
      uuid: 5d307ca9-b3ef-428c-8861-06e72d69f223
      serial: abc
      bootloader: {bios: {useSerial: true}}
      kernelBoot:
        kernelArgs: console=ttyS0
        container: {image: k, kernelPath: /boot/vmlinuz, initrdPath: /boot/initrd}
    devices:
      autoattachMemBalloon: true
      autoattachGraphicsDevice: false
      autoattachSerialConsole: true
      autoattachPodInterface: true
      disks:
      - {name: a, volumeName: a, bootOrder: 1, serial: s, cache: none, disk: {bus: virtio, readonly: false}}
      - {name: b, cdrom: {bus: sata, readonly: true, tray: closed}}
      - {name: c, lun: {bus: scsi, readonly: false, reservation: false}}
      interfaces:
      - {name: m, masquerade: {}, model: virtio, macAddress: "02:00:00:00:00:01"}
      - {name: b, bridge: {}}
      - {name: s, slirp: {}}
  networks:
  - {name: m, pod: {}}
  - {name: b, multus: {networkName: n, default: false}}
  volumes:
  - {name: a, containerDisk: {image: i, path: /disk}}
  - {name: b, registryDisk: {image: i}}
  - {name: c, cloudInitNoCloud: {userData: x, networkData: y}}
  - {name: d, cloudInitNoCloud: {userDataBase64: eA==, networkDataBase64: eQ==}}
  - {name: e, emptyDisk: {capacity: 1Gi}}
  - {name: f, hostDisk: {path: /x.img, type: DiskOrCreate, capacity: 1Gi, shared: false}}
  - {name: g, persistentVolumeClaim: {claimName: c, readOnly: false, hotpluggable: false}}
  - {name: h, ephemeral: {persistentVolumeClaim: {claimName: c, readOnly: true}}}
)",
    // Devices, clock, features, ports and link state, scheduling fields.
    head + R"(spec:
  nodeSelector: {disk: ssd}
  affinity: {nodeAffinity: {}, podAffinity: {}, podAntiAffinity: {}}
  tolerations: [{key: k, operator: Exists}]
  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]
  schedulerName: s
  priorityClassName: p
  dnsPolicy: ClusterFirst
  dnsConfig: {nameservers: [10.0.0.1]}
  hostname: h
  subdomain: d
  domain:
    cpu: {cores: 2, dedicatedCpuPlacement: true, isolateEmulatorThread: true}
    memory: {guest: 1Gi}
    clock:
      utc: {offsetSeconds: 10}
      timer:
        hpet: {present: false, tickPolicy: delay}
        hyperv: {present: true}
        kvm: {present: true}
        pit: {present: true, tickPolicy: delay}
        rtc: {present: true, tickPolicy: catchup, track: guest}
    features:
      acpi: {enabled: true}
      apic: {enabled: true, endOfInterrupt: false}
      smm: {enabled: true}
      kvm: {hidden: false}
      pvspinlock: {enabled: true}
      hypervPassthrough: {enabled: false}
      hyperv:
        relaxed: {enabled: true}
        vapic: {enabled: true}
        spinlocks: {enabled: true, spinlocks: 8191}
        vpindex: {enabled: true}
        runtime: {enabled: true}
        synic: {enabled: true}
        synictimer: {enabled: true, direct: {enabled: true}}
        reset: {enabled: true}
        frequencies: {enabled: true}
        reenlightenment: {enabled: true}
        tlbflush: {enabled: true, direct: {enabled: true}, extended: {enabled: true}}
        ipi: {enabled: true}
        evmcs: {enabled: false}
        vendorid: {enabled: true, vendorid: v}
    devices:
      rng: {}
      watchdog: {name: w, i6300esb: {action: poweroff}}
      disks:
      - {name: a, shareable: true, cache: none, disk: {bus: virtio}}
      interfaces:
      - {name: m, masquerade: {}, state: up, ports: [{name: http, port: 80, protocol: TCP}]}
  networks:
  - {name: m, pod: {vmNetworkCIDR: 10.1.0.0/24, vmIPv6NetworkCIDR: "fd10:1::/120"}}
  volumes:
  - {name: a, emptyDisk: {capacity: 1Gi}}
  - {name: c, cloudInitConfigDrive: {userData: x, networkData: y}}
  - {name: d, cloudInitConfigDrive: {userDataBase64: eA==, networkDataBase64: eQ==}}
)",
    head + "spec:\n  domain:\n    clock: {timezone: Europe/Paris}\n",
    head + "spec:\n  domain:\n    firmware:\n      bootloader: {efi: {secureBoot: false}}\n",
    R"(apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm}
spec:
  runStrategy: Once
  dataVolumeTemplates: []
  template:
    metadata: {labels: {a: b}, annotations: {c: d}}
    spec:
      domain: {memory: {guest: 1Gi}}
)",
    R"(apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm}
spec:
  running: true
  template:
    spec:
      domain: {memory: {guest: 1Gi}}
)",
};

Recorder run_probes() {
    Recorder r;
    ScopedFieldObserver observe(r);
    for (const auto& text : probes) {
        INFO(text);
        const VmiSpec spec = parse_vmi(text);
        for (const auto& w : spec.warnings) {
            INFO(w.text());
            CHECK(w.message.find("unknown field") == std::string::npos);
            CHECK(w.message.find("no rule") == std::string::npos);
        }
    }
    return r;
}

// An API field inside a mapping of free keys (resource names) is not a field.
bool is_api_field(const Key& k) { return find_api_field(k.first, k.second) != nullptr; }

}  // namespace

TEST_CASE("the KubeVirt field list holds current and removed fields of both kinds") {
    // Facts of KubeVirt's history the list must reflect: removed fields keep
    // their last release.
    const auto* genie = find_api_field(PolicyScope::vmi, "spec.networks.genie");
    REQUIRE(genie != nullptr);
    CHECK_FALSE(genie->current());
    CHECK(find_api_field(PolicyScope::vmi, "spec.volumes.registryDisk.image") != nullptr);
    CHECK(find_api_field(PolicyScope::vmi, "spec.domain.devices.video.type")->current());
    CHECK(find_api_field(PolicyScope::vmi, "spec.domain.devices.interfaces.passtBinding") != nullptr);
    CHECK(find_api_field(PolicyScope::virtual_machine, "spec.dataVolumeTemplates") != nullptr);
    CHECK(find_api_field(PolicyScope::vmi, "spec.domain.devices.rngg") == nullptr);
    CHECK(kubevirt_api_fields().size() > 400);
    // Looked up by binary search: the generated list is sorted as the launcher compares.
    const auto fields = kubevirt_api_fields();
    CHECK(std::is_sorted(fields.begin(), fields.end(), [](const ApiField& a, const ApiField& b) {
        return a.scope != b.scope ? a.scope < b.scope : a.path < b.path;
    }));
}

TEST_CASE("every field of every KubeVirt release has a handling") {
    std::vector<std::string> missing;
    for (const auto& f : kubevirt_api_fields()) {
        if (classify(f.scope, f.path) == nullptr) missing.push_back(show({f.scope, std::string(f.path)}));
    }
    INFO("fields of KubeVirt's API with no entry in vmi/field_policy.cpp (nor a warned or refused parent):");
    for (const auto& m : missing) INFO(m);
    CHECK(missing.empty());
}

TEST_CASE("every entry of the field policy is a KubeVirt field, listed once") {
    std::set<Key> seen;
    for (const auto& e : field_classes()) {
        const Key k{e.scope, std::string(e.path)};
        INFO(show(k));
        CHECK(is_api_field(k));
        CHECK(seen.insert(k).second);
        CHECK((e.handling == Handling::acted) == e.reason.empty());
    }
}

TEST_CASE("fields called acted on are read by the parser, and the parser reads no warned field") {
    const Recorder r = run_probes();
    for (const auto& e : field_classes()) {
        if (e.handling != Handling::acted) continue;
        const Key k{e.scope, std::string(e.path)};
        INFO("classified acted on but the parser never reads " << show(k));
        CHECK(r.taken.count(k) == 1);
    }
    for (const auto& k : r.taken) {
        if (!is_api_field(k)) continue;  // a resource name, or a key of the launcher's own
        const auto* c = classify(k.first, k.second);
        INFO("the parser reads " << show(k) << ", which the field policy does not call acted on");
        REQUIRE(c != nullptr);
        // A refused field may be read to refuse it more precisely, or to let
        // an empty value pass (dataVolumeTemplates: []); a warned one is not.
        CHECK(c->handling != Handling::warn);
    }
    for (const auto& k : r.ignored) {
        INFO("the parser warns about " << show(k) << ", which the field policy does not know");
        if (is_api_field(k)) CHECK(classify(k.first, k.second) != nullptr);
    }
}
