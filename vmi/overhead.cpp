// The launcher's own overhead model (KubeVirt's are in kubevirt_overhead.cpp).
// It returns named terms; the plan adds them up.
#include <algorithm>

#include "vmi/memory_plan.hpp"

namespace vmi {
namespace {

Bytes per_vcpu(const VmiSpec& spec, Bytes each) { return {each.value * spec.vcpus()}; }

}  // namespace

Bytes tcg_tb_size_for(Bytes guest) {
    // TCG's default is min(1 GiB, RAM / 8); the launcher caps it lower and
    // always passes it, so the overhead can count it in full. The cap is
    // 64 MiB: in the calibration runs (bench/results/calibration-tcg.json)
    // Linux guests held 48 to 52 MiB of translated code where the cache had
    // room for more, so 64 MiB keeps all they translate, where a 128 MiB
    // cache counted in full reserved more than twice what they used.
    const Bytes eighth = round_up(Bytes{guest.value / 8}, 1 << 20);
    return std::clamp(eighth, mib(32), mib(64));
}

// Constants of the launcher model, set by the overhead calibration of
// bench/run.sh (TCG, QEMU 7.2, 2 CPUs, 2026-11-30; its 48 runs are
// bench/results/calibration-tcg.json, and tests/vmi/memory_plan_test.cpp
// fails if any of them exceeds the estimate). Guests of 128 MiB to 2 GiB
// with 1, 2 and 4 vCPUs, idle and with 95% of their RAM touched, booted
// with kernelBoot after QEMU's files were dropped from the page cache; for
// each run, the VM cgroup's peak usage less the guest RAM QEMU held was
// split by /proc/PID/smaps and memory.stat. Each constant is the largest
// share measured, rounded up to 4 MiB. KVM does not run on that machine,
// so what is not TCG's is measured under TCG too.
namespace launcher_model {
// QEMU's heap, threads and device state, the kernel's memory for QEMU
// (page tables aside) and the peak's excess over the final usage (up to
// 5 MiB): together with tcg_state at most 35 to 37 MiB in the calibration
// runs so far, 13.5 MiB of it the copy of the 14 MB kernel QEMU keeps for
// kernelBoot.
constexpr Bytes qemu_base = mib(24);
// File pages charged to the VM's cgroup from a cold page cache: QEMU's
// binary and libraries (22 MiB mapped), their read-ahead and the
// kernelBoot kernel and initrd it reads: 57.2 to 57.3 MiB measured, each
// run booting from its own copy of the kernel and initrd, read cold.
constexpr Bytes qemu_file_pages = mib(60);
// Per vCPU: the worst run's overhead rose by 3.6 to 4.7 MiB from 1 to 2
// vCPUs and by less than 1 MiB from 2 to 4 (a thread, TCG's TLB and state);
// with qemu_base + tcg_state above the fixed part measured, 4 MiB covers it.
constexpr Bytes per_vcpu = mib(4);
// TCG beyond the code cache (hash tables, region bookkeeping); measured
// together with qemu_base, so it keeps the estimate of the first notes.
// The code cache itself is the tb-size term: up to 100% of it resident
// (32 MiB caches filled; larger ones held 48 to 52 MiB in these runs).
constexpr Bytes tcg_state = mib(16);
// qcow2 L2 and refcount caches (1 MiB + 256 KiB defaults); the calibration
// guests have no disk, so this is not measured.
constexpr Bytes per_disk = mib(2);
// This launcher's RSS when it shares the cgroup: VmHWM 3.7 MiB measured
// (0.3 MiB of it private; bench/results/latest.txt), rounded up. libcgroup's
// helper lives only while the cgroup is set up, before QEMU starts.
constexpr Bytes launcher = mib(4);
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
