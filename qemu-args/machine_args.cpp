// The machine: name, identity, accelerator, CPU, memory, hardening.
#include <fmt/format.h>

#include <cctype>
#include <stdexcept>

#include "qemu-args/plan_parts.hpp"
#include "qemu-args/quote.hpp"

namespace qemu_args::detail {
namespace {

constexpr std::uint64_t mib_bytes = 1 << 20;

bool is_model_name(const std::string& s) {
    if (s.empty() || !std::isalnum(static_cast<unsigned char>(s.front()))) return false;
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
    }
    return true;
}

// KVM: the host's CPU unless the VMI names a model (host-model and
// host-passthrough are the host's too). TCG: `max`, everything TCG can
// emulate, unless the VMI names a model; `host` needs KVM.
std::string cpu_model(const vmi::Cpu& cpu, vmi::Accel accel) {
    const std::string& m = cpu.model;
    if (m.empty() || m == "host-model" || m == "host-passthrough") return accel == vmi::Accel::kvm ? "host" : "max";
    // -cpu reads "model,feature,..." and cannot escape a comma: allow names only.
    if (!is_model_name(m)) {
        throw vmi::SpecError(vmi::FieldRef{"spec.domain.cpu.model", std::nullopt},
                             fmt::format("\"{}\" is not a CPU model name (letters, digits, '-', '_', '.')", m));
    }
    return m;
}

std::string accel_option(const PlanContext& c) {
    if (c.memory.options.accel != c.options.accel) {
        throw std::invalid_argument(fmt::format("the memory plan was made for {} but QEMU is to run with {}",
                                                vmi::to_string(c.memory.options.accel),
                                                vmi::to_string(c.options.accel)));
    }
    if (c.options.accel == vmi::Accel::kvm) return "kvm";
    // The translation cache the plan counted, never QEMU's default (RAM / 8, up to 1 GiB).
    const vmi::Bytes tb = c.memory.tcg_tb_size.value_or(vmi::Bytes{});
    if (tb.value == 0 || tb.value % mib_bytes != 0) {
        throw std::invalid_argument("the memory plan has no whole-MiB TCG translation cache size");
    }
    return fmt::format("tcg,tb-size={}", tb.value / mib_bytes);
}

nlohmann::ordered_json ram_backend(const PlanContext& c) {
    const vmi::MemoryPlan& m = c.memory;
    nlohmann::ordered_json ram;
    if (m.hugepages) {
        ram["qom-type"] = "memory-backend-file";
        ram["id"] = "ram0";
        ram["size"] = m.guest.value;
        // A private hugetlbfs mapping reserves its pages when QEMU maps it:
        // too few free huge pages fail the start instead of a later SIGBUS.
        ram["mem-path"] = hugepages_dir(c.options, m.hugepage_size.value_or(vmi::Bytes{}));
    } else {
        ram["qom-type"] = "memory-backend-ram";
        ram["id"] = "ram0";
        ram["size"] = m.guest.value;
    }
    return ram;
}

}  // namespace

void add_machine(PlanContext& c) {
    const vmi::VmiSpec& spec = c.spec;
    const vmi::Domain& d = spec.domain;
    if (c.memory.guest.value == 0 || c.memory.guest.value % mib_bytes != 0) {
        throw std::invalid_argument("the memory plan's guest size is not a whole number of MiB");
    }
    c.arg("-name", fmt::format("guest={}_{},debug-threads=on", escape_option_value(spec.metadata.namespace_name),
                               escape_option_value(spec.metadata.name)));
    if (!d.firmware.uuid.empty()) c.arg("-uuid", d.firmware.uuid);  // validated: hex digits and dashes

    std::string machine = "type=" + escape_option_value(d.machine_type.empty() ? "q35" : d.machine_type);
    machine += ",memory-backend=ram0,dump-guest-core=off";
    if (c.sources.efi) {
        machine += ",pflash0=efi-code,pflash1=efi-vars";
        if (c.sources.efi->secure_boot) machine += ",smm=on";
    }
    machine += machine_feature_options(c);
    c.arg("-machine", machine);
    c.arg("-accel", accel_option(c));
    c.arg("-cpu", cpu_model(d.cpu, c.options.accel) + cpu_feature_flags(c));
    c.arg("-smp", fmt::format("cpus={},sockets={},cores={},threads={}", spec.vcpus(), d.cpu.sockets, d.cpu.cores,
                              d.cpu.threads));
    // Bytes, exactly the plan's guest (a whole MiB), the same as the backend's size.
    c.arg("-m", fmt::format("{}B", c.memory.guest.value));
    c.json("-object", ram_backend(c));
    c.arg("-overcommit", "mem-lock=off");
    c.arg("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    c.arg("-nodefaults");
    c.arg("-no-user-config");
    c.arg("-display", "none");
    if (!d.firmware.serial.empty()) c.arg("-smbios", "type=1,serial=" + escape_option_value(d.firmware.serial));
}

void add_boot(PlanContext& c) {
    const vmi::Firmware& fw = c.spec.domain.firmware;
    if (fw.kernel_boot) {
        if (!c.sources.kernel) throw std::invalid_argument("kernelBoot's files were not resolved");
        // Each is its own argv element, taken whole: nothing to escape.
        c.arg("-kernel", c.sources.kernel->kernel);
        if (!c.sources.kernel->initrd.empty()) c.arg("-initrd", c.sources.kernel->initrd);
        if (!fw.kernel_boot->kernel_args.empty()) c.arg("-append", fw.kernel_boot->kernel_args);
    }
    if (fw.bootloader == vmi::Bootloader::efi) {
        if (!c.sources.efi) throw std::invalid_argument("the UEFI firmware was not resolved");
        const ResolvedFirmware& efi = *c.sources.efi;
        const std::string vars = c.state_file("efi-vars.fd");
        PrepareStep copy{PrepareStep::Kind::copy_file, vars, efi.vars_template, DiskFormat::raw, {}, {}};
        c.plan.prepare.push_back(copy);
        c.json("-blockdev", {{"driver", "file"}, {"filename", efi.code}, {"node-name", "efi-code-file"},
                             {"read-only", true}});
        c.json("-blockdev", {{"driver", "raw"}, {"file", "efi-code-file"}, {"node-name", "efi-code"},
                             {"read-only", true}});
        c.json("-blockdev", {{"driver", "file"}, {"filename", vars}, {"node-name", "efi-vars-file"}});
        c.json("-blockdev", {{"driver", "raw"}, {"file", "efi-vars-file"}, {"node-name", "efi-vars"}});
        // Secure Boot: only code running in SMM may write the variables.
        if (efi.secure_boot) c.arg("-global", "driver=cfi.pflash01,property=secure,value=on");
    }
}

}  // namespace qemu_args::detail
