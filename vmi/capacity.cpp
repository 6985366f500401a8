#include "vmi/capacity.hpp"

#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace vmi {
namespace {

__extension__ typedef unsigned __int128 u128;  // GCC and Clang both have it

// a - b as a signed figure; both are below 2^63 (quantities are), so the
// difference fits, but a bound missed elsewhere must not wrap silently.
std::int64_t minus(Bytes a, Bytes b) {
    std::int64_t out = 0;
    if (a.value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        b.value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        __builtin_sub_overflow(static_cast<std::int64_t>(a.value), static_cast<std::int64_t>(b.value), &out)) {
        throw std::overflow_error(fmt::format("capacity: {} - {} does not fit a signed 64-bit figure", a.value, b.value));
    }
    return out;
}

std::uint64_t narrow(u128 v, const char* what) {
    if (v > std::numeric_limits<std::uint64_t>::max()) {
        throw std::overflow_error(fmt::format("capacity: {} is more than 2^64 - 1 bytes", what));
    }
    return static_cast<std::uint64_t>(v);
}

// The pod's memory request in thousandths of a byte, as written: the plan
// keeps whole bytes (rounded up), which makes ten requests of 9.7Gi two
// bytes more than 97Gi.
std::uint64_t exact_pod_request_millis(const VmiSpec& spec, const MemoryPlan& plan) {
    const auto& r = spec.domain.resources;
    const std::uint64_t rounded = narrow(u128{plan.pod_request.value} * 1000, "the pod request in millibytes");
    if (plan.hugepages) return rounded;
    const QuantityField* q = r.requests.memory ? &*r.requests.memory : r.limits.memory ? &*r.limits.memory : nullptr;
    if (!q) return rounded;
    const auto milli = q->value.scaled_ceil(3);
    if (!milli || *milli < 0) return rounded;
    const u128 request_millis = u128{plan.request.value} * 1000;
    const auto written = static_cast<std::uint64_t>(*milli);
    // The request in bytes is the quantity rounded up: never below it, and
    // less than one byte above it.
    if (request_millis < written || request_millis - written > rounded) return rounded;
    return rounded - static_cast<std::uint64_t>(request_millis - written);
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
    // 128-bit: allocatable x 1000 passes 2^64 above 16 PiB.
    r.fit = exact == 0 ? 0 : narrow(u128{allocatable.value} * 1000 / exact, "the number of VMs");
    r.requested = Bytes{narrow((u128{r.fit} * exact + 500) / 1000, "fit x request")};
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
