// The typed VirtualMachineInstance: what the launcher reads from the YAML.
// Plain values; absent fields are std::nullopt; every field the launcher
// acts on is here, everything else was reported while parsing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "vmi/errors.hpp"
#include "vmi/quantity.hpp"

namespace vmi {

// A quantity with the place it was written, so validation can point at it.
struct QuantityField {
    Quantity value;
    FieldRef where;
    bool operator==(const QuantityField& other) const { return value == other.value; }
};

struct Metadata {
    std::string name;
    std::string namespace_name;  // "default" when absent
    std::string uid;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    FieldRef name_ref;
    FieldRef namespace_ref;
    bool operator==(const Metadata& o) const {
        return name == o.name && namespace_name == o.namespace_name && uid == o.uid && labels == o.labels &&
               annotations == o.annotations;
    }
};

struct Cpu {
    // 0 means "not given"; defaults make them at least 1.
    std::uint32_t sockets = 0;
    std::uint32_t cores = 0;
    std::uint32_t threads = 0;
    std::string model;  // empty: the default for the accelerator
    bool dedicated_cpu_placement = false;
    bool isolate_emulator_thread = false;  // one more dedicated CPU for QEMU's own threads
    bool operator==(const Cpu&) const = default;
};

struct Memory {
    std::optional<QuantityField> guest;
    std::optional<QuantityField> hugepages_page_size;
    std::optional<QuantityField> max_guest;
    bool operator==(const Memory&) const = default;
};

struct ResourceList {
    std::optional<QuantityField> memory;
    std::optional<QuantityField> cpu;
    bool operator==(const ResourceList&) const = default;
};

struct Resources {
    ResourceList requests;
    ResourceList limits;
    bool overcommit_guest_overhead = false;
    bool operator==(const Resources&) const = default;
};

struct KernelBoot {
    std::string kernel_args;
    std::string image;        // the container image holding the kernel
    std::string kernel_path;  // inside that image
    std::string initrd_path;  // inside that image; empty when none
    bool operator==(const KernelBoot&) const = default;
};

enum class Bootloader { bios, efi };

struct Firmware {
    std::string uuid;
    std::string serial;
    std::optional<Bootloader> bootloader;
    bool secure_boot = false;
    std::optional<KernelBoot> kernel_boot;
    bool operator==(const Firmware&) const = default;
};

enum class DiskKind { disk, cdrom, lun };
enum class DiskBus { virtio, sata, scsi, usb };

struct Disk {
    std::string name;  // the volume it shows (2018's volumeName, else name)
    DiskKind kind = DiskKind::disk;
    std::optional<DiskBus> bus;  // defaulted by validation
    bool readonly = false;
    std::optional<std::uint32_t> boot_order;
    std::string serial;
    std::string cache;  // "", none, writethrough, writeback
    // devices helper (issue 12): several VMs may open the disk read-write (share-rw).
    bool shareable = false;
    FieldRef where;
    FieldRef name_ref;  // the name (or 2018's volumeName) field
    bool operator==(const Disk& o) const {
        return name == o.name && kind == o.kind && bus == o.bus && readonly == o.readonly &&
               boot_order == o.boot_order && serial == o.serial && cache == o.cache && shareable == o.shareable;
    }
};

enum class InterfaceBinding { masquerade, bridge, slirp };

// interfaces[].ports[]: a port KubeVirt forwards from the pod to the guest.
enum class PortProtocol { tcp, udp };
struct Port {
    std::string name;  // optional
    PortProtocol protocol = PortProtocol::tcp;
    std::uint16_t port = 0;  // 1-65535
    FieldRef where;
    bool operator==(const Port& o) const { return name == o.name && protocol == o.protocol && port == o.port; }
};

// interfaces[].state: `up` (also when empty), `down` (link down from the
// start), `absent` (the interface is not created).
enum class InterfaceState { up, down, absent };

struct Interface {
    std::string name;
    InterfaceBinding binding = InterfaceBinding::masquerade;
    std::string model;  // empty means virtio
    std::string mac_address;
    std::vector<Port> ports;
    InterfaceState state = InterfaceState::up;
    FieldRef where;
    FieldRef state_ref;
    bool operator==(const Interface& o) const {
        return name == o.name && binding == o.binding && model == o.model && mac_address == o.mac_address &&
               ports == o.ports && state == o.state;
    }
};

// ---- devices helper (issue 12): rng, watchdog, clock, features ----
// KubeVirt's WatchdogAction; the default (KubeVirt's too) is reset.
enum class WatchdogAction { poweroff, reset, shutdown };

struct Watchdog {
    std::string name;
    WatchdogAction action = WatchdogAction::reset;
    FieldRef where;
    bool operator==(const Watchdog& o) const { return name == o.name && action == o.action; }
};

// One of clock.timer's timers; absent timers keep QEMU's defaults.
struct ClockTimer {
    bool present = true;      // `enabled`, default true
    std::string tick_policy;  // "", delay, catchup, merge, discard
    std::string track;        // rtc only: "", guest, wall
    FieldRef where;
    bool operator==(const ClockTimer& o) const {
        return present == o.present && tick_policy == o.tick_policy && track == o.track;
    }
};

struct Clock {
    bool utc = false;                                   // clock.utc given
    std::optional<std::int64_t> utc_offset_seconds;     // clock.utc.offsetSeconds
    std::string timezone;                               // clock.timezone
    std::optional<ClockTimer> rtc, pit, kvm, hpet, hyperv;
    FieldRef where;
    bool operator==(const Clock& o) const {
        return utc == o.utc && utc_offset_seconds == o.utc_offset_seconds && timezone == o.timezone && rtc == o.rtc &&
               pit == o.pit && kvm == o.kvm && hpet == o.hpet && hyperv == o.hyperv;
    }
};

// features.hyperv: each enlightenment absent (nullopt), on or off.
struct Hyperv {
    std::optional<bool> relaxed, vapic, vpindex, runtime, synic, synic_timer, synic_timer_direct, reset, frequencies,
        reenlightenment, tlbflush, tlbflush_direct, tlbflush_extended, ipi, evmcs, spinlocks, vendor_id_enabled;
    std::optional<std::uint32_t> spinlock_retries;  // defaulted to 4096 by validation, as KubeVirt does
    std::string vendor_id;
    bool operator==(const Hyperv&) const = default;
};

struct Features {
    bool acpi = true;                // features.acpi.enabled (default true)
    std::optional<bool> apic, smm;   // absent: the machine's default
    std::optional<bool> apic_eoi;    // features.apic.endOfInterrupt
    bool kvm_hidden = false;         // features.kvm.hidden
    std::optional<bool> pvspinlock;  // features.pvspinlock.enabled
    std::optional<Hyperv> hyperv;
    bool hyperv_passthrough = false;  // features.hypervPassthrough.enabled
    FieldRef where;
    bool operator==(const Features& o) const {
        return acpi == o.acpi && apic == o.apic && apic_eoi == o.apic_eoi && smm == o.smm &&
               kvm_hidden == o.kvm_hidden && pvspinlock == o.pvspinlock && hyperv == o.hyperv &&
               hyperv_passthrough == o.hyperv_passthrough;
    }
};
// ---- end devices helper ----

struct Devices {
    std::vector<Disk> disks;
    std::vector<Interface> interfaces;
    bool autoattach_mem_balloon = true;
    bool autoattach_graphics_device = true;
    bool autoattach_serial_console = true;
    bool autoattach_pod_interface = true;
    // devices helper (issue 12): a virtio-rng-pci fed from /dev/urandom; an i6300esb watchdog.
    bool rng = false;
    std::optional<Watchdog> watchdog;
    bool operator==(const Devices&) const = default;
};

struct Domain {
    Cpu cpu;
    Memory memory;
    Resources resources;
    Firmware firmware;
    std::string machine_type;  // empty: q35
    Devices devices;
    // devices helper (issue 12)
    Clock clock;
    Features features;
    // Where the domain is in the document, for messages about fields it lacks
    // or about several of its fields: spec.template.spec.domain in a VirtualMachine.
    std::string path = "spec.domain";
    bool operator==(const Domain&) const = default;
};

struct ContainerDiskSource {
    std::string image;
    std::string path;  // inside the image; empty: KubeVirt's lookup in /disk
    bool legacy_registry_disk = false;  // written as 2018's registryDisk
    bool operator==(const ContainerDiskSource&) const = default;
};

struct CloudInitNoCloudSource {
    std::string user_data;     // decoded when given as userDataBase64
    std::string network_data;  // decoded when given as networkDataBase64
    // devices helper (issue 12): written as cloudInitConfigDrive: the same
    // data as an OpenStack config drive (ISO labelled config-2).
    bool config_drive = false;
    bool operator==(const CloudInitNoCloudSource&) const = default;
};

struct EmptyDiskSource {
    QuantityField capacity;
    bool operator==(const EmptyDiskSource&) const = default;
};

struct HostDiskSource {
    std::string path;
    bool create = false;  // type DiskOrCreate
    std::optional<QuantityField> capacity;
    bool operator==(const HostDiskSource&) const = default;
};

struct PersistentVolumeClaimSource {
    std::string claim_name;
    bool read_only = false;
    bool ephemeral = false;  // written as `ephemeral`: writes go to an overlay
    bool operator==(const PersistentVolumeClaimSource&) const = default;
};

using VolumeSource = std::variant<ContainerDiskSource, CloudInitNoCloudSource, EmptyDiskSource, HostDiskSource,
                                  PersistentVolumeClaimSource>;

struct Volume {
    std::string name;
    VolumeSource source;
    FieldRef where;
    FieldRef name_ref;
    bool operator==(const Volume& o) const { return name == o.name && source == o.source; }
};

struct Network {
    std::string name;
    bool pod = true;                // pod network, else multus
    std::string multus_network_name;
    // pod.vmNetworkCIDR / vmIPv6NetworkCIDR as written; empty: KubeVirt's
    // 10.0.2.0/24 and fd10:0:2::/120.
    std::string vm_network_cidr;
    std::string vm_ipv6_network_cidr;
    FieldRef vm_network_cidr_ref;
    FieldRef vm_ipv6_network_cidr_ref;
    bool operator==(const Network& o) const {
        return name == o.name && pod == o.pod && multus_network_name == o.multus_network_name &&
               vm_network_cidr == o.vm_network_cidr && vm_ipv6_network_cidr == o.vm_ipv6_network_cidr;
    }
};

// What KubeVirt's overhead formula looks at beyond memory and CPUs. The
// parser fills the probes (kubelet runs them; the launcher warns and counts
// them); the other fields are refused while parsing today, because the
// launcher cannot give the VM those devices, so only a spec built in code
// carries them. The kubevirt overhead models count them all as KubeVirt does.
struct OverheadInputs {
    bool liveness_probe_exec = false;   // spec.livenessProbe.exec
    bool readiness_probe_exec = false;  // spec.readinessProbe.exec
    bool downward_metrics_volume = false;
    bool tpm = false;      // devices.tpm, unless enabled: false
    bool sev = false;      // launchSecurity.sev
    bool sev_snp = false;  // launchSecurity.snp
    bool vfio = false;     // gpus, hostDevices or an sriov interface
    std::optional<QuantityField> reserved_overhead;  // memory.reservedOverhead.addedOverhead
    bool operator==(const OverheadInputs&) const = default;
};

// The Pod fields KubeVirt copies from the VMI into the virt-launcher Pod
// (pkg/virt-controller/services/template.go). `pod` copies them; `run`
// launches on this host and has no use for them. The free-form Kubernetes
// objects are kept as compact JSON text (empty: absent), read from a
// bounded YAML subtree.
struct Scheduling {
    std::map<std::string, std::string> node_selector;
    std::string affinity;                      // JSON object
    std::string tolerations;                   // JSON list of objects
    std::string topology_spread_constraints;   // JSON list of objects
    std::string scheduler_name;
    std::string priority_class_name;
    std::string dns_policy;
    std::string dns_config;                    // JSON object
    std::string hostname;
    std::string subdomain;
    bool operator==(const Scheduling&) const = default;
};

struct VmiSpec {
    std::string api_version;      // kubevirt.io/v1, v1alpha3 or v1alpha2
    bool from_virtual_machine = false;  // read from a VirtualMachine's template
    Metadata metadata;
    Domain domain;
    std::vector<Volume> volumes;
    std::vector<Network> networks;
    std::optional<std::int64_t> termination_grace_period_seconds;
    OverheadInputs overhead_inputs;
    Scheduling scheduling;
    std::vector<Warning> warnings;  // fields read but not acted on
    bool operator==(const VmiSpec&) const = default;

    const Volume* find_volume(const std::string& name) const;
    // sockets x cores x threads once defaults are applied.
    std::uint32_t vcpus() const;
};

}  // namespace vmi
