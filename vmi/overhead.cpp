// The two overhead models. Each returns named terms; the plan adds them up.
#include <algorithm>

#include "vmi/memory_plan.hpp"

namespace vmi {
namespace {

Bytes per_vcpu(const VmiSpec& spec, Bytes each) { return {each.value * spec.vcpus()}; }

bool wants_guaranteed_qos(const Resources& r) {
    // Requests default to limits, as Kubernetes and KubeVirt do.
    const auto& req_mem = r.requests.memory ? r.requests.memory : r.limits.memory;
    const auto& req_cpu = r.requests.cpu ? r.requests.cpu : r.limits.cpu;
    if (!req_mem || !req_cpu || !r.limits.memory || !r.limits.cpu) return false;
    return req_mem->value.bytes() == r.limits.memory->value.bytes() &&
           req_cpu->value.millis() == r.limits.cpu->value.millis() && req_mem->value.bytes() != Bytes{0};
}

}  // namespace

Bytes tcg_tb_size_for(Bytes guest) {
    // TCG's default is min(1 GiB, RAM / 8); the launcher caps it lower and
    // always passes it, so the overhead can count it.
    const Bytes eighth = round_up(Bytes{guest.value / 8}, 1 << 20);
    return std::clamp(eighth, mib(32), mib(128));
}

std::vector<OverheadTerm> kubevirt_overhead(const VmiSpec& spec, Bytes request) {
    std::vector<OverheadTerm> terms;
    // Page tables: the request in kilo (rounded up), one byte in 512.
    const std::uint64_t kilo = (request.value + 999) / 1000;
    terms.push_back({"pagetables", Bytes{kilo * 1000 / 512}});
    terms.push_back({"virt_launcher_monitor", mib(25)});
    terms.push_back({"virt_launcher", mib(100)});
    terms.push_back({"virtlogd", mib(25)});
    terms.push_back({"virtqemud", mib(40)});
    terms.push_back({"qemu", mib(50)});
    terms.push_back({"vcpus", per_vcpu(spec, mib(8))});
    terms.push_back({"iothread", mib(8)});
    if (spec.domain.devices.autoattach_graphics_device) terms.push_back({"video", mib(32)});
    if (spec.domain.cpu.dedicated_cpu_placement || wants_guaranteed_qos(spec.domain.resources)) {
        terms.push_back({"dedicated_cpu_or_guaranteed_qos", mib(100)});
    }
    return terms;
}

// Constants of the launcher model. Initial values come from the measurements
// in the project's notes (TCG, QEMU 7.2, an idle and a filled 256 MiB guest:
// QEMU used about 80 MiB of anonymous memory above the guest RAM it touched,
// 44 MiB of it TCG code cache with the default tb-size of 32 MiB, plus up to
// 20 MiB of file pages). Each is rounded up and is to be recalibrated by
// bench/ (overhead calibration); none may go below a measured run.
namespace launcher_model {
constexpr Bytes qemu_base = mib(40);         // QEMU's own heap and threads (80 - 44 measured)
constexpr Bytes qemu_file_pages = mib(24);   // QEMU binary and libraries, cold page cache (20 measured)
constexpr Bytes per_vcpu = mib(8);           // vCPU thread stacks and state (not yet measured)
constexpr Bytes tcg_state = mib(16);         // TCG beyond the code cache (44 - 32 measured = 12)
constexpr Bytes per_disk = mib(2);           // qcow2 L2 and refcount caches (1 MiB + 256 KiB defaults)
constexpr Bytes launcher = mib(8);           // this launcher's RSS when it shares the cgroup
}  // namespace launcher_model

std::vector<OverheadTerm> launcher_overhead(const VmiSpec& spec, Bytes guest, const PlanOptions& options) {
    namespace k = launcher_model;
    std::vector<OverheadTerm> terms;
    terms.push_back({"qemu_base", k::qemu_base});
    terms.push_back({"qemu_file_pages", k::qemu_file_pages});
    // Host page tables for guest RAM: 8 bytes per 4 KiB page.
    terms.push_back({"pagetables", round_up(Bytes{guest.value / 512}, 1 << 20)});
    terms.push_back({"vcpus", per_vcpu(spec, k::per_vcpu)});
    if (options.accel == Accel::tcg) {
        terms.push_back({"tcg_translation_cache", tcg_tb_size_for(guest)});
        terms.push_back({"tcg_state", k::tcg_state});
    }
    if (!spec.domain.devices.disks.empty()) {
        terms.push_back({"disk_caches", Bytes{k::per_disk.value * spec.domain.devices.disks.size()}});
    }
    if (options.launcher_in_cgroup) terms.push_back({"launcher", k::launcher});
    return terms;
}

}  // namespace vmi
