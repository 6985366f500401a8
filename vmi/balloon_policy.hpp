// The balloon policy: from the guest's balloon statistics, the VM cgroup's
// usage and a pressure signal to the balloon target the launcher should ask
// QEMU for. Pure: the launcher's watchers and QMP client feed it and apply
// what it returns; every input, the clock included, is a parameter.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "vmi/bytes.hpp"

namespace vmi {

// Milliseconds on the launcher's monotonic clock (any fixed origin).
using BalloonTime = std::chrono::milliseconds;

// What QEMU's `guest-stats` (qom-get on the balloon device) reported; a
// statistic the guest did not send is absent.
struct BalloonStats {
    std::optional<Bytes> available;    // stat-available-memory (MemAvailable)
    std::optional<Bytes> disk_caches;  // stat-disk-caches
    std::optional<Bytes> free;         // stat-free-memory
    // When the guest sent them, on the same clock as BalloonInput::now;
    // absent when unknown (then the policy waits `settle` after a change).
    std::optional<BalloonTime> updated;
    bool operator==(const BalloonStats&) const = default;
};

enum class BalloonSignal {
    none,               // a timer tick: only deflation is considered
    cgroup_near_limit,  // a v1 usage threshold, v2 memory.high event or cgroup PSI trigger fired
    node_pressure,      // the node's PSI trigger or the parent cgroup near its limit
    polled,             // a poller read the numbers (no event source)
};
std::string to_string(BalloonSignal s);

// Knobs; the defaults are what the launcher uses.
struct BalloonTuning {
    Bytes margin = mib(64);        // left available in the guest when inflating
    Bytes min_change = mib(16);    // smaller inflations are not worth a command
    Bytes deflate_step = mib(64);  // given back per deflation step
    BalloonTime quiet{30'000};     // no pressure for this long before deflating
    BalloonTime step_interval{10'000};  // between two deflation steps
    BalloonTime settle{2'000};     // after a change, when stats carry no time
    bool operator==(const BalloonTuning&) const = default;
};

// The usage marks for a cgroup limit: at or above `high` the VM is near its
// limit (pressure); the balloon deflates only while usage plus a step stays
// at or below `low`. The gap between them is the hysteresis.
struct BalloonMarks {
    Bytes high;
    Bytes low;
    bool operator==(const BalloonMarks&) const = default;
};
// headroom = limit/10, at least 32 MiB, at most limit/4; high = limit -
// headroom, low = limit - 2 x headroom, both rounded down to 4 KiB pages.
BalloonMarks balloon_marks(Bytes limit);

// What to arm in the kernel for those marks: cgroup v1 usage thresholds
// (cgroup.event_control fires when usage crosses one in either direction),
// and the cgroup v2 memory.high value (below memory.max: the kernel reclaims
// and counts `high` events above it).
struct BalloonThresholds {
    std::vector<Bytes> v1_usage;  // ascending: low, high
    Bytes v2_memory_high;
    bool operator==(const BalloonThresholds&) const = default;
};
BalloonThresholds balloon_thresholds(Bytes limit);

// What the policy remembers between calls; start from balloon_start().
struct BalloonState {
    Bytes target;                             // the target last set (the ceiling at start)
    std::optional<BalloonTime> last_pressure;  // when pressure was last seen
    std::optional<BalloonTime> last_change;    // when the target last changed
    bool operator==(const BalloonState&) const = default;
};
BalloonState balloon_start(Bytes ceiling);

struct BalloonInput {
    BalloonStats stats;
    Bytes usage;                 // the VM cgroup's memory usage
    std::optional<Bytes> limit;  // its limit (absent: unlimited or unreadable)
    Bytes floor;                 // never below (see balloon_plan.hpp)
    Bytes ceiling;               // never above: the guest memory (-m)
    BalloonSignal signal = BalloonSignal::none;
    BalloonTime now{0};
    // The guest's memory now (QMP query-balloon); above the target while the
    // balloon is still inflating. Absent: taken to be the target.
    std::optional<Bytes> actual;
};

enum class BalloonReason {
    inflate,          // pressure: took what the guest can spare
    floor_reached,    // pressure, and the target is (now) at the floor
    nothing_to_give,  // pressure, but available minus the margin is under min_change
    no_stats,         // pressure, but the guest sent no usable statistics
    stale_stats,      // pressure, but the statistics predate the last change
    deflate,          // pressure gone: one step back towards the ceiling
    hold,             // pressure gone, deflation not due yet or would near the limit
    idle,             // no pressure, target at the ceiling
    disabled,         // floor >= ceiling: nothing to balloon
};
std::string to_string(BalloonReason r);

struct BalloonDecision {
    std::optional<Bytes> target;  // set: send QMP balloon with this value
    BalloonReason reason = BalloonReason::idle;
    std::string detail;           // one line for the log, in MiB
    BalloonState state;           // to pass to the next call
    bool operator==(const BalloonDecision&) const = default;
};

// One step of the policy (balloon_policy.cpp explains the rules).
BalloonDecision decide_balloon(const BalloonState& state, const BalloonInput& in,
                               const BalloonTuning& tuning = {});

}  // namespace vmi
