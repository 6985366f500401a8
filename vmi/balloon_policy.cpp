// The rules, in order:
//
// 1. floor >= ceiling: nothing to balloon, ever.
// 2. Pressure is an event signal (the VM's cgroup near its limit, the node
//    under pressure) or, whatever the signal, cgroup usage at or above the
//    high mark: the numbers count even when no event source exists.
// 3. Under pressure the balloon takes what the guest can spare without
//    touching its working set: MemAvailable minus a margin (without
//    MemAvailable, free memory minus the margin; disk caches alone are not
//    trusted because they include tmpfs, which the guest cannot drop). The
//    target never goes below the floor; a take smaller than min_change is not
//    worth a command. Statistics older than the last change describe the
//    guest before that inflation, so the policy waits for fresh ones rather
//    than take the same memory twice.
// 3b. The guest's free memory counts against the limit: usage plus the
//    memory the guest holds free (less what the balloon is still taking)
//    above the limit is memory the cgroup cannot back, and a guest that
//    touches it is killed faster than a balloon can inflate under TCG. It is
//    pressure whatever the signal; the balloon then takes only the excess
//    over the high mark (free pages: it costs the guest nothing now).
// 4. Without pressure the balloon deflates one step at a time, only after a
//    quiet period, at most one step per interval, and only while usage plus
//    the step stays at or below the low mark, and usage plus the guest's free
//    memory plus the step stays within the limit (else 3b takes it back at
//    once). A guest that fills whatever it
//    is given therefore stops growing below the high mark instead of cycling
//    between inflation and deflation.
#include "vmi/balloon_policy.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace vmi {
namespace {

constexpr std::uint64_t page = 4096;

Bytes round_down(Bytes b, std::uint64_t unit) { return {b.value / unit * unit}; }

std::uint64_t in_mib(Bytes b) { return b.value >> 20; }

bool event_signal(BalloonSignal s) {
    return s == BalloonSignal::cgroup_near_limit || s == BalloonSignal::node_pressure;
}

BalloonDecision keep(const BalloonState& state, BalloonReason reason, std::string detail) {
    return {std::nullopt, reason, std::move(detail), state};
}

BalloonDecision change(BalloonState state, Bytes target, BalloonTime now, BalloonReason reason, std::string detail) {
    state.target = target;
    state.last_change = now;
    return {target, reason, std::move(detail), state};
}

// The statistics were sent before the last change (or, with no time on them,
// the change is too recent for the guest to have reported since).
bool stale(const BalloonState& state, const BalloonInput& in, const BalloonTuning& t) {
    if (!state.last_change) return false;
    if (in.stats.updated) return *in.stats.updated <= *state.last_change;
    return in.now - *state.last_change < t.settle;
}

BalloonDecision inflate(BalloonState state, const BalloonInput& in, const BalloonTuning& t, const std::string& why,
                        std::optional<Bytes> cap = std::nullopt) {
    state.last_pressure = in.now;
    if (state.target <= in.floor) {
        return keep(state, BalloonReason::floor_reached,
                    fmt::format("{}: target already at the floor {} MiB", why, in_mib(in.floor)));
    }
    if (stale(state, in, t)) {
        return keep(state, BalloonReason::stale_stats,
                    fmt::format("{}: waiting for statistics newer than the last change", why));
    }
    const std::optional<Bytes> spare = in.stats.available ? in.stats.available : in.stats.free;
    if (!spare) {
        return keep(state, BalloonReason::no_stats,
                    fmt::format("{}: the guest reports neither available nor free memory", why));
    }
    Bytes give = *spare > t.margin ? *spare - t.margin : Bytes{};
    if (cap) give = std::min(give, *cap);
    if (give < t.min_change) {
        return keep(state, BalloonReason::nothing_to_give,
                    fmt::format("{}: the guest has {} MiB {}, no more than the {} MiB margin plus {} MiB", why,
                                in_mib(*spare), in.stats.available ? "available" : "free", in_mib(t.margin),
                                in_mib(t.min_change)));
    }
    const Bytes wanted = give < state.target ? round_down(state.target - give, 1 << 20) : Bytes{};
    // Within min_change of the floor: the floor now, not one more command
    // for the last few MiB later.
    const Bytes target = wanted < in.floor + t.min_change ? in.floor : wanted;
    const Bytes old = state.target;
    const auto reason = target == in.floor ? BalloonReason::floor_reached : BalloonReason::inflate;
    return change(state, target, in.now, reason,
                  fmt::format("{}: guest {} MiB {}, target {} -> {} MiB{}", why, in_mib(*spare),
                              in.stats.available ? "available" : "free", in_mib(old), in_mib(target),
                              reason == BalloonReason::floor_reached ? " (the floor)" : ""));
}

BalloonDecision deflate(BalloonState state, const BalloonInput& in, const BalloonTuning& t,
                        const std::optional<BalloonMarks>& marks) {
    if (state.target >= in.ceiling) return keep(state, BalloonReason::idle, "no pressure, target at the ceiling");
    if (state.last_pressure && in.now - *state.last_pressure < t.quiet) {
        return keep(state, BalloonReason::hold,
                    fmt::format("pressure {} ms ago, deflating after {} ms without it",
                                (in.now - *state.last_pressure).count(), t.quiet.count()));
    }
    if (state.last_change && in.now - *state.last_change < t.step_interval) {
        return keep(state, BalloonReason::hold,
                    fmt::format("last change {} ms ago, one step per {} ms", (in.now - *state.last_change).count(),
                                t.step_interval.count()));
    }
    const Bytes target = std::min(in.ceiling, state.target + t.deflate_step);
    const Bytes grow = target - state.target;
    if (marks && in.usage + grow > marks->low) {
        return keep(state, BalloonReason::hold,
                    fmt::format("usage {} MiB plus {} MiB would pass the low mark {} MiB", in_mib(in.usage),
                                in_mib(grow), in_mib(marks->low)));
    }
    if (in.limit && in.stats.free && in.usage + *in.stats.free + grow > *in.limit) {
        return keep(state, BalloonReason::hold,
                    fmt::format("usage {} MiB plus guest free {} MiB plus {} MiB would pass the limit {} MiB",
                                in_mib(in.usage), in_mib(*in.stats.free), in_mib(grow), in_mib(*in.limit)));
    }
    const Bytes old = state.target;
    return change(state, target, in.now, BalloonReason::deflate,
                  fmt::format("no pressure: target {} -> {} MiB", in_mib(old), in_mib(target)));
}

}  // namespace

std::string to_string(BalloonSignal s) {
    switch (s) {
        case BalloonSignal::cgroup_near_limit: return "cgroup near limit";
        case BalloonSignal::node_pressure: return "node pressure";
        case BalloonSignal::polled: return "polled";
        case BalloonSignal::none: break;
    }
    return "none";
}

std::string to_string(BalloonReason r) {
    switch (r) {
        case BalloonReason::inflate: return "inflate";
        case BalloonReason::floor_reached: return "floor reached";
        case BalloonReason::nothing_to_give: return "nothing to give";
        case BalloonReason::no_stats: return "no statistics";
        case BalloonReason::stale_stats: return "stale statistics";
        case BalloonReason::deflate: return "deflate";
        case BalloonReason::hold: return "hold";
        case BalloonReason::disabled: return "disabled";
        case BalloonReason::idle: break;
    }
    return "idle";
}

BalloonMarks balloon_marks(Bytes limit) {
    const Bytes headroom = std::min(std::max(Bytes{limit.value / 10}, mib(32)), Bytes{limit.value / 4});
    return {round_down(limit - headroom, page), round_down(limit - headroom - headroom, page)};
}

BalloonThresholds balloon_thresholds(Bytes limit) {
    const BalloonMarks m = balloon_marks(limit);
    return {{m.low, m.high}, m.high};
}

BalloonState balloon_start(Bytes ceiling) { return {ceiling, std::nullopt, std::nullopt}; }

BalloonDecision decide_balloon(const BalloonState& state_in, const BalloonInput& in, const BalloonTuning& t) {
    BalloonState state = state_in;
    if (in.floor >= in.ceiling) {
        return keep(state, BalloonReason::disabled,
                    fmt::format("floor {} MiB is not below the ceiling {} MiB", in_mib(in.floor), in_mib(in.ceiling)));
    }
    // A target from outside the range (a changed plan) is pulled back into it.
    state.target = std::clamp(state.target, in.floor, in.ceiling);

    std::optional<BalloonMarks> marks;
    if (in.limit) marks = balloon_marks(*in.limit);
    if (event_signal(in.signal)) return inflate(state, in, t, to_string(in.signal));
    if (marks && in.usage >= marks->high) {
        return inflate(state, in, t,
                       fmt::format("usage {} MiB at or above the high mark {} MiB ({})", in_mib(in.usage),
                                   in_mib(marks->high), to_string(in.signal)));
    }
    if (marks && in.stats.free) {
        // What the balloon has yet to take is not the guest's to touch.
        const Bytes pending = in.actual && *in.actual > state.target ? *in.actual - state.target : Bytes{};
        const Bytes free = *in.stats.free > pending ? *in.stats.free - pending : Bytes{};
        if (in.usage + free > *in.limit) {
            const Bytes reach = in.usage + free;
            return inflate(state, in, t,
                           fmt::format("usage {} MiB plus guest free {} MiB is above the limit {} MiB ({})",
                                       in_mib(in.usage), in_mib(free), in_mib(*in.limit), to_string(in.signal)),
                           reach - marks->high);
        }
    }
    return deflate(state, in, t, marks);
}

}  // namespace vmi
