// build_launch_plan, the machine: name, type, accelerator, CPU, topology,
// memory and its backend, identity, kernelBoot and UEFI; and no YAML value
// adding keys to a legacy option.
#include <catch2/catch.hpp>

#include <algorithm>

#include "plan_test_support.hpp"

using namespace qemu_test;
using nlohmann::json;

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
    // Validation refuses it; the argv must hold even if a spec bypasses that.
    auto spec = spec_of("  domain:\n    memory: {guest: 256Mi}\n");
    spec.domain.machine_type = "pc-q35-7.2,accel=kvm";
    const auto argv = build_launch_plan(spec, memory_of(spec, vmi::Accel::tcg), {}, options()).argv;
    CHECK(value_of(argv, "-machine") == "type=pc-q35-7.2,,accel=kvm,memory-backend=ram0,dump-guest-core=off");
    CHECK(legacy_keys(value_of(argv, "-machine")) ==
          std::vector<std::string>{"type", "memory-backend", "dump-guest-core"});
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

TEST_CASE("every legacy option keeps to its own keys") {
    // Whatever the YAML says, -name, -machine, -smbios and -chardev have only the launcher's keys.
    LaunchOptions o = options();
    o.state_dir = "/tmp/x,id=evil";
    auto spec = spec_of(R"(  domain:
    memory: {guest: 256Mi}
    firmware: {serial: ',uuid=00000000-0000-0000-0000-000000000000,'}
)");
    spec.domain.machine_type = "pc-q35-7.2,kernel-irqchip=off";  // past validation, which refuses it
    const auto argv = build_launch_plan(spec, memory_of(spec, o.accel), {}, o).argv;
    CHECK(legacy_keys(value_of(argv, "-name")) == std::vector<std::string>{"guest", "debug-threads"});
    CHECK(legacy_keys(value_of(argv, "-machine")) == std::vector<std::string>{"type", "memory-backend", "dump-guest-core"});
    CHECK(legacy_keys(value_of(argv, "-smbios")) == std::vector<std::string>{"type", "serial"});
    for (const auto& chardev : values_of(argv, "-chardev")) {
        const auto keys = legacy_keys(chardev);
        CHECK(std::count(keys.begin(), keys.end(), "id") == 1);
    }
}
