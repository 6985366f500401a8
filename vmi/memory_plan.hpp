// The memory plan: what QEMU's -m gets, what the VM's cgroup may hold, and
// what the pod asks Kubernetes for. Pure: a function of the spec and options.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmi/balloon_plan.hpp"
#include "vmi/bytes.hpp"
#include "vmi/spec.hpp"

namespace vmi {

enum class Accel { kvm, tcg };
// `kubevirt` is KubeVirt's formula on its main branch; the others are the
// formula of one KubeVirt release (vmi/overhead.cpp cites each term).
enum class OverheadModel { launcher, kubevirt, kubevirt_v1_9, kubevirt_v1_8, kubevirt_v1_7, kubevirt_v1_6 };
enum class Commitment { exact, overcommit, undercommit };

std::string to_string(Accel a);
// "launcher", "kubevirt", "kubevirt-v1.9", ...: what --overhead-model takes.
std::string to_string(OverheadModel m);
std::optional<OverheadModel> parse_overhead_model(std::string_view name);
// Every model, in the order the help lists them.
std::vector<OverheadModel> overhead_models();
bool is_kubevirt(OverheadModel m);

// KubeVirt's cluster setting additionalGuestMemoryOverheadRatio, which
// multiplies the kubevirt models' overhead. Decimal text: 1 to 10 with at
// most 6 decimals ("1", "1.25"); nullopt for anything else. KubeVirt itself
// refuses ratios below 1.0 and sets no upper bound; 10 is the launcher's.
std::optional<double> parse_overhead_ratio(std::string_view text);
std::string to_string(Commitment c);

struct PlanOptions {
    OverheadModel model = OverheadModel::launcher;
    Accel accel = Accel::tcg;
    // KubeVirt's cluster-wide memoryOvercommit percentage (>= 10): a VMI that
    // gives only memory.guest requests guest x 100 / this.
    unsigned memory_overcommit_percent = 100;
    // The launcher itself lives in the VM's cgroup (adopt and pod modes).
    bool launcher_in_cgroup = false;
    // --balloon: auto balloons an overcommitted VM between floor and ceiling.
    BalloonMode balloon = BalloonMode::auto_;
    // --overhead-ratio (see parse_overhead_ratio); the launcher model ignores it.
    double overhead_ratio = 1.0;
    bool operator==(const PlanOptions&) const = default;
};

// One named part of the overhead, so the plan can show its breakdown.
struct OverheadTerm {
    std::string name;
    Bytes bytes;
    bool operator==(const OverheadTerm&) const = default;
};

// QEMU's -m is kept in whole MiB, as libvirt does for KubeVirt: the guest's
// bytes are rounded up to this.
inline constexpr std::uint64_t guest_alignment = 1 << 20;

struct MemoryPlan {
    Bytes guest_requested;  // the VMI's guest memory in bytes (the quantity rounded up)
    Bytes guest;            // exactly what -m gets: guest_requested rounded up to 1 MiB
    Bytes request;          // the VMI's memory request after KubeVirt's defaults
    std::optional<Bytes> limit;
    std::vector<OverheadTerm> overhead_terms;
    Bytes overhead;
    Bytes pod_request;
    std::optional<Bytes> pod_limit;
    Bytes cgroup_limit;  // what the launcher enforces
    std::optional<Bytes> hugepages;         // guest RAM taken from huge pages (pod resource hugepages-<size>)
    std::optional<Bytes> hugepage_size;
    std::optional<Bytes> tcg_tb_size;       // -accel tcg,tb-size= (TCG only)
    Commitment commitment = Commitment::exact;
    bool overcommit_guest_overhead = false;
    PlanOptions options;
    std::vector<std::string> warnings;
    BalloonPlan balloon;  // floor and ceiling when the launcher balloons the guest
    bool operator==(const MemoryPlan&) const = default;
};

// The TCG translation cache size the launcher passes (and counts).
Bytes tcg_tb_size_for(Bytes guest);

// KubeVirt's formula (GetMemoryOverhead) as the release `model` names has it.
// `request` is the memory request after KubeVirt's defaults (plan_memory's).
std::vector<OverheadTerm> kubevirt_overhead(const VmiSpec& spec, Bytes request, OverheadModel model,
                                            double overhead_ratio = 1.0);
// This launcher's own estimate of what QEMU and the launcher really use.
std::vector<OverheadTerm> launcher_overhead(const VmiSpec& spec, Bytes guest, const PlanOptions& options);

// The plan for a validated spec (see validate.hpp).
MemoryPlan plan_memory(const VmiSpec& spec, const PlanOptions& options);

}  // namespace vmi
