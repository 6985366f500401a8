#include "vmi/validate.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "vmi/limits.hpp"
#include "vmi/parse.hpp"
#include "vmi/validate_devices.hpp"
#include "vmi/vm_network.hpp"

namespace vmi {
namespace {

constexpr std::int64_t min_memory_bytes = 1'000'000;  // KubeVirt: "must be greater than or equal to 1M"
constexpr std::uint32_t max_vcpus = 288;              // QEMU 7.2's q35 maximum

[[noreturn]] void fail(const FieldRef& where, const std::string& message) { throw SpecError(where, message); }

void check_name(const std::string& value, const FieldRef& where, std::string_view what) {
    if (value.empty()) fail(where, fmt::format("is required: the {} names the VM's cgroup and files", what));
    if (!is_dns1123_label(value)) {
        fail(where, fmt::format("\"{}\" is not a valid {}: use at most 63 lowercase letters, digits and '-', "
                                "starting and ending with a letter or digit",
                                value, what));
    }
}

// A name that becomes a file name (<volumes-dir>/NAME, files in the state
// directory), a QEMU id and part of a Pod volume's name: KubeVirt's rule
// for disk names (validateDiskNameAsContainerName), and volumes are
// matched to disks by name. A name like "../../x" never reaches a path.
void check_label_name(const std::string& value, const FieldRef& where) {
    if (!is_dns1123_label(value)) {
        fail(where, fmt::format("\"{:.80}\" is not a DNS-1123 label: use at most 63 lowercase letters, digits and "
                                "'-', starting and ending with a letter or digit",
                                value));
    }
}

// Bytes of a quantity that must not be negative, at most `max`.
Bytes bounded_bytes(const QuantityField& q, std::uint64_t max) {
    if (q.value.negative()) fail(q.where, fmt::format("'{}' must be greater than or equal to 0", q.value.text()));
    auto b = q.value.bytes();
    if (!b || b->value > max) {
        fail(q.where, fmt::format("'{}' is too large: the most is {}", q.value.text(), to_string(Bytes{max})));
    }
    return *b;
}

Bytes memory_bytes(const QuantityField& q) { return bounded_bytes(q, limits::memory_bytes); }

void check_memory_floor(const QuantityField& q) {
    if (memory_bytes(q).value < min_memory_bytes) {
        fail(q.where, fmt::format("'{}' must be greater than or equal to 1M", q.value.text()));
    }
}

std::int64_t cpu_millis(const QuantityField& q) {
    if (q.value.negative()) fail(q.where, fmt::format("'{}' must be greater than or equal to 0", q.value.text()));
    auto m = q.value.millis();
    if (!m || *m > limits::cpu_millis) {
        fail(q.where, fmt::format("'{}' is too large: the most is {} CPUs", q.value.text(), limits::cpu_millis / 1000));
    }
    return *m;
}

void check_not_greater(const QuantityField& small, std::int64_t small_v, const QuantityField& big, std::int64_t big_v) {
    if (small_v > big_v) {
        fail(small.where, fmt::format("'{}' is greater than {} '{}'", small.value.text(), big.where.path,
                                      big.value.text()));
    }
}

void validate_memory(const Domain& d) {
    const auto& guest = d.memory.guest;
    const auto& req = d.resources.requests.memory;
    const auto& lim = d.resources.limits.memory;
    if (!guest && !req && !lim) {
        fail(FieldRef{d.path, std::nullopt},
             fmt::format("no memory requested: set at least one of {0}.memory.guest, {0}.resources.requests.memory "
                         "or {0}.resources.limits.memory",
                         d.path));
    }
    for (const auto* q : {&guest, &req, &lim, &d.memory.max_guest}) {
        if (*q) memory_bytes(**q);
    }
    for (const auto* q : {&guest, &req, &lim}) {
        if (*q) check_memory_floor(**q);
    }
    if (req && lim) {
        check_not_greater(*req, std::int64_t(memory_bytes(*req).value), *lim, std::int64_t(memory_bytes(*lim).value));
    }
    if (guest && lim) {
        check_not_greater(*guest, std::int64_t(memory_bytes(*guest).value), *lim,
                          std::int64_t(memory_bytes(*lim).value));
    }
    if (d.memory.max_guest && guest) {
        if (memory_bytes(*d.memory.max_guest) < memory_bytes(*guest)) {
            fail(d.memory.max_guest->where, fmt::format("'{}' is less than {} '{}'", d.memory.max_guest->value.text(),
                                                        guest->where.path, guest->value.text()));
        }
    }
    if (const auto& page = d.memory.hugepages_page_size) {
        const Bytes size = memory_bytes(*page);
        if (size != mib(2) && size != gib(1)) {
            fail(page->where, fmt::format("'{}' is not a huge page size on x86_64 (use 2Mi or 1Gi)", page->value.text()));
        }
        // The memory the guest gets must be made of whole pages.
        const auto& g = guest ? guest : (req ? req : lim);
        const Bytes gb = memory_bytes(*g);
        if (gb < size) {
            fail(g->where, fmt::format("'{}' is smaller than the huge page size '{}'", g->value.text(), page->value.text()));
        }
        if (gb.value % size.value != 0) {
            fail(g->where,
                 fmt::format("'{}' is not a multiple of the huge page size '{}'", g->value.text(), page->value.text()));
        }
    }
}

// -cpu reads "model,feature,..." and cannot escape a comma: names only.
void check_cpu_model(const std::string& m, const std::string& domain_path) {
    bool ok = m.empty() || std::isalnum(static_cast<unsigned char>(m.front()));
    for (char c : m) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (!ok) {
        fail(FieldRef{domain_path + ".cpu.model", std::nullopt},
             fmt::format("\"{}\" is not a CPU model name (letters, digits, '-', '_', '.')", m));
    }
}

void validate_cpu(Domain& d) {
    check_cpu_model(d.cpu.model, d.path);
    const auto& req = d.resources.requests.cpu;
    const auto& lim = d.resources.limits.cpu;
    std::optional<std::int64_t> req_m, lim_m;
    if (req) req_m = cpu_millis(*req);
    if (lim) lim_m = cpu_millis(*lim);
    if (req && lim) check_not_greater(*req, *req_m, *lim, *lim_m);
    // KubeVirt: without a topology, the vCPU count comes from the CPU limit,
    // else the request, rounded up.
    auto& cpu = d.cpu;
    if (cpu.sockets == 0 && cpu.cores == 0 && cpu.threads == 0 && (lim_m || req_m)) {
        const std::int64_t count = std::max<std::int64_t>(1, ((lim_m ? *lim_m : *req_m) + 999) / 1000);
        if (count > max_vcpus) {
            fail((lim ? lim : req)->where, fmt::format("asks for {} vCPUs; the most is {}", count, max_vcpus));
        }
        cpu.sockets = static_cast<std::uint32_t>(count);
    }
    cpu.sockets = std::max(cpu.sockets, 1u);
    cpu.cores = std::max(cpu.cores, 1u);
    cpu.threads = std::max(cpu.threads, 1u);
    const std::uint64_t vcpus = std::uint64_t{cpu.sockets} * cpu.cores * cpu.threads;
    if (vcpus > max_vcpus) {
        fail(FieldRef{d.path + ".cpu", std::nullopt},
             fmt::format("sockets x cores x threads = {} vCPUs; the most is {}", vcpus, max_vcpus));
    }
    if (cpu.dedicated_cpu_placement) {
        if (req && lim && *req_m != *lim_m) {
            fail(req->where, fmt::format("must equal {}.resources.limits.cpu with dedicatedCpuPlacement", d.path));
        }
        const auto& mreq = d.resources.requests.memory;
        const auto& mlim = d.resources.limits.memory;
        if (mreq && mlim && memory_bytes(*mreq) != memory_bytes(*mlim)) {
            fail(mreq->where, fmt::format("must equal {}.resources.limits.memory with dedicatedCpuPlacement", d.path));
        }
    }
}

// Where the VMI's spec is in the user's document, for messages naming its lists.
std::string spec_path(const VmiSpec& spec) { return spec.from_virtual_machine ? "spec.template.spec" : "spec"; }

bool is_uuid(std::string_view s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (s[i] == '-')) return false;
        if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

void validate_firmware_and_machine(const Domain& d) {
    if (!d.firmware.uuid.empty() && !is_uuid(d.firmware.uuid)) {
        fail(FieldRef{d.path + ".firmware.uuid", std::nullopt},
             fmt::format("\"{}\" is not a UUID (8-4-4-4-12 hex digits)", d.firmware.uuid));
    }
    const std::string& m = d.machine_type;
    const bool plain = std::all_of(m.begin(), m.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
    if (!m.empty() && (!plain || (m != "q35" && !m.starts_with("pc-q35-") && m != "pc" && !m.starts_with("pc-i440fx-")))) {
        fail(FieldRef{d.path + ".machine.type", std::nullopt},
             fmt::format("\"{}\" is not an x86_64 machine type (use q35, pc-q35-*, pc or pc-i440fx-*)", m));
    }
}

template <class T, class Name>
void check_unique(const std::vector<T>& items, Name name_of, std::string_view what) {
    std::set<std::string> seen;
    for (const auto& item : items) {
        if (!seen.insert(name_of(item)).second) {
            fail(item.where, fmt::format("{} name \"{}\" is used more than once", what, name_of(item)));
        }
    }
}

// A Kubernetes object name a Pod refers to (a PVC): a DNS-1123 subdomain.
bool is_dns1123_subdomain(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    std::size_t start = 0;
    while (start <= s.size()) {
        std::size_t dot = s.find('.', start);
        if (dot == std::string_view::npos) dot = s.size();
        const std::string_view part = s.substr(start, dot - start);
        if (part.empty() || !is_dns1123_label(part)) return false;
        start = dot + 1;
    }
    return true;
}

// A host path names one file, with no "." or ".." to resolve elsewhere.
void check_host_path(const std::string& path, const FieldRef& where) {
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        const std::string_view part = std::string_view(path).substr(start, slash - start);
        if (part.empty() || part == "." || part == "..") {
            fail(where, fmt::format("\"{}\" must name a file by a plain absolute path (no empty, \".\" or \"..\" "
                                    "parts)",
                                    path));
        }
        start = slash + 1;
    }
}

void validate_volume_source(const Volume& v) {
    if (const auto* e = std::get_if<EmptyDiskSource>(&v.source)) bounded_bytes(e->capacity, limits::disk_bytes);
    if (const auto* h = std::get_if<HostDiskSource>(&v.source)) {
        check_host_path(h->path, v.where.child("hostDisk").child("path"));
        if (h->capacity) bounded_bytes(*h->capacity, limits::disk_bytes);
    }
    if (const auto* p = std::get_if<PersistentVolumeClaimSource>(&v.source)) {
        if (!is_dns1123_subdomain(p->claim_name)) {
            fail(v.where.child(p->ephemeral ? "ephemeral.persistentVolumeClaim" : "persistentVolumeClaim")
                     .child("claimName"),
                 fmt::format("\"{:.80}\" is not a claim name (a DNS-1123 subdomain: lowercase letters, digits, '-' "
                             "and '.', at most 253)",
                             p->claim_name));
        }
    }
}

// What QEMU's devices for each bus can hold, checked here so that a spec
// `validate` accepts is one the plan can attach.
constexpr unsigned ahci_ports = 6;  // ICH9's AHCI controller (q35's, or the one added for pc)

void check_disk_on_bus(const VmiSpec& spec, const Disk& disk, unsigned& sata_disks) {
    auto disk_fail = [&](const std::string& message) {
        fail(disk.where, fmt::format("disk \"{}\": {}", disk.name, message));
    };
    const Volume* v = spec.find_volume(disk.name);
    const bool seed = v && std::holds_alternative<CloudInitNoCloudSource>(v->source);
    const auto* claim = v ? std::get_if<PersistentVolumeClaimSource>(&v->source) : nullptr;
    const bool read_only = disk.readonly || (claim && claim->read_only && !claim->ephemeral);
    if (disk.bus == DiskBus::usb && disk.kind == DiskKind::cdrom) {
        disk_fail("a cdrom cannot be on the usb bus (use sata or scsi)");
    }
    if (disk.bus == DiskBus::sata) {
        if (++sata_disks > ahci_ports) disk_fail(fmt::format("more than {} disks on the sata bus", ahci_ports));
        if (disk.kind != DiskKind::cdrom && read_only && !seed) {
            disk_fail("QEMU's SATA disk (ide-hd) cannot be read-only: use bus virtio or scsi, or a cdrom");
        }
    }
}

// KubeVirt's SetDefaultVolumeDisk (pkg/defaults): every volume that no disk
// (nor filesystem, which this launcher refuses) names gets a disk of its
// own, `disk: {}`, which the bus default below makes virtio.
void add_default_volume_disks(VmiSpec& spec) {
    for (const auto& v : spec.volumes) {
        bool used = false;
        for (const auto& d : spec.domain.devices.disks) used |= d.name == v.name;
        if (used) continue;
        Disk d;
        d.name = v.name;
        d.where = v.where;
        d.name_ref = v.name_ref;
        spec.domain.devices.disks.push_back(d);
        spec.warnings.push_back({v.where.path, fmt::format("volume \"{}\" has no disk: attached as a virtio disk, "
                                                           "as KubeVirt does",
                                                           v.name)});
    }
}

// A shareable disk is opened by several VMs at once: KubeVirt's converter
// makes its cache `none` (no host page cache to go stale) and refuses others.
void default_shareable_cache(Disk& disk) {
    if (!disk.shareable) return;
    if (disk.cache.empty()) disk.cache = "none";
    if (disk.cache != "none") {
        fail(disk.where, fmt::format("disk \"{}\": a shareable disk needs cache none, not {}", disk.name, disk.cache));
    }
}

void default_and_validate_disks(VmiSpec& spec) {
    for (const auto& v : spec.volumes) check_label_name(v.name, v.name_ref);
    for (const auto& d : spec.domain.devices.disks) check_label_name(d.name, d.name_ref);
    check_unique(spec.volumes, [](const Volume& v) { return v.name; }, "volume");
    check_unique(spec.domain.devices.disks, [](const Disk& d) { return d.name; }, "disk");
    int no_clouds = 0;
    int config_drives = 0;
    for (const auto& v : spec.volumes) {
        if (const auto* seed = std::get_if<CloudInitNoCloudSource>(&v.source)) {
            // Each seed is one file in the state directory (cidata.iso, config-2.iso).
            if (++(seed->config_drive ? config_drives : no_clouds) > 1) {
                fail(v.where, fmt::format("only one {} volume is allowed",
                                          seed->config_drive ? "cloudInitConfigDrive" : "cloudInitNoCloud"));
            }
        }
        validate_volume_source(v);
    }
    add_default_volume_disks(spec);
    unsigned sata_disks = 0;
    for (auto& disk : spec.domain.devices.disks) {
        if (!spec.find_volume(disk.name)) {
            fail(disk.where, fmt::format("disk \"{}\" has no volume of that name in {}.volumes", disk.name,
                                         spec_path(spec)));
        }
        // KubeVirt's defaults: virtio for disks, sata for CD-ROMs, scsi for LUNs.
        if (!disk.bus) {
            disk.bus = disk.kind == DiskKind::disk ? DiskBus::virtio
                       : disk.kind == DiskKind::cdrom ? DiskBus::sata
                                                      : DiskBus::scsi;
        }
        if (disk.kind == DiskKind::lun && disk.bus != DiskBus::scsi) fail(disk.where, "a lun must be on the scsi bus");
        default_shareable_cache(disk);
        check_disk_on_bus(spec, disk, sata_disks);
        if (disk.kind == DiskKind::cdrom && disk.bus == DiskBus::virtio) {
            // 2018's API allowed it (the seed's examples use it); QEMU has no
            // virtio CD-ROM, so it becomes a read-only virtio disk.
            spec.warnings.push_back({disk.where.path, "a cdrom on the virtio bus is attached as a read-only virtio disk"});
        }
    }
}

bool is_mac(const std::string& s) {
    if (s.size() != 17) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i % 3 == 2 ? s[i] != ':' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

// KubeVirt's interface models that QEMU 7.2 offers (qemu-args maps each to its device).
bool is_nic_model(const std::string& m) {
    for (const char* known : {"", "virtio", "e1000", "e1000e", "rtl8139", "pcnet", "ne2k_pci"}) {
        if (m == known) return true;
    }
    return false;
}

// KubeVirt's admitter: `absent` (hot-unplug) is for bridge interfaces on a
// secondary network only.
void validate_interface_state(const Interface& iface, const Network& net) {
    if (iface.state != InterfaceState::absent) return;
    if (iface.binding != InterfaceBinding::bridge) {
        fail(iface.state_ref, fmt::format("interface \"{}\": state absent is supported only for bridge binding",
                                          iface.name));
    }
    if (net.pod) {
        fail(iface.state_ref, fmt::format("interface \"{}\": state absent is not supported on the pod network",
                                          iface.name));
    }
}

void validate_vm_network_cidrs(const Network& net) {
    auto check = [](const std::string& cidr, const FieldRef& where, IpFamily family) {
        if (cidr.empty()) return;
        try {
            (void)vm_network_addresses(cidr, family);
        } catch (const std::invalid_argument& e) {
            fail(where, e.what());
        }
    };
    check(net.vm_network_cidr, net.vm_network_cidr_ref, IpFamily::v4);
    check(net.vm_ipv6_network_cidr, net.vm_ipv6_network_cidr_ref, IpFamily::v6);
}

void validate_networks(const VmiSpec& spec) {
    check_unique(spec.domain.devices.interfaces, [](const Interface& i) { return i.name; }, "interface");
    for (const auto& iface : spec.domain.devices.interfaces) {
        if (!is_nic_model(iface.model)) {
            fail(iface.where, fmt::format("interface \"{}\": \"{}\" is not a model QEMU 7.2 offers (use virtio, "
                                          "e1000, e1000e, rtl8139, pcnet or ne2k_pci)",
                                          iface.name, iface.model));
        }
        if (!iface.mac_address.empty() && !is_mac(iface.mac_address)) {
            fail(iface.where, fmt::format("interface \"{}\": \"{}\" is not a MAC address (xx:xx:xx:xx:xx:xx)",
                                          iface.name, iface.mac_address));
        }
        const Network* net = nullptr;
        for (const auto& n : spec.networks) {
            if (n.name == iface.name) net = &n;
        }
        if (!net) {
            fail(iface.where, fmt::format("interface \"{}\" has no network of that name in {}.networks", iface.name,
                                          spec_path(spec)));
        }
        if (iface.binding == InterfaceBinding::masquerade && !net->pod) {
            fail(iface.where, "masquerade works only on the pod network");
        }
        validate_interface_state(iface, *net);
    }
    for (const auto& net : spec.networks) validate_vm_network_cidrs(net);
}

}  // namespace

bool is_dns1123_label(std::string_view s) {
    if (s.empty() || s.size() > 63) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    for (char c : s) {
        if (!alnum(c) && c != '-') return false;
    }
    return alnum(s.front()) && alnum(s.back());
}

void default_and_validate(VmiSpec& spec) {
    check_name(spec.metadata.name, spec.metadata.name_ref, "metadata.name");
    check_name(spec.metadata.namespace_name, spec.metadata.namespace_ref, "metadata.namespace");
    validate_memory(spec.domain);
    validate_cpu(spec.domain);
    validate_firmware_and_machine(spec.domain);
    default_and_validate_disks(spec);
    detail::default_and_validate_devices(spec.domain, spec.warnings);
    validate_networks(spec);
    if (!spec.termination_grace_period_seconds) spec.termination_grace_period_seconds = 30;
}

VmiSpec load_vmi(std::string_view yaml_text) {
    VmiSpec spec = parse_vmi(yaml_text);
    default_and_validate(spec);
    return spec;
}

}  // namespace vmi
