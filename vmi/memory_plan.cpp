#include "vmi/memory_plan.hpp"

#include <fmt/format.h>

namespace vmi {
namespace {

Bytes bytes_of(const QuantityField& q) { return q.value.bytes().value_or(Bytes{}); }

std::string show(Bytes b) { return fmt::format("{} ({} bytes)", to_human(b), b.value); }

}  // namespace

std::string to_string(Accel a) { return a == Accel::kvm ? "kvm" : "tcg"; }
std::string to_string(Commitment c) {
    switch (c) {
        case Commitment::overcommit: return "overcommit";
        case Commitment::undercommit: return "undercommit";
        case Commitment::exact: break;
    }
    return "exact";
}

MemoryPlan plan_memory(const VmiSpec& spec, const PlanOptions& options) {
    const auto& mem = spec.domain.memory;
    const auto& res = spec.domain.resources;
    MemoryPlan p;
    p.options = options;
    p.overcommit_guest_overhead = res.overcommit_guest_overhead;

    // guest: memory.guest, else the limit when no request is set, else the request.
    const QuantityField& guest_q = mem.guest               ? *mem.guest
                                   : res.requests.memory ? *res.requests.memory
                                                         : *res.limits.memory;
    p.guest_requested = bytes_of(guest_q);
    p.guest = round_up(p.guest_requested, guest_alignment);

    // request: requests.memory, else limits.memory, else guest scaled by the
    // cluster's memory overcommit (explicit requests are never scaled).
    if (res.requests.memory) {
        p.request = bytes_of(*res.requests.memory);
    } else if (res.limits.memory) {
        p.request = bytes_of(*res.limits.memory);
    } else {
        // floor(guest x 100 / pct), without overflowing 64 bits.
        const std::uint64_t g = p.guest_requested.value;
        const std::uint64_t pct = std::max(options.memory_overcommit_percent, 1u);
        p.request = Bytes{g / pct * 100 + g % pct * 100 / pct};
    }
    if (res.limits.memory) p.limit = bytes_of(*res.limits.memory);

    p.commitment = p.guest_requested > p.request   ? Commitment::overcommit
                   : p.guest_requested < p.request ? Commitment::undercommit
                                                   : Commitment::exact;

    p.overhead_terms = is_kubevirt(options.model)
                           ? kubevirt_overhead(spec, p.request, options.model, options.overhead_ratio)
                           : launcher_overhead(spec, p.guest, options);
    for (const auto& t : p.overhead_terms) p.overhead += t.bytes;
    if (options.accel == Accel::tcg) p.tcg_tb_size = tcg_tb_size_for(p.guest);

    if (mem.hugepages_page_size) {
        // KubeVirt: guest RAM comes from the hugepages-<size> resource; the
        // memory request and limit hold the overhead plus what the request
        // (or limit) has beyond the guest.
        p.hugepages = p.guest;
        p.hugepage_size = bytes_of(*mem.hugepages_page_size);
        const Bytes req_extra = p.request > p.guest ? p.request - p.guest : Bytes{};
        p.pod_request = p.overhead + req_extra;
        if (p.limit) p.pod_limit = p.overhead + (*p.limit > p.guest ? *p.limit - p.guest : Bytes{});
        p.cgroup_limit = p.pod_limit ? *p.pod_limit : p.pod_request;
    } else {
        p.pod_request = p.overcommit_guest_overhead ? p.request : p.request + p.overhead;
        if (p.limit) p.pod_limit = *p.limit + p.overhead;
        p.cgroup_limit = p.pod_limit ? *p.pod_limit : p.request + p.overhead;
        const Bytes needed = p.guest + p.overhead;
        if (needed > p.cgroup_limit) {
            p.warnings.push_back(fmt::format(
                "guest memory {} plus overhead {} is {}, which exceeds the cgroup limit {} by {}: "
                "the VM can be OOM-killed if the guest touches all its memory",
                show(p.guest), show(p.overhead), show(needed), show(p.cgroup_limit), show(needed - p.cgroup_limit)));
        }
    }
    p.balloon = plan_balloon(spec, options.balloon, p.request, p.guest, p.hugepages.has_value());
    for (const auto& w : p.balloon.warnings) p.warnings.push_back(w);
    if (is_kubevirt(options.model) && options.accel == Accel::tcg) {
        p.warnings.push_back(fmt::format("the {} overhead model does not count TCG's translation cache ({})",
                                         to_string(options.model), show(*p.tcg_tb_size)));
    }
    return p;
}

}  // namespace vmi
