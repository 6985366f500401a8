// The balloon policy on traces shaped like what the launcher records: one
// sample per second of guest statistics, cgroup usage and the signal that
// woke the launcher. Figures are the test guest's (guest 512 MiB, request
// 256 MiB, cgroup limit about 256 MiB + 160 MiB overhead).
#include <catch2/catch.hpp>

#include <vector>

#include "vmi/balloon_policy.hpp"

using namespace vmi;
using namespace std::chrono_literals;

namespace {

const Bytes floor_ = mib(256);
const Bytes ceiling = mib(512);
const Bytes limit = mib(416);

struct Sample {
    BalloonTime at;
    BalloonStats stats;
    Bytes usage;
    BalloonSignal signal;
};

// Runs the policy over a trace and returns every decision.
std::vector<BalloonDecision> replay(const std::vector<Sample>& trace, Bytes floor = floor_,
                                    std::optional<Bytes> lim = limit) {
    BalloonState state = balloon_start(ceiling);
    std::vector<BalloonDecision> out;
    for (const auto& s : trace) {
        BalloonInput in{s.stats, s.usage, lim, floor, ceiling, s.signal, s.at, std::nullopt};
        out.push_back(decide_balloon(state, in));
        state = out.back().state;
    }
    return out;
}

int changes(const std::vector<BalloonDecision>& ds) {
    int n = 0;
    for (const auto& d : ds) n += d.target ? 1 : 0;
    return n;
}

BalloonStats stats(Bytes available, Bytes caches, Bytes free, BalloonTime updated) {
    return {available, caches, free, updated};
}

}  // namespace

TEST_CASE("usage marks and what to arm in the kernel") {
    // 416 MiB: headroom 41.6 MiB (43620761 bytes), marks rounded down to 4 KiB.
    const BalloonMarks m = balloon_marks(limit);
    CHECK(m.high == Bytes{392585216});  // about 374.4 MiB
    CHECK(m.low == Bytes{348962816});   // about 332.8 MiB
    // Small limits keep at least 32 MiB of headroom, never more than a quarter.
    CHECK(balloon_marks(mib(200)).high == mib(168));
    CHECK(balloon_marks(mib(200)).low == mib(136));
    CHECK(balloon_marks(mib(64)).high == mib(48));
    CHECK(balloon_marks(mib(64)).low == mib(32));
    // Large limits: 10%.
    CHECK(balloon_marks(gib(10)).high == gib(9));
    CHECK(balloon_marks(gib(10)).low == gib(8));
    const BalloonThresholds t = balloon_thresholds(mib(200));
    CHECK(t.v1_usage == std::vector<Bytes>{mib(136), mib(168)});
    CHECK(t.v2_memory_high == mib(168));
}

TEST_CASE("a cache-heavy guest under pressure gives its cache back, once per fresh statistics") {
    // The guest reads a disk: usage climbs; at 380 MiB the cgroup threshold
    // fires. Usage plus the guest's free memory stays within the limit until
    // then (else the free memory alone is pressure: see the test below on it).
    const std::vector<Sample> trace{
        {0s, stats(mib(400), mib(200), mib(200), 0s), mib(200), BalloonSignal::none},
        {1s, stats(mib(330), mib(250), mib(80), 1s), mib(330), BalloonSignal::polled},
        {2s, stats(mib(300), mib(300), mib(20), 2s), mib(380), BalloonSignal::cgroup_near_limit},
        // Same statistics again (the guest has not reported since): no second take.
        {2200ms, stats(mib(300), mib(300), mib(20), 2s), mib(385), BalloonSignal::cgroup_near_limit},
        // The guest reported after the inflation: it gave 236 MiB, 64 MiB available.
        {3s, stats(mib(64), mib(60), mib(30), 3s), mib(180), BalloonSignal::none},
    };
    const auto d = replay(trace);
    CHECK_FALSE(d[0].target);
    CHECK(d[0].reason == BalloonReason::idle);
    CHECK_FALSE(d[1].target);  // 330 MiB is below the high mark (374 MiB)
    REQUIRE(d[2].target);
    CHECK(*d[2].target == mib(512 - (300 - 64)));  // 276 MiB: available minus the 64 MiB margin taken
    CHECK(d[2].reason == BalloonReason::inflate);
    CHECK(d[2].detail == "cgroup near limit: guest 300 MiB available, target 512 -> 276 MiB");
    CHECK_FALSE(d[3].target);
    CHECK(d[3].reason == BalloonReason::stale_stats);
    CHECK_FALSE(d[4].target);
    CHECK(d[4].reason == BalloonReason::hold);  // pressure only 1 s ago
    CHECK(d[4].state.target == mib(276));
}

TEST_CASE("usage at the high mark is pressure even when no event fired") {
    const auto d = replay({{0s, stats(mib(300), mib(300), mib(20), 0s), mib(380), BalloonSignal::polled}});
    REQUIRE(d[0].target);
    CHECK(*d[0].target == mib(276));
    CHECK(d[0].detail.starts_with("usage 380 MiB at or above the high mark 374 MiB (polled)"));
}

TEST_CASE("a working-set guest stops at the floor and says so") {
    // tmpfs fill: little available; the first take reaches the floor.
    const std::vector<Sample> trace{
        {0s, stats(mib(400), mib(300), mib(80), 0s), mib(390), BalloonSignal::cgroup_near_limit},
        {5s, stats(mib(150), mib(300), mib(10), 5s), mib(400), BalloonSignal::cgroup_near_limit},
        {6s, stats(mib(70), mib(300), mib(5), 6s), mib(410), BalloonSignal::cgroup_near_limit},
    };
    const auto d = replay(trace);
    REQUIRE(d[0].target);
    CHECK(*d[0].target == floor_);  // 512 - 336 would be 176 MiB: clamped
    CHECK(d[0].reason == BalloonReason::floor_reached);
    for (std::size_t i = 1; i < d.size(); ++i) {
        CHECK_FALSE(d[i].target);
        CHECK(d[i].reason == BalloonReason::floor_reached);
        CHECK(d[i].state.target == floor_);
    }
    CHECK(d[2].detail == "cgroup near limit: target already at the floor 256 MiB");
}

TEST_CASE("a guest with nothing to spare above the margin is left alone") {
    const auto d = replay({{0s, stats(mib(75), mib(70), mib(5), 0s), mib(400), BalloonSignal::node_pressure}});
    CHECK_FALSE(d[0].target);
    CHECK(d[0].reason == BalloonReason::nothing_to_give);
    CHECK(d[0].state.target == ceiling);
    CHECK(d[0].state.last_pressure == BalloonTime{0});
}

TEST_CASE("missing statistics") {
    SECTION("none at all: no action under pressure, reported") {
        const auto d = replay({{0s, BalloonStats{}, mib(400), BalloonSignal::cgroup_near_limit}});
        CHECK_FALSE(d[0].target);
        CHECK(d[0].reason == BalloonReason::no_stats);
    }
    SECTION("only disk caches (may be tmpfs): not trusted") {
        const auto d = replay({{0s, BalloonStats{std::nullopt, mib(300), std::nullopt, 0s}, mib(400),
                                BalloonSignal::cgroup_near_limit}});
        CHECK_FALSE(d[0].target);
        CHECK(d[0].reason == BalloonReason::no_stats);
    }
    SECTION("no available memory: free memory stands in") {
        const auto d = replay({{0s, BalloonStats{std::nullopt, mib(300), mib(164), 0s}, mib(400),
                                BalloonSignal::cgroup_near_limit}});
        REQUIRE(d[0].target);
        CHECK(*d[0].target == mib(412));
        CHECK(d[0].detail == "cgroup near limit: guest 164 MiB free, target 512 -> 412 MiB");
    }
    SECTION("no time on the statistics: a second take waits for the settle time") {
        const BalloonStats s{mib(200), mib(150), mib(20), std::nullopt};
        const auto d = replay({{0s, s, mib(400), BalloonSignal::cgroup_near_limit},
                               {1s, s, mib(400), BalloonSignal::cgroup_near_limit},
                               {2s, BalloonStats{mib(150), mib(100), mib(20), std::nullopt}, mib(400),
                                BalloonSignal::polled}});
        REQUIRE(d[0].target);
        CHECK(*d[0].target == mib(376));
        CHECK(d[1].reason == BalloonReason::stale_stats);
        // 2 s after the change the statistics count as fresh again.
        REQUIRE(d[2].target);
        CHECK(*d[2].target == mib(376 - (150 - 64)));
    }
}

TEST_CASE("floor equal to the ceiling does nothing") {
    BalloonInput in{stats(mib(400), mib(300), mib(100), 0s), mib(500), limit, ceiling, ceiling,
                    BalloonSignal::cgroup_near_limit, 0s, std::nullopt};
    const auto d = decide_balloon(balloon_start(ceiling), in);
    CHECK_FALSE(d.target);
    CHECK(d.reason == BalloonReason::disabled);
    in.floor = ceiling + mib(1);
    CHECK(decide_balloon(balloon_start(ceiling), in).reason == BalloonReason::disabled);
}

TEST_CASE("deflation after the pressure: quiet period, steps, and no oscillation") {
    // Inflated to 276 MiB at 0 s; then the pressure is gone and usage sits at
    // 250 MiB. Every second a timer tick. Deflation waits 30 s, then steps
    // 64 MiB every 10 s until the ceiling.
    std::vector<Sample> trace{{0s, stats(mib(300), mib(300), mib(20), 0s), mib(380), BalloonSignal::cgroup_near_limit}};
    for (int t = 1; t <= 120; ++t) {
        trace.push_back({BalloonTime{t * 1000}, stats(mib(200), mib(100), mib(100), BalloonTime{t * 1000}), mib(250),
                         BalloonSignal::none});
    }
    const auto d = replay(trace);
    REQUIRE(d[0].target);
    CHECK(*d[0].target == mib(276));
    std::vector<std::pair<long, Bytes>> steps;
    for (std::size_t i = 1; i < d.size(); ++i) {
        if (d[i].target) steps.emplace_back(trace[i].at.count(), *d[i].target);
    }
    // 276 -> 340 -> 404 -> 468 -> 512: usage 250 + 64 stays under the low mark (332.8 MiB).
    const std::vector<std::pair<long, Bytes>> expected{
        {30000, mib(340)}, {40000, mib(404)}, {50000, mib(468)}, {60000, mib(512)}};
    CHECK(steps == expected);
    CHECK(changes(d) == 5);  // one inflation, four steps back, then nothing for a minute
    CHECK(d.back().reason == BalloonReason::idle);
    CHECK(d[29].reason == BalloonReason::hold);
}

TEST_CASE("a guest that fills what it is given settles below the high mark") {
    // Model: after each deflation the guest caches the new memory, so usage
    // rises by the step. The policy must not cycle inflate/deflate.
    BalloonState state = balloon_start(ceiling);
    Bytes usage = mib(385);
    int inflations = 0, deflations = 0;
    for (int t = 0; t < 600; ++t) {
        const BalloonTime now{t * 1000};
        // The guest keeps 64 MiB + its cache as available: always something to give.
        const Bytes cache = usage > mib(150) ? usage - mib(150) : Bytes{};
        BalloonInput in{stats(mib(64) + cache, cache, mib(10), now), usage, limit, floor_, ceiling,
                        BalloonSignal::polled, now, std::nullopt};
        const auto d = decide_balloon(state, in);
        if (d.target) {
            if (*d.target < state.target) {
                ++inflations;
                usage = usage - (state.target - *d.target);  // the balloon returned it to the host
            } else {
                ++deflations;
                usage = usage + (*d.target - state.target);  // the guest filled it with cache
            }
        }
        state = d.state;
    }
    CHECK(inflations == 1);
    CHECK(deflations <= 2);
    CHECK(usage < balloon_marks(limit).high);
    CHECK(state.target >= floor_);
}

TEST_CASE("a target outside the range is pulled back in") {
    BalloonState s = balloon_start(mib(2048));
    BalloonInput in{stats(mib(100), mib(50), mib(50), 0s), mib(100), limit, floor_, ceiling, BalloonSignal::none, 0s, std::nullopt};
    const auto d = decide_balloon(s, in);
    CHECK(d.state.target == ceiling);
    CHECK(d.reason == BalloonReason::idle);
}

TEST_CASE("free memory the limit cannot back is taken on a timer tick, the excess over the high mark only") {
    // The test guest just booted: QEMU and the guest's kernel use 190 MiB of
    // the 416 MiB limit and the guest holds 400 MiB free. Were it to touch
    // that, usage would reach 590 MiB: no event has fired yet, and under TCG
    // the balloon inflates slower than the guest reads.
    BalloonState state = balloon_start(ceiling);
    BalloonInput in{stats(mib(430), mib(20), mib(400), 1s), mib(190), limit, floor_, ceiling, BalloonSignal::none, 2s, std::nullopt};
    auto d = decide_balloon(state, in);
    REQUIRE(d.target);
    CHECK(d.reason == BalloonReason::inflate);
    // 590 MiB - 374.4 MiB (the high mark) = 215.6 MiB: 512 - 215.6 = 296.4, rounded down.
    CHECK(*d.target == mib(296));
    CHECK_THAT(d.detail, Catch::Contains("usage 190 MiB plus guest free 400 MiB is above the limit 416 MiB"));
    state = d.state;

    // A second later the balloon is still inflating (the guest has 400 MiB,
    // its target 296): what it has yet to take is not counted as free.
    in = {stats(mib(330), mib(20), mib(300), 3s), mib(190), limit, floor_, ceiling, BalloonSignal::none, 3s, mib(400)};
    d = decide_balloon(state, in);
    CHECK_FALSE(d.target);
    CHECK(d.reason == BalloonReason::hold);

    // Without knowing the balloon's size, the same figures would take more.
    in.actual.reset();
    in.now = 4s;
    in.stats.updated = 4s;
    d = decide_balloon(state, in);
    REQUIRE(d.target);
    CHECK(*d.target < mib(296));
}

TEST_CASE("deflation never gives the guest more than usage plus its free memory leaves room for") {
    // Inflated long ago; usage 250 MiB with 150 MiB free in the guest: a
    // 64 MiB step would let the guest reach 464 MiB of a 416 MiB limit.
    BalloonState state{mib(300), 0s, 0s};
    BalloonInput in{stats(mib(200), mib(50), mib(150), 60s), mib(250), limit, floor_, ceiling, BalloonSignal::none, 60s, std::nullopt};
    const auto d = decide_balloon(state, in);
    CHECK_FALSE(d.target);
    CHECK(d.reason == BalloonReason::hold);
    CHECK_THAT(d.detail, Catch::Contains("plus guest free 150 MiB plus 64 MiB would pass the limit 416 MiB"));
    // With 100 MiB free it may.
    in.stats.free = mib(100);
    CHECK(decide_balloon(state, in).target == mib(364));
}

TEST_CASE("a target a few MiB above the floor goes to the floor in one command") {
    // Recorded: a guest filling tmpfs got 512 -> 257 MiB, then 257 -> 256 MiB
    // seven seconds later, a command for 1 MiB.
    BalloonState state = balloon_start(ceiling);
    BalloonInput in{stats(mib(438), mib(20), mib(438), 1s), mib(200), mib(427), floor_, ceiling, BalloonSignal::none, 2s, std::nullopt};
    const auto d = decide_balloon(state, in);
    REQUIRE(d.target);
    CHECK(*d.target == floor_);
    CHECK(d.reason == BalloonReason::floor_reached);
}
