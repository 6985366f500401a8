// QEMU's guest-stats reply as the balloon policy's input.
#include <catch2/catch.hpp>

#include "qemu-args/balloon_stats.hpp"

using namespace qemu_args;
using vmi::Bytes;

TEST_CASE("a reply recorded from QEMU 7.2 with the test guest (vmil.fill=32 vmil.cache=450, -m 512)") {
    const auto reply = nlohmann::json::parse(R"({"stats": {"stat-htlb-pgalloc": 0, "stat-swap-out": 0,
        "stat-available-memory": 421781504, "stat-htlb-pgfail": 0, "stat-free-memory": 5324800,
        "stat-minor-faults": 23008, "stat-major-faults": 0, "stat-total-memory": 492822528, "stat-swap-in": 0,
        "stat-disk-caches": 456269824}, "last-update": 1796222142})");
    const GuestStats g = parse_guest_stats(reply);
    CHECK(g.last_update == 1796222142);
    CHECK(g.stats.available == Bytes{421781504});
    CHECK(g.stats.disk_caches == Bytes{456269824});
    CHECK(g.stats.free == Bytes{5324800});
    CHECK_FALSE(g.stats.updated);
}

TEST_CASE("statistics the guest never sent are absent") {
    // QEMU initialises each statistic to -1 as a uint64.
    const auto reply = nlohmann::json::parse(R"({"stats": {"stat-available-memory": 18446744073709551615,
        "stat-free-memory": 1048576}, "last-update": 5})");
    const GuestStats g = parse_guest_stats(reply);
    CHECK_FALSE(g.stats.available);
    CHECK_FALSE(g.stats.disk_caches);  // no key at all
    CHECK(g.stats.free == Bytes{1048576});
}

TEST_CASE("a malformed or empty reply gives no statistics and does not throw") {
    for (const char* text : {R"(null)", R"([])", R"({})", R"({"last-update": 0, "stats": {"stat-free-memory": 1}})",
                             R"({"last-update": "x", "stats": {}})", R"({"last-update": 7, "stats": []})",
                             R"({"last-update": 7, "stats": {"stat-free-memory": -5,
                                 "stat-available-memory": "1", "stat-disk-caches": 1.5}})"}) {
        INFO(text);
        GuestStats g;
        REQUIRE_NOTHROW(g = parse_guest_stats(nlohmann::json::parse(text)));
        CHECK_FALSE(g.stats.available);
        CHECK_FALSE(g.stats.free);
        CHECK_FALSE(g.stats.disk_caches);
    }
    CHECK_FALSE(parse_guest_stats(nlohmann::json::parse(R"({"last-update": 0})")).last_update);
    CHECK(parse_guest_stats(nlohmann::json::parse(R"({"last-update": 7, "stats": []})")).last_update == 7);
}
