// spec.domain: CPU, memory, resources, firmware, machine and devices.
#include <fmt/format.h>

#include "vmi/parse_parts.hpp"

namespace vmi::detail {
namespace {

Cpu parse_cpu(const Node& node, std::vector<Warning>& warnings) {
    Cpu cpu;
    MapReader m(node, warnings);
    constexpr std::int64_t max_count = 4096;
    if (auto n = m.take("sockets")) cpu.sockets = static_cast<std::uint32_t>(n->as_int(1, max_count));
    if (auto n = m.take("cores")) cpu.cores = static_cast<std::uint32_t>(n->as_int(1, max_count));
    if (auto n = m.take("threads")) cpu.threads = static_cast<std::uint32_t>(n->as_int(1, max_count));
    if (auto n = m.take("model")) cpu.model = n->as_string();
    if (auto n = m.take("dedicatedCpuPlacement")) {
        cpu.dedicated_cpu_placement = n->as_bool();
        if (cpu.dedicated_cpu_placement) {
            warnings.push_back({n->where().path, "vCPUs are not pinned by this launcher (its rules still apply)"});
        }
    }
    // Read for the Pod's CPU count (launcher/pod_resources.cpp); checked in parse_scheduling.cpp.
    if (auto n = m.take("isolateEmulatorThread")) cpu.isolate_emulator_thread = n->as_bool();
    m.finish();
    return cpu;
}

Memory parse_memory(const Node& node, std::vector<Warning>& warnings) {
    Memory mem;
    MapReader m(node, warnings);
    if (auto n = m.take("guest")) mem.guest = n->as_quantity();
    if (auto n = m.take("hugepages")) {
        MapReader h(*n, warnings);
        mem.hugepages_page_size = h.require("pageSize").as_quantity();
        h.finish();
    }
    if (auto n = m.take("maxGuest")) {
        mem.max_guest = n->as_quantity();
        warnings.push_back({n->where().path, "memory hotplug is not supported; the guest gets memory.guest"});
    }
    m.finish();
    return mem;
}

ResourceList parse_resource_list(const Node& node, std::vector<Warning>& warnings) {
    ResourceList out;
    MapReader m(node, warnings);
    if (auto n = m.take("memory")) out.memory = n->as_quantity();
    if (auto n = m.take("cpu")) out.cpu = n->as_quantity();
    for (const auto& key : {"ephemeral-storage", "devices.kubevirt.io/kvm", "devices.kubevirt.io/tun",
                            "devices.kubevirt.io/vhost-net"}) {
        m.ignore(key, "ignored: only memory and cpu are managed by the launcher");
    }
    m.finish();
    return out;
}

Resources parse_resources(const Node& node, std::vector<Warning>& warnings) {
    Resources r;
    MapReader m(node, warnings);
    if (auto n = m.take("requests")) r.requests = parse_resource_list(*n, warnings);
    if (auto n = m.take("limits")) r.limits = parse_resource_list(*n, warnings);
    if (auto n = m.take("overcommitGuestOverhead")) r.overcommit_guest_overhead = n->as_bool();
    m.finish();
    return r;
}

Firmware parse_firmware(const Node& node, std::vector<Warning>& warnings) {
    Firmware fw;
    MapReader m(node, warnings);
    if (auto n = m.take("uuid")) fw.uuid = n->as_string();
    if (auto n = m.take("serial")) fw.serial = n->as_string();
    if (auto n = m.take("bootloader")) {
        MapReader b(*n, warnings);
        if (auto bios = b.take("bios")) {
            fw.bootloader = Bootloader::bios;
            MapReader bm(*bios, warnings);
            bm.ignore("useSerial", "ignored: SeaBIOS output is not redirected");
            bm.finish();
        }
        if (auto efi = b.take("efi")) {
            if (fw.bootloader) efi->fail("give only one of bios and efi");
            fw.bootloader = Bootloader::efi;
            MapReader em(*efi, warnings);
            if (auto sb = em.take("secureBoot")) fw.secure_boot = sb->as_bool();
            em.finish();
        }
        b.finish();
    }
    if (auto n = m.take("kernelBoot")) {
        KernelBoot kb;
        MapReader k(*n, warnings);
        if (auto a = k.take("kernelArgs")) kb.kernel_args = a->as_string();
        Node container = k.require("container");
        MapReader c(container, warnings);
        kb.image = c.require("image").as_string();
        if (auto p = c.take("kernelPath")) kb.kernel_path = p->as_string();
        if (auto p = c.take("initrdPath")) kb.initrd_path = p->as_string();
        if (kb.kernel_path.empty()) container.fail("kernelPath is required");
        c.finish();
        k.finish();
        fw.kernel_boot = kb;
    }
    m.finish();
    return fw;
}

std::optional<DiskBus> parse_bus(const Node& n) {
    const std::string bus = n.as_string();
    if (bus == "virtio") return DiskBus::virtio;
    if (bus == "sata") return DiskBus::sata;
    if (bus == "scsi") return DiskBus::scsi;
    if (bus == "usb") return DiskBus::usb;
    n.fail(fmt::format("\"{}\" is not a disk bus (use virtio, sata, scsi or usb)", bus));
}

Disk parse_disk(const Node& node, std::vector<Warning>& warnings) {
    Disk d;
    d.where = node.where();
    MapReader m(node, warnings);
    const Node name = m.require("name");
    d.name = name.as_string();
    d.name_ref = name.where();
    // 2018's API named the volume separately from the disk.
    if (auto n = m.take("volumeName")) {
        d.name = n->as_string();
        d.name_ref = n->where();
    }
    int targets = 0;
    for (auto [key, kind] : {std::pair{"disk", DiskKind::disk}, std::pair{"cdrom", DiskKind::cdrom},
                             std::pair{"lun", DiskKind::lun}, std::pair{"floppy", DiskKind::disk}}) {
        auto n = m.take(key);
        if (!n) {
            continue;
        }
        if (std::string_view(key) == "floppy") n->fail("floppy disks are not supported");
        if (++targets > 1) n->fail("give only one of disk, cdrom and lun");
        d.kind = kind;
        MapReader t(*n, warnings);
        if (auto b = t.take("bus")) d.bus = parse_bus(*b);
        if (auto r = t.take("readonly")) d.readonly = r->as_bool();
        if (kind == DiskKind::cdrom) t.ignore("tray", "ignored: the tray is closed");
        if (kind == DiskKind::lun) t.ignore("reservation", "ignored: SCSI reservations are not supported");
        t.finish();
    }
    if (d.kind == DiskKind::cdrom) d.readonly = true;
    if (auto n = m.take("bootOrder")) d.boot_order = static_cast<std::uint32_t>(n->as_int(1, 65535));
    if (auto n = m.take("serial")) d.serial = n->as_string();
    if (auto n = m.take("cache")) {
        d.cache = n->as_string();
        if (d.cache != "none" && d.cache != "writethrough" && d.cache != "writeback") {
            n->fail(fmt::format("\"{}\" is not a cache mode (use none, writethrough or writeback)", d.cache));
        }
    }
    m.finish();
    return d;
}

Interface parse_interface(const Node& node, std::vector<Warning>& warnings) {
    Interface i;
    i.where = node.where();
    MapReader m(node, warnings);
    i.name = m.require("name").as_string();
    int bindings = 0;
    for (auto [key, binding] : {std::pair{"masquerade", InterfaceBinding::masquerade},
                                std::pair{"bridge", InterfaceBinding::bridge},
                                std::pair{"slirp", InterfaceBinding::slirp}}) {
        if (auto n = m.take(key)) {
            if (++bindings > 1) n->fail("give only one binding (masquerade, bridge or slirp)");
            i.binding = binding;
            MapReader(*n, warnings).finish();
        }
    }
    if (auto n = m.take("model")) i.model = n->as_string();
    if (auto n = m.take("macAddress")) i.mac_address = n->as_string();
    m.finish();
    if (bindings == 0) warnings.push_back({node.where().path, "no binding given; using masquerade"});
    return i;
}

Devices parse_devices(const Node& node, std::vector<Warning>& warnings) {
    Devices dev;
    MapReader m(node, warnings);
    if (auto n = m.take("disks")) {
        for (const auto& item : n->as_list()) dev.disks.push_back(parse_disk(item, warnings));
    }
    if (auto n = m.take("interfaces")) {
        for (const auto& item : n->as_list()) dev.interfaces.push_back(parse_interface(item, warnings));
    }
    if (auto n = m.take("autoattachMemBalloon")) dev.autoattach_mem_balloon = n->as_bool();
    if (auto n = m.take("autoattachGraphicsDevice")) dev.autoattach_graphics_device = n->as_bool();
    if (auto n = m.take("autoattachSerialConsole")) dev.autoattach_serial_console = n->as_bool();
    if (auto n = m.take("autoattachPodInterface")) dev.autoattach_pod_interface = n->as_bool();
    m.finish();
    return dev;
}

}  // namespace

Domain parse_domain(const Node& node, std::vector<Warning>& warnings) {
    Domain d;
    d.path = node.where().path;
    MapReader m(node, warnings);
    if (auto n = m.take("cpu")) d.cpu = parse_cpu(*n, warnings);
    if (auto n = m.take("memory")) d.memory = parse_memory(*n, warnings);
    if (auto n = m.take("resources")) d.resources = parse_resources(*n, warnings);
    if (auto n = m.take("firmware")) d.firmware = parse_firmware(*n, warnings);
    if (auto n = m.take("machine")) {
        MapReader mm(*n, warnings);
        if (auto t = mm.take("type")) d.machine_type = t->as_string();
        mm.finish();
    }
    if (auto n = m.take("devices")) d.devices = parse_devices(*n, warnings);
    m.finish();
    return d;
}

}  // namespace vmi::detail
