#include "vmi/capacity.hpp"

#include <stdexcept>

namespace vmi {
namespace {

std::int64_t minus(Bytes a, Bytes b) {
    return static_cast<std::int64_t>(a.value) - static_cast<std::int64_t>(b.value);
}

Bytes times(std::uint64_t n, Bytes b) { return Bytes{n * b.value}; }

// The pod's memory request in thousandths of a byte, as written: the plan
// keeps whole bytes (rounded up), which makes ten requests of 9.7Gi two
// bytes more than 97Gi.
std::uint64_t exact_pod_request_millis(const VmiSpec& spec, const MemoryPlan& plan) {
    const auto& r = spec.domain.resources;
    const std::uint64_t rounded = plan.pod_request.value * 1000;
    if (plan.hugepages) return rounded;
    const QuantityField* q = r.requests.memory ? &*r.requests.memory : r.limits.memory ? &*r.limits.memory : nullptr;
    if (!q) return rounded;
    const auto milli = q->value.scaled_ceil(3);
    if (!milli || *milli < 0) return rounded;
    const std::uint64_t excess = plan.request.value * 1000 - static_cast<std::uint64_t>(*milli);
    return rounded - excess;
}

}  // namespace

Bytes NodeMemory::allocatable() const {
    if (reserved + system >= node) {
        throw std::invalid_argument("the node's memory " + to_string(node) + " leaves nothing after reserved " +
                                    to_string(reserved) + " and system " + to_string(system));
    }
    return node - reserved - system;
}

CapacityRow capacity_for(const VmiSpec& spec, const MemoryPlan& plan, const NodeMemory& node) {
    const Bytes allocatable = node.allocatable();
    CapacityRow r;
    r.vmi = spec.metadata.namespace_name + "/" + spec.metadata.name;
    r.model = plan.options.model;
    r.guest = plan.guest;
    r.overhead = plan.overhead;
    r.pod_request = plan.pod_request;
    r.overhead_requested = !plan.overcommit_guest_overhead;
    r.scheduler_fit = plan.pod_request.value == 0 ? 0 : allocatable.value / plan.pod_request.value;
    const std::uint64_t exact = exact_pod_request_millis(spec, plan);
    r.fit = exact == 0 ? 0 : allocatable.value * 1000 / exact;
    r.requested = Bytes{(r.fit * exact + 500) / 1000};
    r.unrequested = minus(allocatable, r.requested);
    r.guests = times(r.fit, plan.guest);
    r.free_after_guests = minus(allocatable, r.guests);
    r.touch = times(r.fit, plan.guest + plan.overhead);
    r.free_after_touch = minus(allocatable, r.touch);
    r.overcommit_ratio = static_cast<double>(r.touch.value) / static_cast<double>(allocatable.value);
    r.guest_to_request = plan.request.value == 0 ? 0
                                                  : static_cast<double>(plan.guest_requested.value) /
                                                        static_cast<double>(plan.request.value);
    return r;
}

}  // namespace vmi
