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
    FieldRef where;
    FieldRef name_ref;  // the name (or 2018's volumeName) field
    bool operator==(const Disk& o) const {
        return name == o.name && kind == o.kind && bus == o.bus && readonly == o.readonly &&
               boot_order == o.boot_order && serial == o.serial && cache == o.cache;
    }
};

enum class InterfaceBinding { masquerade, bridge, slirp };

struct Interface {
    std::string name;
    InterfaceBinding binding = InterfaceBinding::masquerade;
    std::string model;  // empty means virtio
    std::string mac_address;
    FieldRef where;
    bool operator==(const Interface& o) const {
        return name == o.name && binding == o.binding && model == o.model && mac_address == o.mac_address;
    }
};

struct Devices {
    std::vector<Disk> disks;
    std::vector<Interface> interfaces;
    bool autoattach_mem_balloon = true;
    bool autoattach_graphics_device = true;
    bool autoattach_serial_console = true;
    bool autoattach_pod_interface = true;
    bool operator==(const Devices&) const = default;
};

struct Domain {
    Cpu cpu;
    Memory memory;
    Resources resources;
    Firmware firmware;
    std::string machine_type;  // empty: q35
    Devices devices;
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
    bool operator==(const Network&) const = default;
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
    Scheduling scheduling;
    std::vector<Warning> warnings;  // fields read but not acted on
    bool operator==(const VmiSpec&) const = default;

    const Volume* find_volume(const std::string& name) const;
    // sockets x cores x threads once defaults are applied.
    std::uint32_t vcpus() const;
};

}  // namespace vmi
