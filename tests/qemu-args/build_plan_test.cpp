// build_launch_plan: the argv, prepare steps and descriptors for a VMI,
// checked piece by piece with hand-made resolved sources (no files needed).
#include <catch2/catch.hpp>

#include <algorithm>

#include "qemu-args/build_plan.hpp"
#include "qemu-args/sources.hpp"
#include "test_support.hpp"

using namespace qemu_args;
using qemu_test::blockdev;
using qemu_test::devices;
using qemu_test::has_flag;
using qemu_test::json_values;
using qemu_test::value_of;
using qemu_test::values_of;
using nlohmann::json;

namespace {

const std::string state = "/run/vmi-launcher/default/t";

LaunchOptions options(vmi::Accel accel = vmi::Accel::tcg) {
    LaunchOptions o;
    o.state_dir = state;
    o.accel = accel;
    return o;
}

vmi::VmiSpec spec_of(const std::string& spec_body) { return vmi::load_vmi(qemu_test::vmi_yaml(spec_body)); }

vmi::MemoryPlan memory_of(const vmi::VmiSpec& spec, vmi::Accel accel) {
    vmi::PlanOptions p;
    p.accel = accel;
    return vmi::plan_memory(spec, p);
}

LaunchPlan build(const std::string& spec_body, const ResolvedSources& sources = {}, const LaunchOptions& o = options()) {
    const auto spec = spec_of(spec_body);
    return build_launch_plan(spec, memory_of(spec, o.accel), sources, o);
}

std::string build_error(const std::string& spec_body, const ResolvedSources& sources = {},
                        const LaunchOptions& o = options()) {
    try {
        build(spec_body, sources, o);
    } catch (const std::exception& e) {
        return e.what();
    }
    FAIL("build_launch_plan did not throw");
    return "";
}

const std::string small = "  domain:\n    memory: {guest: 256Mi}\n";

// Splits a legacy option at single commas (",," is a comma inside a value).
std::vector<std::string> legacy_keys(const std::string& value) {
    std::vector<std::string> keys;
    std::string part;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        if (i < value.size() && value[i] == ',' && i + 1 < value.size() && value[i + 1] == ',') {
            part += ',';
            ++i;
        } else if (i == value.size() || value[i] == ',') {
            keys.push_back(part.substr(0, part.find('=')));
            part.clear();
        } else {
            part += value[i];
        }
    }
    return keys;
}

ResolvedVolume resolved(const std::string& name, const std::string& path, DiskFormat f = DiskFormat::raw) {
    ResolvedVolume r;
    r.name = name;
    r.path = path;
    r.format = f;
    return r;
}

}  // namespace

TEST_CASE("the machine: name, type, accelerator, CPU, topology, memory, hardening") {
    const auto plan = build(small);
    const auto& argv = plan.argv;
    CHECK(argv.front() == "qemu-system-x86_64");
    CHECK(value_of(argv, "-name") == "guest=default_t,debug-threads=on");
    CHECK(value_of(argv, "-machine") == "type=q35,memory-backend=ram0,dump-guest-core=off");
    CHECK(value_of(argv, "-accel") == "tcg,tb-size=32");
    CHECK(value_of(argv, "-cpu") == "max");
    CHECK(value_of(argv, "-smp") == "cpus=1,sockets=1,cores=1,threads=1");
    CHECK(value_of(argv, "-m") == "268435456B");
    CHECK(json_values(argv, "-object") ==
          std::vector<json>{{{"qom-type", "memory-backend-ram"}, {"id", "ram0"}, {"size", 268435456}}});
    CHECK(value_of(argv, "-overcommit") == "mem-lock=off");
    CHECK(value_of(argv, "-sandbox") == "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    CHECK(has_flag(argv, "-nodefaults"));
    CHECK(has_flag(argv, "-no-user-config"));
    CHECK(value_of(argv, "-display") == "none");
    // QEMU exits when the guest powers off.
    CHECK_FALSE(has_flag(argv, "-no-shutdown"));
    CHECK_FALSE(has_flag(argv, "-uuid"));
    CHECK_FALSE(has_flag(argv, "-smbios"));
    CHECK(plan.state_dir == state);
    CHECK(plan.warnings.empty());
}

TEST_CASE("-m and the RAM backend are the plan's guest bytes, rounded up to a MiB as the plan rounds") {
    for (const auto& [guest, bytes] : std::vector<std::pair<std::string, std::uint64_t>>{
             {"1G", 1000341504},          // 10^9 bytes: 953.67 MiB, up to 954 MiB
             {"25761732Ki", 26380075008},  // the seed's guest: 25157.94 MiB, up to 25158 MiB
             {"1Gi", 1073741824},
         }) {
        INFO(guest);
        const auto spec = spec_of("  domain:\n    memory: {guest: " + guest + "}\n");
        const auto memory = memory_of(spec, vmi::Accel::tcg);
        REQUIRE(memory.guest.value == bytes);
        const auto argv = build_launch_plan(spec, memory, {}, options()).argv;
        CHECK(value_of(argv, "-m") == std::to_string(bytes) + "B");
        CHECK(json_values(argv, "-object").at(0)["size"] == bytes);
        CHECK(value_of(argv, "-accel") == "tcg,tb-size=" + std::to_string(memory.tcg_tb_size->value >> 20));
    }
}

TEST_CASE("huge pages: guest RAM from a hugetlbfs file of the page size") {
    auto argv = build("  domain:\n    memory: {guest: 1Gi, hugepages: {pageSize: 2Mi}}\n").argv;
    CHECK(json_values(argv, "-object") ==
          std::vector<json>{{{"qom-type", "memory-backend-file"}, {"id", "ram0"}, {"size", 1073741824},
                             {"mem-path", "/dev/hugepages"}}});
    argv = build("  domain:\n    memory: {guest: 2Gi, hugepages: {pageSize: 1Gi}}\n").argv;
    CHECK(json_values(argv, "-object").at(0)["mem-path"] == "/dev/hugepages-1G");
    CHECK(json_values(argv, "-object").at(0)["size"] == 2147483648);
    CHECK(value_of(argv, "-m") == "2147483648B");
}

TEST_CASE("the CPU model follows the accelerator unless the VMI names one") {
    const auto kvm = options(vmi::Accel::kvm);
    CHECK(value_of(build(small, {}, kvm).argv, "-accel") == "kvm");
    CHECK(value_of(build(small, {}, kvm).argv, "-cpu") == "host");
    for (const std::string model : {"host-model", "host-passthrough"}) {
        const std::string body = "  domain:\n    cpu: {model: " + model + "}\n    memory: {guest: 256Mi}\n";
        CHECK(value_of(build(body, {}, kvm).argv, "-cpu") == "host");
        CHECK(value_of(build(body, {}).argv, "-cpu") == "max");  // -cpu host needs KVM
    }
    const std::string named = "  domain:\n    cpu: {model: Skylake-Client-IBRS}\n    memory: {guest: 256Mi}\n";
    CHECK(value_of(build(named, {}, kvm).argv, "-cpu") == "Skylake-Client-IBRS");
    CHECK(value_of(build(named).argv, "-cpu") == "Skylake-Client-IBRS");
    // -cpu cannot escape a comma: anything but a name is refused.
    const std::string evil = "  domain:\n    cpu: {model: 'qemu64,+vmx'}\n    memory: {guest: 256Mi}\n";
    CHECK_THAT(build_error(evil), Catch::Contains("spec.domain.cpu.model") && Catch::Contains("qemu64,+vmx"));
}

TEST_CASE("a memory plan made for the other accelerator is refused") {
    const auto spec = spec_of(small);
    CHECK_THROWS_AS(build_launch_plan(spec, memory_of(spec, vmi::Accel::kvm), {}, options(vmi::Accel::tcg)),
                    std::invalid_argument);
    CHECK_THROWS_AS(build_launch_plan(spec, memory_of(spec, vmi::Accel::tcg), {}, options(vmi::Accel::kvm)),
                    std::invalid_argument);
}

TEST_CASE("topology, machine type, UUID and SMBIOS serial") {
    const auto argv = build(R"(  domain:
    cpu: {sockets: 2, cores: 3, threads: 2}
    memory: {guest: 256Mi}
    machine: {type: pc-i440fx-7.2}
    firmware:
      uuid: 5d307ca9-b3ef-428c-8861-06e72d69f223
      serial: 'ab,cd=ef,path=/x'
)").argv;
    CHECK(value_of(argv, "-smp") == "cpus=12,sockets=2,cores=3,threads=2");
    CHECK(value_of(argv, "-machine") == "type=pc-i440fx-7.2,memory-backend=ram0,dump-guest-core=off");
    CHECK(value_of(argv, "-uuid") == "5d307ca9-b3ef-428c-8861-06e72d69f223");
    CHECK(value_of(argv, "-smbios") == "type=1,serial=ab,,cd=ef,,path=/x");
    CHECK(legacy_keys(value_of(argv, "-smbios")) == std::vector<std::string>{"type", "serial"});
}

TEST_CASE("a machine type that slips a comma past validation stays one value") {
    const auto argv = build("  domain:\n    memory: {guest: 256Mi}\n    machine: {type: 'pc-q35-7.2,accel=kvm'}\n").argv;
    CHECK(value_of(argv, "-machine") == "type=pc-q35-7.2,,accel=kvm,memory-backend=ram0,dump-guest-core=off");
    CHECK(legacy_keys(value_of(argv, "-machine")) ==
          std::vector<std::string>{"type", "memory-backend", "dump-guest-core"});
}

TEST_CASE("QMP on the passed listener at descriptor 3; the console on a socket with a log") {
    const auto plan = build(small);
    CHECK(plan.fds == std::vector<FdSlot>{{FdSlot::Kind::qmp_listener, 3, ""}});
    CHECK(plan.qmp_socket == state + "/qmp.sock");
    CHECK(values_of(plan.argv, "-chardev") ==
          std::vector<std::string>{"socket,id=qmp,fd=3,server=on,wait=off",
                                   "socket,id=serial0,path=" + state + "/console.sock,server=on,wait=off,logfile=" +
                                       state + "/console.log,logappend=on"});
    CHECK(value_of(plan.argv, "-mon") == "chardev=qmp,mode=control");
    CHECK(value_of(plan.argv, "-serial") == "chardev:serial0");
    CHECK(plan.console_socket == state + "/console.sock");
    CHECK(plan.console_log == state + "/console.log");

    const auto quiet = build("  domain:\n    memory: {guest: 256Mi}\n    devices: {autoattachSerialConsole: false}\n");
    CHECK(values_of(quiet.argv, "-chardev") == std::vector<std::string>{"socket,id=qmp,fd=3,server=on,wait=off"});
    CHECK_FALSE(has_flag(quiet.argv, "-serial"));
    CHECK(quiet.console_socket.empty());
    CHECK(quiet.console_log.empty());
}

TEST_CASE("a state directory with commas and spaces: each path stays one chardev value") {
    LaunchOptions o = options();
    o.state_dir = "/tmp/a,server=off,path=/etc/x d/";
    const auto plan = build(small, {}, o);
    CHECK(plan.state_dir == "/tmp/a,server=off,path=/etc/x d");
    const std::string console = values_of(plan.argv, "-chardev").at(1);
    CHECK(console == "socket,id=serial0,path=/tmp/a,,server=off,,path=/etc/x d/console.sock,server=on,wait=off,"
                     "logfile=/tmp/a,,server=off,,path=/etc/x d/console.log,logappend=on");
    CHECK(legacy_keys(console) ==
          std::vector<std::string>{"socket", "id", "path", "server", "wait", "logfile", "logappend"});
    CHECK(plan.console_log == "/tmp/a,server=off,path=/etc/x d/console.log");
}

TEST_CASE("state directory rules: absolute, and short enough for unix socket paths") {
    LaunchOptions o = options();
    o.state_dir = "relative/dir";
    CHECK_THROWS_AS(build(small, {}, o), std::invalid_argument);
    o.state_dir = "/" + std::string(100, 'x');
    CHECK_THAT(build_error(small, {}, o), Catch::Contains("unix socket") && Catch::Contains("qmp.sock"));
    CHECK(default_state_dir(spec_of(small)) == "/run/vmi-launcher/default/t");
}

TEST_CASE("disks on each bus, with bootindex, serial and cache mode") {
    const std::string body = R"(  domain:
    memory: {guest: 256Mi}
    devices:
      disks:
      - {name: root, disk: {bus: virtio}, bootOrder: 1, serial: 'SN-1", "x": "y', cache: none}
      - {name: data, disk: {bus: scsi}, cache: writethrough}
      - {name: iso, cdrom: {bus: sata}, bootOrder: 2}
      - {name: stick, disk: {bus: usb}}
      - {name: old, disk: {bus: sata}}
  volumes:
  - {name: root, persistentVolumeClaim: {claimName: root}}
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: iso, persistentVolumeClaim: {claimName: iso}}
  - {name: stick, persistentVolumeClaim: {claimName: stick}}
  - {name: old, persistentVolumeClaim: {claimName: old}}
)";
    ResolvedSources s;
    s.volumes = {resolved("root", "/v/root.qcow2", DiskFormat::qcow2), resolved("data", "/v/data.img"),
                 resolved("iso", "/v/install.iso"), resolved("stick", "/v/stick.img"), resolved("old", "/v/old.img")};
    const auto argv = build(body, s).argv;

    // Controllers, once each, before the disks that sit on them.
    CHECK(devices(argv, "virtio-scsi-pci") == std::vector<json>{{{"driver", "virtio-scsi-pci"}, {"id", "scsi0"}}});
    CHECK(devices(argv, "qemu-xhci") == std::vector<json>{{{"driver", "qemu-xhci"}, {"id", "usb0"}}});
    CHECK(devices(argv, "ich9-ahci").empty());  // q35 has its own AHCI: buses ide.0 to ide.5

    CHECK(blockdev(argv, "vol0-file") == json{{"driver", "file"}, {"filename", "/v/root.qcow2"}, {"node-name", "vol0-file"},
                                              {"cache", {{"direct", true}, {"no-flush", false}}}});
    CHECK(blockdev(argv, "vol0") == json{{"driver", "qcow2"}, {"file", "vol0-file"}, {"node-name", "vol0"},
                                         {"cache", {{"direct", true}, {"no-flush", false}}}});
    CHECK(devices(argv, "virtio-blk-pci") ==
          std::vector<json>{{{"driver", "virtio-blk-pci"}, {"id", "ua-root"}, {"drive", "vol0"}, {"bootindex", 1},
                             {"serial", "SN-1\", \"x\": \"y"}}});

    CHECK(blockdev(argv, "vol1")["driver"] == "raw");
    CHECK(devices(argv, "scsi-hd") ==
          std::vector<json>{{{"driver", "scsi-hd"}, {"bus", "scsi0.0"}, {"scsi-id", 0}, {"lun", 0}, {"id", "ua-data"},
                             {"drive", "vol1"}, {"write-cache", "off"}}});

    CHECK(blockdev(argv, "vol2")["read-only"] == true);  // a cdrom
    CHECK(blockdev(argv, "vol2-file")["read-only"] == true);
    CHECK(devices(argv, "ide-cd") == std::vector<json>{{{"driver", "ide-cd"}, {"bus", "ide.0"}, {"id", "ua-iso"},
                                                        {"drive", "vol2"}, {"bootindex", 2}}});
    CHECK(devices(argv, "usb-storage") ==
          std::vector<json>{{{"driver", "usb-storage"}, {"bus", "usb0.0"}, {"id", "ua-stick"}, {"drive", "vol3"}}});
    CHECK(devices(argv, "ide-hd") ==
          std::vector<json>{{{"driver", "ide-hd"}, {"bus", "ide.1"}, {"id", "ua-old"}, {"drive", "vol4"}}});
    CHECK_FALSE(blockdev(argv, "vol4").contains("read-only"));
}

TEST_CASE("SATA on an i440fx machine gets an AHCI controller; ide-hd cannot be read-only") {
    ResolvedSources s;
    s.volumes = {resolved("d", "/v/d.img")};
    const std::string volumes = "  volumes:\n  - {name: d, persistentVolumeClaim: {claimName: d}}\n";
    auto argv = build("  domain:\n    memory: {guest: 256Mi}\n    machine: {type: pc}\n    devices:\n      disks:\n"
                      "      - {name: d, disk: {bus: sata}}\n" + volumes, s).argv;
    CHECK(devices(argv, "ich9-ahci") == std::vector<json>{{{"driver", "ich9-ahci"}, {"id", "sata0"}}});
    CHECK(devices(argv, "ide-hd").at(0)["bus"] == "sata0.0");

    const std::string ro = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                           "      - {name: d, disk: {bus: sata, readonly: true}}\n" + volumes;
    CHECK_THAT(build_error(ro, s), Catch::Contains("disk \"d\"") && Catch::Contains("read-only"));
}

TEST_CASE("a cdrom on the virtio bus (2018's API) is a read-only virtio disk") {
    ResolvedSources s;
    s.volumes = {resolved("iso", "/v/x.iso")};
    const auto argv = build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                            "      - {name: iso, cdrom: {bus: virtio}}\n"
                            "  volumes:\n  - {name: iso, persistentVolumeClaim: {claimName: iso}}\n", s).argv;
    CHECK(devices(argv, "virtio-blk-pci").at(0)["drive"] == "vol0");
    CHECK(blockdev(argv, "vol0")["read-only"] == true);
    CHECK(blockdev(argv, "vol0-file")["read-only"] == true);
}

TEST_CASE("a lun: scsi-block on a block device, a SCSI disk with a warning on a file") {
    const std::string body = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                             "      - {name: l, lun: {}}\n"
                             "  volumes:\n  - {name: l, persistentVolumeClaim: {claimName: l}}\n";
    ResolvedSources s;
    s.volumes = {resolved("l", "/dev/sdz")};
    s.volumes[0].block_device = true;
    auto plan = build(body, s);
    CHECK(devices(plan.argv, "scsi-block").size() == 1);
    CHECK(blockdev(plan.argv, "vol0-file")["driver"] == "host_device");
    CHECK(plan.warnings.empty());

    s.volumes[0] = resolved("l", "/v/lun.img");
    plan = build(body, s);
    CHECK(devices(plan.argv, "scsi-block").empty());
    CHECK(devices(plan.argv, "scsi-hd").size() == 1);
    REQUIRE(plan.warnings.size() == 1);
    CHECK_THAT(plan.warnings[0], Catch::Contains("disk \"l\"") && Catch::Contains("/v/lun.img is a file"));
}

TEST_CASE("containerDisk: a qcow2 overlay in the state directory over a read-only base") {
    ResolvedSources s;
    s.volumes = {resolved("root", "/images/fedora/disk/fedora.qcow2", DiskFormat::qcow2)};
    s.volumes[0].needs_overlay = true;
    const auto plan = build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                            "      - {name: root, disk: {}}\n"
                            "  volumes:\n  - {name: root, containerDisk: {image: fedora}}\n", s);
    CHECK(plan.prepare == std::vector<PrepareStep>{{PrepareStep::Kind::overlay, state + "/root.qcow2",
                                                    "/images/fedora/disk/fedora.qcow2", DiskFormat::qcow2, {}, {}}});
    CHECK(blockdev(plan.argv, "vol0-base-file") == json{{"driver", "file"},
                                                        {"filename", "/images/fedora/disk/fedora.qcow2"},
                                                        {"node-name", "vol0-base-file"},
                                                        {"read-only", true}});
    CHECK(blockdev(plan.argv, "vol0-base") ==
          json{{"driver", "qcow2"}, {"file", "vol0-base-file"}, {"node-name", "vol0-base"}, {"read-only", true}});
    CHECK(blockdev(plan.argv, "vol0-file")["filename"] == state + "/root.qcow2");
    CHECK(blockdev(plan.argv, "vol0") ==
          json{{"driver", "qcow2"}, {"file", "vol0-file"}, {"node-name", "vol0"}, {"backing", "vol0-base"}});
}

TEST_CASE("emptyDisk in the state directory, hostDisk DiskOrCreate at its path: sparse files") {
    ResolvedSources s;
    ResolvedVolume scratch{"scratch", "", DiskFormat::raw, false, true, vmi::gib(2), false};
    ResolvedVolume host{"host", "/srv/vm/new.img", DiskFormat::raw, false, true, vmi::gib(1), false};
    s.volumes = {scratch, host};
    const auto plan = build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                            "      - {name: scratch, disk: {}}\n      - {name: host, disk: {}}\n"
                            "  volumes:\n  - {name: scratch, emptyDisk: {capacity: 2Gi}}\n"
                            "  - {name: host, hostDisk: {path: /srv/vm/new.img, type: DiskOrCreate, capacity: 1Gi}}\n",
                            s);
    CHECK(plan.prepare ==
          std::vector<PrepareStep>{{PrepareStep::Kind::sparse_file, state + "/scratch.img", "", DiskFormat::raw, vmi::gib(2), {}},
                                   {PrepareStep::Kind::sparse_file, "/srv/vm/new.img", "", DiskFormat::raw, vmi::gib(1), {}}});
    CHECK(blockdev(plan.argv, "vol0-file")["filename"] == state + "/scratch.img");
    CHECK(blockdev(plan.argv, "vol1-file")["filename"] == "/srv/vm/new.img");
    CHECK(blockdev(plan.argv, "vol1")["driver"] == "raw");
}

TEST_CASE("cloud-init NoCloud: a cidata seed with user-data, meta-data and network-config, read-only") {
    const auto plan = build(R"(  domain:
    memory: {guest: 256Mi}
    devices:
      disks:
      - {name: seed, disk: {bus: virtio}}
  volumes:
  - name: seed
    cloudInitNoCloud:
      userDataBase64: I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogdAo=
      networkData: "version: 2\n"
)");
    REQUIRE(plan.prepare.size() == 1);
    const PrepareStep& seed = plan.prepare[0];
    CHECK(seed.kind == PrepareStep::Kind::cloud_init);
    CHECK(seed.path == state + "/cidata.iso");
    CHECK(seed.files == std::map<std::string, std::string>{
                            {"user-data", "#cloud-config\nhostname: t\n"},
                            {"meta-data", "{\"instance-id\":\"t.default\",\"local-hostname\":\"t\"}\n"},
                            {"network-config", "version: 2\n"}});
    CHECK(blockdev(plan.argv, "vol0-file") == json{{"driver", "file"}, {"filename", state + "/cidata.iso"},
                                                   {"node-name", "vol0-file"}, {"read-only", true}});
    CHECK(blockdev(plan.argv, "vol0")["read-only"] == true);
}

TEST_CASE("a disk file named with commas, equals signs, spaces and quotes is one JSON string") {
    const std::string weird = "/v/a,b=c d'e\"f,file.driver=nbd,server.path=/x.img";
    ResolvedSources s;
    s.volumes = {resolved("w", weird)};
    const auto argv = build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                            "      - {name: w, disk: {}}\n"
                            "  volumes:\n  - {name: w, persistentVolumeClaim: {claimName: w}}\n", s).argv;
    CHECK(blockdev(argv, "vol0-file")["filename"] == weird);
    CHECK(blockdev(argv, "vol0-file").size() == 3);  // driver, filename, node-name: nothing injected
    for (const auto& word : argv) CHECK_FALSE(word == weird);  // never a bare argument
}

TEST_CASE("kernelBoot: -kernel, -initrd and -append, each one argv element") {
    ResolvedSources s;
    s.kernel = ResolvedKernel{"/images/g/boot/vmlinuz", "/images/g/boot/initrd.img"};
    const auto argv = build(R"(  domain:
    memory: {guest: 256Mi}
    firmware:
      kernelBoot:
        kernelArgs: "console=ttyS0 quiet panic=-1 x=\"a b\",c -append evil"
        container: {image: g, kernelPath: /boot/vmlinuz, initrdPath: /boot/initrd.img}
)", s).argv;
    CHECK(value_of(argv, "-kernel") == "/images/g/boot/vmlinuz");
    CHECK(value_of(argv, "-initrd") == "/images/g/boot/initrd.img");
    CHECK(values_of(argv, "-append") == std::vector<std::string>{"console=ttyS0 quiet panic=-1 x=\"a b\",c -append evil"});
}

TEST_CASE("UEFI: OVMF code read-only and a private copy of the variables, as pflash nodes") {
    ResolvedSources s;
    s.efi = ResolvedFirmware{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", false};
    auto plan = build("  domain:\n    memory: {guest: 256Mi}\n    firmware:\n      bootloader: {efi: {secureBoot: false}}\n", s);
    CHECK(value_of(plan.argv, "-machine") ==
          "type=q35,memory-backend=ram0,dump-guest-core=off,pflash0=efi-code,pflash1=efi-vars");
    CHECK(blockdev(plan.argv, "efi-code-file")["read-only"] == true);
    CHECK(blockdev(plan.argv, "efi-code")["read-only"] == true);
    CHECK(blockdev(plan.argv, "efi-vars-file")["filename"] == state + "/efi-vars.fd");
    CHECK_FALSE(blockdev(plan.argv, "efi-vars").contains("read-only"));
    CHECK(plan.prepare == std::vector<PrepareStep>{{PrepareStep::Kind::copy_file, state + "/efi-vars.fd",
                                                    "/usr/share/OVMF/OVMF_VARS_4M.fd", DiskFormat::raw, {}, {}}});
    CHECK_FALSE(has_flag(plan.argv, "-global"));

    s.efi->secure_boot = true;
    plan = build("  domain:\n    memory: {guest: 256Mi}\n    firmware:\n      bootloader: {efi: {secureBoot: true}}\n", s);
    CHECK_THAT(value_of(plan.argv, "-machine"), Catch::EndsWith(",smm=on"));
    CHECK(value_of(plan.argv, "-global") == "driver=cfi.pflash01,property=secure,value=on");
}

TEST_CASE("network: the default pod interface, none, masquerade, slirp and bridge") {
    // No interfaces and no networks: KubeVirt's default masquerade interface.
    auto argv = build(small).argv;
    CHECK(json_values(argv, "-netdev") == std::vector<json>{{{"type", "user"}, {"id", "net0"}}});
    CHECK(devices(argv, "virtio-net-pci") ==
          std::vector<json>{{{"driver", "virtio-net-pci"}, {"id", "ua-default"}, {"netdev", "net0"}}});

    argv = build("  domain:\n    memory: {guest: 256Mi}\n    devices: {autoattachPodInterface: false}\n").argv;
    CHECK(json_values(argv, "-netdev").empty());
    argv = build(small + "  networks:\n  - {name: default, pod: {}}\n").argv;
    CHECK(json_values(argv, "-netdev").empty());  // networks given, no interfaces: no NIC

    const std::string two = R"(  domain:
    memory: {guest: 256Mi}
    devices:
      interfaces:
      - {name: default, masquerade: {}, model: e1000e, macAddress: '02:00:00:aa:bb:cc'}
      - {name: br, bridge: {}}
      - {name: old, slirp: {}, model: rtl8139}
  networks:
  - {name: default, pod: {}}
  - {name: br, multus: {networkName: br-net}}
  - {name: old, pod: {}}
)";
    CHECK_THAT(build_error(two), Catch::Contains("interface \"br\"") && Catch::Contains("tap"));
    LaunchOptions o = options();
    o.tap_fds["br"] = 7;
    const auto plan = build(two, {}, o);
    CHECK(json_values(plan.argv, "-netdev") ==
          std::vector<json>{{{"type", "user"}, {"id", "net0"}},
                            {{"type", "tap"}, {"id", "net1"}, {"fd", "7"}},
                            {{"type", "user"}, {"id", "net2"}}});
    CHECK(devices(plan.argv, "e1000e") == std::vector<json>{{{"driver", "e1000e"}, {"id", "ua-default"},
                                                             {"netdev", "net0"}, {"mac", "02:00:00:aa:bb:cc"}}});
    CHECK(devices(plan.argv, "virtio-net-pci").at(0)["netdev"] == "net1");
    CHECK(devices(plan.argv, "rtl8139").at(0)["netdev"] == "net2");
    CHECK(plan.fds == std::vector<FdSlot>{{FdSlot::Kind::qmp_listener, 3, ""}, {FdSlot::Kind::tap, 7, "br"}});

    o.tap_fds["br"] = 3;  // QMP's
    CHECK_THAT(build_error(two, {}, o), Catch::Contains("descriptor 3 is taken"));

    const std::string bad_model = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      interfaces:\n"
                                  "      - {name: default, masquerade: {}, model: 'virtio,romfile=/x'}\n"
                                  "  networks:\n  - {name: default, pod: {}}\n";
    CHECK_THAT(build_error(bad_model), Catch::Contains("interface \"default\"") && Catch::Contains("not a model"));
    const std::string bad_mac = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      interfaces:\n"
                                "      - {name: default, masquerade: {}, macAddress: '02:00:00:aa:bb'}\n"
                                "  networks:\n  - {name: default, pod: {}}\n";
    CHECK_THAT(build_error(bad_mac), Catch::Contains("interface \"default\"") && Catch::Contains("not a MAC"));
}

TEST_CASE("the balloon unless autoattachMemBalloon is false") {
    CHECK(devices(build(small).argv, "virtio-balloon-pci") ==
          std::vector<json>{{{"driver", "virtio-balloon-pci"}, {"id", "balloon0"}, {"free-page-reporting", true},
                             {"deflate-on-oom", true}, {"guest-stats-polling-interval", 10}}});
    CHECK(devices(build("  domain:\n    memory: {guest: 256Mi}\n    devices: {autoattachMemBalloon: false}\n").argv,
                  "virtio-balloon-pci")
              .empty());
}

TEST_CASE("a volume missing from the resolved sources is a caller's mistake") {
    CHECK_THROWS_AS(build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                          "      - {name: d, disk: {}}\n"
                          "  volumes:\n  - {name: d, persistentVolumeClaim: {claimName: d}}\n"),
                    std::invalid_argument);
}

TEST_CASE("every legacy option keeps to its own keys") {
    // Whatever the YAML says, -name, -machine, -smbios and -chardev have only the launcher's keys.
    LaunchOptions o = options();
    o.state_dir = "/tmp/x,id=evil";
    const auto argv = build(R"(  domain:
    memory: {guest: 256Mi}
    machine: {type: 'pc-q35-7.2,kernel-irqchip=off'}
    firmware: {serial: ',uuid=00000000-0000-0000-0000-000000000000,'}
)", {}, o).argv;
    CHECK(legacy_keys(value_of(argv, "-name")) == std::vector<std::string>{"guest", "debug-threads"});
    CHECK(legacy_keys(value_of(argv, "-machine")) == std::vector<std::string>{"type", "memory-backend", "dump-guest-core"});
    CHECK(legacy_keys(value_of(argv, "-smbios")) == std::vector<std::string>{"type", "serial"});
    for (const auto& chardev : values_of(argv, "-chardev")) {
        const auto keys = legacy_keys(chardev);
        CHECK(std::count(keys.begin(), keys.end(), "id") == 1);
    }
}
