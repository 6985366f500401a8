// KubeVirt's memory overhead formula (GetMemoryOverhead), release by release.
//
// Sources, in kubevirt/kubevirt:
//   v1.6.0, v1.7.0: pkg/virt-controller/services/renderresources.go
//                   (GetMemoryOverhead) and template.go (the process constants)
//   v1.8.0, v1.9.0, main: pkg/hypervisor/kvm/hypervisorbackend.go
// main is the commit d923fdb815cd of 2026-08-22. Every release has the same
// terms in the same order; what differs is in `Release` below.
#include <cstdlib>
#include <string>

#include "vmi/memory_plan.hpp"

namespace vmi {
namespace {

struct Release {
    OverheadModel model;
    // QemuOverhead: "30Mi" in template.go (v1.6.0, v1.7.0) and in
    // hypervisorbackend.go (v1.8.0, v1.9.0); "50Mi" on main.
    Bytes qemu;
    // Up to v1.6 the VMI mutator's setDefaultResourceRequests
    // (pkg/defaults/defaults.go) wrote requests.memory from the limit or from
    // memory.guest x 100 / memoryOvercommit before the overhead was computed,
    // so the page-table term saw that request. From v1.7.0 the default lives
    // only in renderresources.go's pod requests, and GetMemoryOverhead reads
    // the VMI's own requests.memory: 0 when the VMI gives none.
    bool pagetables_from_defaulted_request;
    // v1.6.0: util.IsSEVVMI (launchSecurity.sev). From v1.7.0: IsSEVVMI ||
    // IsSEVSNPVMI || IsSEVESVMI (pkg/util/amd64.go), i.e. sev or snp.
    bool snp_counts_as_sev;
    // From v1.8.0: util.RequiresMemoryOverheadReservation adds
    // memory.reservedOverhead.addedOverhead.
    bool reserved_overhead;
};

constexpr Release releases[] = {
    {OverheadModel::kubevirt, mib(50), false, true, true},
    {OverheadModel::kubevirt_v1_9, mib(30), false, true, true},
    {OverheadModel::kubevirt_v1_8, mib(30), false, true, true},
    {OverheadModel::kubevirt_v1_7, mib(30), false, true, false},
    {OverheadModel::kubevirt_v1_6, mib(30), true, false, false},
};

const Release& release_of(OverheadModel m) {
    for (const auto& r : releases) {
        if (r.model == m) return r;
    }
    return releases[0];
}

Bytes bytes_of(const QuantityField& q) { return q.value.bytes().value_or(Bytes{}); }

// resource.Quantity.ScaledValue(resource.Kilo): the value in kilo, rounded up.
std::uint64_t kilo_rounded_up(Bytes b) { return b.value / 1000 + (b.value % 1000 != 0); }

// vmi.WantsToHaveQOSGuaranteed (staging/src/kubevirt.io/api/core/v1/types.go):
// memory and CPU requests equal to their limits, a request defaulting to the
// limit (by the mutator up to v1.6, spelled out in the function from v1.7.0
// for memory; the CPU request is defaulted from the limit in every release).
bool wants_guaranteed_qos(const Resources& r) {
    const auto& req_mem = r.requests.memory ? r.requests.memory : r.limits.memory;
    const auto& req_cpu = r.requests.cpu ? r.requests.cpu : r.limits.cpu;
    if (!req_mem || !req_cpu || !r.limits.memory || !r.limits.cpu) return false;
    return req_mem->value.bytes() == r.limits.memory->value.bytes() &&
           req_cpu->value.millis() == r.limits.cpu->value.millis() && req_mem->value.bytes() != Bytes{0} &&
           req_cpu->value.millis() != 0;
}

}  // namespace

std::vector<OverheadTerm> kubevirt_overhead(const VmiSpec& spec, Bytes request, OverheadModel model,
                                            double overhead_ratio) {
    const Release& rel = release_of(model);
    const auto& in = spec.overhead_inputs;
    const auto& domain = spec.domain;
    std::vector<OverheadTerm> terms;

    // "pagetableMemory": the request in kilo (rounded up) x 1000 / 512.
    const Bytes pagetable_request = rel.pagetables_from_defaulted_request ? request
                                    : domain.resources.requests.memory
                                        ? bytes_of(*domain.resources.requests.memory)
                                        : Bytes{};
    terms.push_back({"pagetables", Bytes{kilo_rounded_up(pagetable_request) * 1000 / 512}});
    // VirtLauncherMonitorOverhead, VirtLauncherOverhead, VirtlogdOverhead,
    // VirtqemudOverhead, QemuOverhead.
    terms.push_back({"virt_launcher_monitor", mib(25)});
    terms.push_back({"virt_launcher", mib(100)});
    terms.push_back({"virtlogd", mib(25)});
    terms.push_back({"virtqemud", mib(40)});
    terms.push_back({"qemu", rel.qemu});
    // "8Mi" per vCPU (hardware.GetNumberOfVCPUs of the defaulted topology,
    // which takes the CPU limit or request when no topology is given).
    terms.push_back({"vcpus", Bytes{mib(8).value * spec.vcpus()}});
    // "static overhead for IOThread".
    terms.push_back({"iothread", mib(8)});
    // Video RAM unless autoattachGraphicsDevice is false.
    if (domain.devices.autoattach_graphics_device) terms.push_back({"video", mib(32)});
    // (arm64's 128Mi of pflash does not apply: the launcher runs x86_64.)
    // IsVFIOVMI / vmitrait.HasVFIO: gpus, hostDevices or an sriov interface.
    if (in.vfio) terms.push_back({"vfio", gib(1)});
    // HasDownwardMetricDisk: a downwardMetrics volume's memory-backed emptyDir.
    if (in.downward_metrics_volume) terms.push_back({"downward_metrics", mib(1)});
    // addProbeOverheads: 10Mi per exec probe, 100Mi once for virt-probe.
    if (in.liveness_probe_exec) terms.push_back({"liveness_probe", mib(10)});
    if (in.readiness_probe_exec) terms.push_back({"readiness_probe", mib(10)});
    if (in.liveness_probe_exec || in.readiness_probe_exec) terms.push_back({"virt_probe", mib(100)});
    if (in.sev || (rel.snp_counts_as_sev && in.sev_snp)) terms.push_back({"sev", mib(256)});
    // tpm.HasDevice: swtpm.
    if (in.tpm) terms.push_back({"tpm", mib(53)});
    if (domain.cpu.dedicated_cpu_placement || wants_guaranteed_qos(domain.resources)) {
        terms.push_back({"dedicated_cpu_or_guaranteed_qos", mib(100)});
    }
    if (rel.reserved_overhead && in.reserved_overhead) {
        terms.push_back({"reserved_overhead", bytes_of(*in.reserved_overhead)});
    }

    // MultiplyMemory, last: the total in kilo (rounded up) x (ratio - 1),
    // truncated to whole kilo. KubeVirt computes it in float64; so does this,
    // on purpose, to land on the same kilo.
    if (overhead_ratio != 1.0) {
        Bytes total;
        for (const auto& t : terms) total += t.bytes;
        const double extra = static_cast<double>(kilo_rounded_up(total)) * (overhead_ratio - 1.0);
        terms.push_back({"overhead_ratio", Bytes{static_cast<std::uint64_t>(extra) * 1000}});
    }
    return terms;
}

bool is_kubevirt(OverheadModel m) { return m != OverheadModel::launcher; }

std::string to_string(OverheadModel m) {
    switch (m) {
        case OverheadModel::launcher: return "launcher";
        case OverheadModel::kubevirt: return "kubevirt";
        case OverheadModel::kubevirt_v1_9: return "kubevirt-v1.9";
        case OverheadModel::kubevirt_v1_8: return "kubevirt-v1.8";
        case OverheadModel::kubevirt_v1_7: return "kubevirt-v1.7";
        case OverheadModel::kubevirt_v1_6: return "kubevirt-v1.6";
    }
    return "launcher";
}

std::vector<OverheadModel> overhead_models() {
    return {OverheadModel::launcher,      OverheadModel::kubevirt,      OverheadModel::kubevirt_v1_9,
            OverheadModel::kubevirt_v1_8, OverheadModel::kubevirt_v1_7, OverheadModel::kubevirt_v1_6};
}

std::optional<OverheadModel> parse_overhead_model(std::string_view name) {
    for (const auto m : overhead_models()) {
        if (to_string(m) == name) return m;
    }
    return std::nullopt;
}

std::optional<double> parse_overhead_ratio(std::string_view text) {
    // Digits, then optionally a point and 1 to 6 digits: no sign, exponent,
    // "inf" or "nan", so strtod reads exactly what was checked.
    const std::size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    const auto digits = [](std::string_view s) {
        for (char c : s) {
            if (c < '0' || c > '9') return false;
        }
        return true;
    };
    if (whole.empty() || whole.size() > 2 || !digits(whole)) return std::nullopt;
    if (dot != std::string_view::npos && (frac.empty() || frac.size() > 6 || !digits(frac))) return std::nullopt;
    const double value = std::strtod(std::string(text).c_str(), nullptr);
    if (!(value >= 1.0 && value <= 10.0)) return std::nullopt;
    return value;
}

}  // namespace vmi
