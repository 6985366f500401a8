// Disks: each joined with its volume, a chain of -blockdev nodes (file, then
// format, over a read-only base for overlays) and a -device on its bus.
#include <fmt/format.h>

#include <stdexcept>

#include "qemu-args/cloud_init.hpp"
#include "qemu-args/plan_parts.hpp"
#include "qemu-args/sources.hpp"
#include "vmi/validate.hpp"

namespace qemu_args::detail {
namespace {

using json = nlohmann::ordered_json;

constexpr unsigned ahci_ports = 6;  // ICH9's AHCI controller

[[noreturn]] void disk_error(const vmi::Disk& d, const std::string& message) {
    throw vmi::SpecError(d.where, fmt::format("disk \"{}\": {}", d.name, message));
}

const ResolvedVolume& resolved(const PlanContext& c, const std::string& volume) {
    for (const auto& r : c.sources.volumes) {
        if (r.name == volume) return r;
    }
    throw std::invalid_argument(fmt::format("volume \"{}\" was not resolved (resolve_sources)", volume));
}

bool is_q35(const std::string& machine) { return machine.empty() || machine == "q35" || machine.starts_with("pc-q35-"); }

// A volume's name as a file name in the state directory. Validation makes
// every volume name a DNS-1123 label; the plan refuses anything else on
// its own, so no name can put a file outside the state directory, and no
// stand-in can share another volume's file.
std::string file_stem(const std::string& volume) {
    if (!vmi::is_dns1123_label(volume)) {
        throw std::invalid_argument(fmt::format("volume name \"{}\" is not a DNS-1123 label: it cannot name a file in "
                                                "the state directory (the spec was not validated)",
                                                volume));
    }
    return volume;
}

// Where a disk's bytes come from, once the plan has decided.
struct Backing {
    std::string path;
    DiskFormat format = DiskFormat::raw;
    bool block = false;
    std::optional<ResolvedVolume> base;  // the read-only base under a qcow2 overlay
};

// QEMU's cache modes: none = O_DIRECT; writethrough = the guest sees no
// volatile cache (write-cache off on the device); writeback is the default.
void put_cache(json& node, const std::string& mode) {
    if (mode == "none") node["cache"] = {{"direct", true}, {"no-flush", false}};
}

// -blockdev file + format nodes; returns the format node's name.
std::string add_nodes(PlanContext& c, const std::string& name, const std::string& path, DiskFormat format, bool block,
                      bool read_only, const std::string& cache, const std::string& backing_node) {
    json file{{"driver", block ? "host_device" : "file"}, {"filename", path}, {"node-name", name + "-file"}};
    if (read_only) file["read-only"] = true;
    put_cache(file, cache);
    c.json("-blockdev", file);
    json fmt_node{{"driver", to_string(format)}, {"file", name + "-file"}, {"node-name", name}};
    if (read_only) fmt_node["read-only"] = true;
    put_cache(fmt_node, cache);
    if (!backing_node.empty()) fmt_node["backing"] = backing_node;
    c.json("-blockdev", fmt_node);
    return name;
}

// The files behind a disk, with the prepare steps that make them.
Backing backing_for(PlanContext& c, const vmi::Volume& v) {
    const std::string stem = file_stem(v.name);
    if (const auto* ci = std::get_if<vmi::CloudInitNoCloudSource>(&v.source)) {
        const std::string iso = c.state_file(ci->config_drive ? "config-2.iso" : "cidata.iso");
        c.plan.prepare.push_back({ci->config_drive ? PrepareStep::Kind::config_drive : PrepareStep::Kind::cloud_init,
                                  iso, "", DiskFormat::raw, {}, cloud_init_files(c.spec, *ci)});
        return {iso, DiskFormat::raw, false, std::nullopt};
    }
    const ResolvedVolume& r = resolved(c, v.name);
    if (r.needs_overlay) {
        // The base (a container image's disk, an ephemeral claim) is never written.
        const std::string overlay = c.state_file(stem + ".qcow2");
        c.plan.prepare.push_back({PrepareStep::Kind::overlay, overlay, r.path, r.format, {}, {}});
        return {overlay, DiskFormat::qcow2, false, r};
    }
    if (r.create_sparse) {
        // emptyDisk lives in the state directory; hostDisk DiskOrCreate at its path.
        const std::string path = r.path.empty() ? c.state_file(stem + ".img") : r.path;
        c.plan.prepare.push_back(
            {PrepareStep::Kind::sparse_file, path, "", DiskFormat::raw, r.capacity.value_or(vmi::Bytes{}), {}});
        return {path, DiskFormat::raw, false, std::nullopt};
    }
    return {r.path, r.format, r.block_device, std::nullopt};
}

bool volume_read_only(const vmi::Volume& v) {
    const auto* claim = std::get_if<vmi::PersistentVolumeClaimSource>(&v.source);
    return claim && claim->read_only && !claim->ephemeral;
}

struct Buses {
    bool need_scsi = false;
    bool need_usb = false;
    bool need_ahci = false;  // machines without q35's built-in AHCI
    unsigned sata = 0;       // ports used
    unsigned scsi = 0;       // targets used
};

// The controllers the disks need, each added once, before the disks.
Buses add_controllers(PlanContext& c) {
    Buses b;
    for (const auto& d : c.spec.domain.devices.disks) {
        b.need_scsi |= d.bus == vmi::DiskBus::scsi;
        b.need_usb |= d.bus == vmi::DiskBus::usb;
        b.need_ahci |= d.bus == vmi::DiskBus::sata && !is_q35(c.spec.domain.machine_type);
    }
    if (b.need_scsi) c.json("-device", {{"driver", "virtio-scsi-pci"}, {"id", "scsi0"}});
    if (b.need_usb) c.json("-device", {{"driver", "qemu-xhci"}, {"id", "usb0"}});
    if (b.need_ahci) c.json("-device", {{"driver", "ich9-ahci"}, {"id", "sata0"}});
    return b;
}

// The device for disk number `index` on its bus, reading `node`.
json disk_device(PlanContext& c, Buses& b, const vmi::Disk& d, std::size_t index, const Backing& backing,
                 const std::string& node) {
    const bool cdrom = d.kind == vmi::DiskKind::cdrom;
    json dev;
    switch (*d.bus) {
        case vmi::DiskBus::virtio:
            // QEMU has no virtio CD-ROM: a cdrom there is a read-only disk (2018's API allowed it).
            dev["driver"] = "virtio-blk-pci";
            break;
        case vmi::DiskBus::sata:
            if (b.sata >= ahci_ports) disk_error(d, fmt::format("more than {} disks on the sata bus", ahci_ports));
            dev["driver"] = cdrom ? "ide-cd" : "ide-hd";
            dev["bus"] = fmt::format("{}.{}", b.need_ahci ? "sata0" : "ide", b.sata++);
            break;
        case vmi::DiskBus::scsi:
            if (d.kind == vmi::DiskKind::lun && backing.block) {
                dev["driver"] = "scsi-block";
            } else {
                if (d.kind == vmi::DiskKind::lun) {
                    c.plan.warnings.push_back(fmt::format(
                        "disk \"{}\": a lun passes SCSI commands to a block device, but {} is a file: attached as "
                        "a SCSI disk",
                        d.name, backing.path));
                }
                dev["driver"] = cdrom ? "scsi-cd" : "scsi-hd";
            }
            dev["bus"] = "scsi0.0";
            dev["scsi-id"] = b.scsi++;
            dev["lun"] = 0;
            break;
        case vmi::DiskBus::usb:
            if (cdrom) disk_error(d, "a cdrom cannot be on the usb bus (use sata or scsi)");
            dev["driver"] = "usb-storage";
            dev["bus"] = "usb0.0";
            break;
    }
    dev["id"] = qemu_id("ua-", d.name, fmt::format("disk{}", index));
    dev["drive"] = node;
    if (d.boot_order) dev["bootindex"] = *d.boot_order;
    const bool passthrough = dev["driver"] == "scsi-block";
    if (!d.serial.empty() && !passthrough) dev["serial"] = d.serial;
    if (d.cache == "writethrough" && !passthrough && !cdrom) dev["write-cache"] = "off";
    // Other VMs may hold the same image open for writing: QEMU's image
    // locking then lets each take the write lock alongside the others.
    if (d.shareable && !passthrough) dev["share-rw"] = true;
    return dev;
}

}  // namespace

void add_disks(PlanContext& c) {
    Buses buses = add_controllers(c);
    const auto& disks = c.spec.domain.devices.disks;
    for (std::size_t i = 0; i < disks.size(); ++i) {
        const vmi::Disk& d = disks[i];
        const vmi::Volume* v = c.spec.find_volume(d.name);
        if (!v) throw std::invalid_argument(fmt::format("disk \"{}\" has no volume", d.name));
        const bool seed = std::holds_alternative<vmi::CloudInitNoCloudSource>(v->source);
        const Backing backing = backing_for(c, *v);
        bool read_only = d.readonly || d.kind == vmi::DiskKind::cdrom || volume_read_only(*v) || seed;
        if (d.bus == vmi::DiskBus::sata && d.kind != vmi::DiskKind::cdrom && read_only) {
            if (!seed) disk_error(d, "QEMU's SATA disk (ide-hd) cannot be read-only: use bus virtio or scsi, or a cdrom");
            // The seed is the launcher's own copy: writable costs nothing.
            c.plan.warnings.push_back(fmt::format("disk \"{}\": the cloud-init seed on the sata bus is attached "
                                                  "writable (QEMU's ide-hd cannot be read-only)",
                                                  d.name));
            read_only = false;
        }
        const std::string node = fmt::format("vol{}", i);
        std::string base_node;
        if (backing.base) {
            base_node = add_nodes(c, node + "-base", backing.base->path, backing.base->format,
                                  backing.base->block_device, true, d.cache, "");
        }
        add_nodes(c, node, backing.path, backing.format, backing.block, read_only, d.cache, base_node);
        c.json("-device", disk_device(c, buses, d, i, backing, node));
    }
}

}  // namespace qemu_args::detail
