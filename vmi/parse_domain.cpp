// spec.domain: CPU, memory, resources, firmware, machine and devices.
#include <fmt/format.h>

#include "vmi/parse_clock_features.hpp"
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
    // floppy (KubeVirt before v0.51) is refused by the field policy.
    for (auto [key, kind] : {std::pair{"disk", DiskKind::disk}, std::pair{"cdrom", DiskKind::cdrom},
                             std::pair{"lun", DiskKind::lun}}) {
        auto n = m.take(key);
        if (!n) {
            continue;
        }
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
    if (auto n = m.take("shareable")) d.shareable = n->as_bool();
    if (auto n = m.take("cache")) {
        d.cache = n->as_string();
        if (d.cache != "none" && d.cache != "writethrough" && d.cache != "writeback") {
            n->fail(fmt::format("\"{}\" is not a cache mode (use none, writethrough or writeback)", d.cache));
        }
    }
    m.finish();
    return d;
}

// Kubernetes' IANA_SVC_NAME (what KubeVirt's admitter checks a port name
// against): 1-15 lowercase letters, digits and '-', at least one letter, no
// '-' at either end and no "--".
bool is_port_name(const std::string& s) {
    if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-') return false;
    bool letter = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c >= 'a' && c <= 'z') {
            letter = true;
        } else if (c == '-') {
            if (s[i - 1] == '-') return false;
        } else if (c < '0' || c > '9') {
            return false;
        }
    }
    return letter;
}

// interfaces[].ports[], with KubeVirt's admission rules for each port.
Port parse_port(const Node& node, std::vector<Warning>& warnings) {
    Port p;
    p.where = node.where();
    MapReader m(node, warnings);
    if (auto n = m.take("name")) {
        p.name = n->as_string();
        if (!is_port_name(p.name)) {
            n->fail(fmt::format("\"{}\" is not a port name (1-15 lowercase letters, digits and '-', with a letter)",
                                p.name));
        }
    }
    if (auto n = m.take("protocol")) {
        const std::string proto = n->as_string();
        if (proto == "UDP") {
            p.protocol = PortProtocol::udp;
        } else if (proto != "TCP" && !proto.empty()) {
            n->fail(fmt::format("\"{}\" is not a protocol (TCP or UDP)", proto));
        }
    }
    p.port = static_cast<std::uint16_t>(m.require("port").as_int(1, 65535));
    m.finish();
    return p;
}

std::vector<Port> parse_ports(const Node& node, std::vector<Warning>& warnings) {
    std::vector<Port> out;
    for (const auto& item : node.as_list()) {
        Port p = parse_port(item, warnings);
        for (const auto& earlier : out) {
            if (!p.name.empty() && earlier.name == p.name) {
                throw SpecError(p.where.child("name"), fmt::format("port name \"{}\" is given twice", p.name));
            }
        }
        out.push_back(std::move(p));
    }
    return out;
}

InterfaceState parse_interface_state(const Node& node) {
    const std::string s = node.as_string();
    if (s.empty() || s == "up") return InterfaceState::up;
    if (s == "down") return InterfaceState::down;
    if (s == "absent") return InterfaceState::absent;
    node.fail(fmt::format("\"{}\" is not an interface state (up, down or absent)", s));
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
    if (auto n = m.take("ports")) i.ports = parse_ports(*n, warnings);
    if (auto n = m.take("state")) {
        i.state = parse_interface_state(*n);
        i.state_ref = n->where();
    }
    m.finish();
    if (bindings == 0) warnings.push_back({node.where().path, "no binding given; using masquerade"});
    return i;
}

// KubeVirt's Watchdog: a name and, on x86_64, i6300esb with its action.
Watchdog parse_watchdog(const Node& node, std::vector<Warning>& warnings) {
    Watchdog w;
    w.where = node.where();
    MapReader m(node, warnings);
    w.name = m.require("name").as_string();
    auto esb = m.take("i6300esb");
    if (auto d = m.take("diag288")) d->fail("diag288 is the s390x watchdog; on x86_64 use i6300esb");
    // KubeVirt's SetDefaults_Watchdog: no model means i6300esb (action reset).
    if (!esb) {
        m.finish();
        return w;
    }
    MapReader e(*esb, warnings);
    if (auto a = e.take("action")) {
        const std::string action = a->as_string();
        if (action == "poweroff") {
            w.action = WatchdogAction::poweroff;
        } else if (action == "reset") {
            w.action = WatchdogAction::reset;
        } else if (action == "shutdown") {
            w.action = WatchdogAction::shutdown;
        } else if (!action.empty()) {
            a->fail(fmt::format("\"{}\" is not a watchdog action (use poweroff, reset or shutdown)", action));
        }
    }
    e.finish();
    m.finish();
    return w;
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
    if (auto n = m.take("rng")) {
        MapReader(*n, warnings).finish();  // KubeVirt's Rng has no fields
        dev.rng = true;
    }
    if (auto n = m.take("watchdog")) dev.watchdog = parse_watchdog(*n, warnings);
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
    if (auto n = m.take("clock")) d.clock = parse_clock(*n, warnings);
    if (auto n = m.take("features")) d.features = parse_features(*n, warnings);
    m.finish();
    return d;
}

}  // namespace vmi::detail
