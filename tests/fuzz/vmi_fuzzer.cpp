// Fuzz target: VMI text -> spec -> memory plan -> QEMU argv, the way
// `vmi-launcher plan` and `qemu-args` take any input.
//
// What counts as a finding, besides a crash or a sanitizer report:
// - load_vmi failing with anything but vmi::SpecError (the user would get a
//   message that does not name the field, or exit status 1);
// - plan_memory failing at all on a spec that validation accepted, or a
//   plan whose numbers do not add up;
// - build_launch_plan failing at all on a validated spec: validation
//   checks every rule of the plan layer that depends on the spec alone
//   (names, buses, models, MAC addresses), so any exception there means it
//   let through a spec the plan cannot hold.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "qemu-args/build_plan.hpp"
#include "qemu-args/sources.hpp"
#include "vmi/memory_plan.hpp"
#include "vmi/plan_output.hpp"
#include "vmi/validate.hpp"

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
    std::fprintf(stderr, "vmi-fuzzer: %s: %s\n", what, detail.c_str());
    std::abort();
}

void check(bool ok, const char* what) {
    if (!ok) finding("plan invariant broken", what);
}

// What resolve_sources would find on a host where every file exists,
// without touching the file system (the plan layer is what is fuzzed).
qemu_args::ResolvedSources fake_sources(const vmi::VmiSpec& spec) {
    qemu_args::ResolvedSources out;
    for (const auto& v : spec.volumes) {
        bool attached = false;
        for (const auto& d : spec.domain.devices.disks) attached = attached || d.name == v.name;
        if (!attached) continue;
        qemu_args::ResolvedVolume r;
        r.name = v.name;
        if (const auto* c = std::get_if<vmi::ContainerDiskSource>(&v.source)) {
            r.path = "/images/" + qemu_args::image_dir_name(c->image) + "/disk/disk.qcow2";
            r.format = qemu_args::DiskFormat::qcow2;
            r.needs_overlay = true;
        } else if (const auto* p = std::get_if<vmi::PersistentVolumeClaimSource>(&v.source)) {
            r.path = "/volumes/" + v.name + "/disk.img";
            r.needs_overlay = p->ephemeral;
        } else if (const auto* h = std::get_if<vmi::HostDiskSource>(&v.source)) {
            r.path = h->path.empty() || h->path.front() != '/' ? "/host/" + h->path : h->path;
            r.create_sparse = h->create;
            if (h->create && h->capacity) r.capacity = h->capacity->value.bytes();
        } else if (const auto* e = std::get_if<vmi::EmptyDiskSource>(&v.source)) {
            r.create_sparse = true;
            r.capacity = e->capacity.value.bytes();
        } else {
            continue;  // cloud-init: made from the spec
        }
        out.volumes.push_back(r);
    }
    const auto& fw = spec.domain.firmware;
    if (fw.kernel_boot) out.kernel = qemu_args::ResolvedKernel{"/images/kernel/vmlinuz", "/images/kernel/initrd.img"};
    if (fw.bootloader == vmi::Bootloader::efi) {
        out.efi = qemu_args::ResolvedFirmware{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd",
                                              fw.secure_boot};
    }
    return out;
}

void check_plan(const vmi::MemoryPlan& p) {
    vmi::Bytes terms;
    for (const auto& t : p.overhead_terms) terms += t.bytes;
    check(terms == p.overhead, "the overhead is the sum of its terms");
    check(p.guest >= p.guest_requested, "the guest is rounded up, never down");
    check(p.guest.value % vmi::guest_alignment == 0, "the guest is whole MiB");
    check(p.cgroup_limit.value > 0, "the cgroup limit is positive");
    if (p.pod_limit) check(p.cgroup_limit == *p.pod_limit, "the cgroup limit is the pod limit when there is one");
}

void plan_and_build(const vmi::VmiSpec& spec, vmi::PlanOptions options) {
    vmi::MemoryPlan memory;
    try {
        memory = vmi::plan_memory(spec, options);
    } catch (const std::exception& e) {
        finding("plan_memory threw on a valid spec", e.what());
    }
    check_plan(memory);
    (void)vmi::plan_to_json(spec, memory).dump();
    (void)vmi::plan_to_yaml(spec, memory);
    (void)vmi::plan_to_table(spec, memory);

    qemu_args::LaunchOptions launch;
    // A short state directory: how long a socket path may be depends on
    // the state root the operator picks, not on the spec.
    launch.state_dir = "/run/vmi-launcher/fuzz";
    launch.accel = options.accel;
    // A tap descriptor for every bridge interface, as the launcher passes them.
    int next_fd = 10;
    for (const auto& i : spec.domain.devices.interfaces) {
        if (i.binding == vmi::InterfaceBinding::bridge) launch.tap_fds[i.name] = next_fd++;
    }
    try {
        const auto plan = qemu_args::build_launch_plan(spec, memory, fake_sources(spec), launch);
        check(!plan.argv.empty() && plan.argv.front() == launch.qemu_binary, "argv starts with QEMU");
        for (const auto& a : plan.argv) check(a.find('\0') == std::string::npos, "no NUL inside an argument");
        for (const auto& step : plan.prepare) {
            check(step.path.rfind(launch.state_dir + "/", 0) == 0 || step.kind == qemu_args::PrepareStep::Kind::sparse_file,
                  "every file the plan makes is in the state directory (a hostDisk aside)");
        }
    } catch (const std::exception& e) {
        finding("build_launch_plan threw on a validated spec", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    vmi::VmiSpec spec;
    try {
        spec = vmi::load_vmi(text);
    } catch (const vmi::SpecError&) {
        return 0;  // refused with a message naming the field: the expected outcome
    } catch (const std::exception& e) {
        finding("load_vmi threw something other than SpecError", e.what());
    }
    using vmi::Accel;
    using vmi::OverheadModel;
    plan_and_build(spec, {OverheadModel::launcher, Accel::tcg, 100, false});
    plan_and_build(spec, {OverheadModel::launcher, Accel::kvm, 100, true});
    plan_and_build(spec, {OverheadModel::kubevirt, Accel::kvm, 150, false});
    return 0;
}
