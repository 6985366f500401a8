// How many copies of a VMI a node holds, by what the scheduler counts
// (requests) and by what the VMs may really touch (guest + overhead). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vmi/bytes.hpp"
#include "vmi/memory_plan.hpp"
#include "vmi/spec.hpp"

namespace vmi {

struct NodeMemory {
    Bytes node;      // the node's memory
    Bytes reserved;  // kube-reserved, system-reserved and eviction threshold together
    Bytes system;    // what system pods (DaemonSets, the CNI, ...) request
    bool operator==(const NodeMemory&) const = default;

    // What is left for VMIs: node - reserved - system; throws
    // std::invalid_argument when nothing is.
    Bytes allocatable() const;
};

// One VMI under one overhead model. Figures below `fit` count `fit` VMs. Signed figures go negative when the
// VMs may touch more than the node has (memory overcommit).
struct CapacityRow {
    std::string vmi;  // namespace/name
    OverheadModel model = OverheadModel::launcher;
    Bytes guest;        // per VM: what -m gets
    Bytes overhead;     // per VM
    Bytes pod_request;  // per VM: what the scheduler counts
    bool overhead_requested = true;  // false with overcommitGuestOverhead
    std::uint64_t fit = 0;           // floor(allocatable / pod_request), with the request exact
                                     // as written (9.7Gi is 10415295692.8 bytes): the seed's arithmetic
    std::uint64_t scheduler_fit = 0; // the same with each request rounded up to whole bytes, as
                                     // kube-scheduler adds them up (Quantity.Value())
    Bytes requested;                 // fit x pod_request (exact, to the nearest byte)
    std::int64_t unrequested = 0;    // allocatable - requested
    Bytes guests;                    // fit x guest
    std::int64_t free_after_guests = 0;  // allocatable - guests: the seed's "free for the node"
    Bytes touch;                     // fit x (guest + overhead): what the VMs may really touch
    std::int64_t free_after_touch = 0;   // allocatable - touch
    double overcommit_ratio = 0;     // touch / allocatable: above 1 the node is overcommitted
    double guest_to_request = 0;     // guest / request of one VMI (above 1: the VMI overcommits)
    bool operator==(const CapacityRow&) const = default;
};

CapacityRow capacity_for(const VmiSpec& spec, const MemoryPlan& plan, const NodeMemory& node);

}  // namespace vmi
