// The seed's node example: a 100 GiB node, 2 GiB reserved, 1 GiB for system
// pods, 97 GiB allocatable. Every expected figure is worked out here from
// the plan's numbers, and the blog's statements are checked against them.
#include <catch2/catch.hpp>

#include "test_files.hpp"
#include "vmi/capacity.hpp"
#include "vmi/validate.hpp"

using namespace vmi;

namespace {

const NodeMemory blog_node{gib(100), gib(2), gib(1)};

VmiSpec example(const char* name) { return load_vmi(test_files::read(test_files::source_root() / "examples" / name)); }

}  // namespace

TEST_CASE("the node example: 97 GiB allocatable") { CHECK(blog_node.allocatable() == gib(97)); }

TEST_CASE("ten VMIs with 10 GiB guests fit on 9.7 GiB requests: the node is overcommitted") {
    const VmiSpec spec = example("node-overcommit-10gi.yaml");
    for (const auto model : {OverheadModel::launcher, OverheadModel::kubevirt}) {
        INFO(to_string(model));
        const MemoryPlan plan = plan_memory(spec, {model, Accel::kvm, 100, true});
        const CapacityRow r = capacity_for(spec, plan, blog_node);
        // overcommitGuestOverhead: the scheduler counts the request alone.
        CHECK_FALSE(r.overhead_requested);
        CHECK(r.pod_request == plan.request);
        CHECK(r.fit == 10);
        // 9.7Gi is 10415295692.8 bytes: ten of them are exactly 97 GiB...
        CHECK(r.requested == gib(97));
        CHECK(r.unrequested == 0);
        // ...but rounded up to whole bytes, as the scheduler adds them, ten are 2 bytes too many.
        CHECK(plan.pod_request.value * 10 == gib(97).value + 2);
        CHECK(r.scheduler_fit == 9);
        // The guests alone may touch 100 GiB on 97 GiB: 3 GiB more than the node has.
        CHECK(r.guests == gib(100));
        CHECK(r.free_after_guests == -static_cast<std::int64_t>(gib(3).value));
        CHECK(r.touch.value == 10 * (plan.guest.value + plan.overhead.value));
        CHECK(r.overcommit_ratio > 1.0);
        CHECK(r.overcommit_ratio == Approx(static_cast<double>(r.touch.value) / static_cast<double>(gib(97).value)));
        CHECK(r.guest_to_request == Approx(10.0 / 9.7));
    }
}

TEST_CASE("with 9 GiB guests about 7 GiB stay free for the node") {
    const VmiSpec spec = example("node-undercommit-9gi.yaml");
    for (const auto model : {OverheadModel::launcher, OverheadModel::kubevirt}) {
        INFO(to_string(model));
        const MemoryPlan plan = plan_memory(spec, {model, Accel::kvm, 100, true});
        const CapacityRow r = capacity_for(spec, plan, blog_node);
        CHECK(r.fit == 10);
        CHECK(r.guests == gib(90));
        // 97 - 10 x 9 GiB: exactly 7 GiB no guest can use.
        CHECK(r.free_after_guests == static_cast<std::int64_t>(gib(7).value));
        // The overhead takes its share of those 7 GiB.
        CHECK(r.free_after_touch == static_cast<std::int64_t>(gib(7).value - 10 * plan.overhead.value));
        CHECK(r.overcommit_ratio < 1.0);
        CHECK(r.guest_to_request < 1.0);
    }
}

TEST_CASE("without overcommitGuestOverhead the overhead is requested and fewer VMIs fit") {
    VmiSpec spec = example("node-overcommit-10gi.yaml");
    spec.domain.resources.overcommit_guest_overhead = false;
    const MemoryPlan plan = plan_memory(spec, {OverheadModel::kubevirt, Accel::kvm, 100, true});
    const CapacityRow r = capacity_for(spec, plan, blog_node);
    CHECK(r.overhead_requested);
    CHECK(r.pod_request == plan.request + plan.overhead);
    CHECK(r.fit == gib(97).value / (plan.request + plan.overhead).value);
    CHECK(r.fit == 9);
}

TEST_CASE("a node with nothing left is an error") {
    CHECK_THROWS_WITH((NodeMemory{gib(3), gib(2), gib(1)}.allocatable()), Catch::Contains("leaves nothing"));
}

TEST_CASE("nodes beyond 16 PiB: exact figures, no wrap-around") {
    // allocatable x 1000 passed 2^64 at about 16 PiB and wrapped: a 32 PiB
    // node reported a fit of a few thousand VMs.
    const VmiSpec spec = example("node-overcommit-10gi.yaml");
    const MemoryPlan plan = plan_memory(spec, {OverheadModel::launcher, Accel::kvm, 100, true});
    const NodeMemory big{Bytes{std::uint64_t{32} << 50}, Bytes{}, Bytes{}};
    const CapacityRow r = capacity_for(spec, plan, big);
    // 32 PiB / 9.7 GiB, as exact decimals: 2^55 x 10 / (97 x 2^30) = 10 x 2^25 / 97.
    CHECK(r.fit == (std::uint64_t{10} << 25) / 97);
    CHECK(r.guests == times(r.fit, plan.guest));
    CHECK(r.unrequested >= 0);

    // At 8 EiB - 1 (the quantity maximum) what cannot be said in 64 bits
    // is an error, never a wrapped figure.
    const NodeMemory huge{Bytes{(std::uint64_t{1} << 63) - 1}, Bytes{}, Bytes{}};
    const MemoryPlan small = plan_memory(load_vmi("apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n"
                                                  "  name: s\nspec:\n  domain:\n    memory: {guest: 16Ti}\n"
                                                  "    resources: {requests: {memory: 1M}}\n"),
                                         {OverheadModel::launcher, Accel::kvm, 100, true});
    const VmiSpec small_spec = load_vmi("apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n"
                                        "  name: s\nspec:\n  domain:\n    memory: {guest: 16Ti}\n"
                                        "    resources: {requests: {memory: 1M}}\n");
    CHECK_THROWS_AS(capacity_for(small_spec, small, huge), std::overflow_error);
    // Overcommitted, what 10 GiB guests may touch on it passes 2^63: said so.
    CHECK_THROWS_WITH(capacity_for(spec, plan, huge), Catch::Contains("does not fit a signed 64-bit figure"));
}
