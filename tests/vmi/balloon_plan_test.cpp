// --balloon and the memory plan: when the launcher balloons a VM, and its
// floor and ceiling.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "test_files.hpp"
#include "vmi/memory_plan.hpp"
#include "vmi/plan_output.hpp"
#include "vmi/validate.hpp"

using namespace vmi;

namespace {

std::string vmi_yaml(const std::string& metadata_extra, const std::string& domain) {
    return "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\n" + metadata_extra +
           "spec:\n  domain:\n" + domain;
}

const std::string overcommitted =
    "    memory:\n      guest: 512Mi\n    resources:\n      requests:\n        memory: 256Mi\n";

MemoryPlan plan(const std::string& metadata_extra, const std::string& domain, PlanOptions o = {}) {
    return plan_memory(load_vmi(vmi_yaml(metadata_extra, domain)), o);
}

}  // namespace

TEST_CASE("an overcommitted VM with a balloon device is ballooned between request and guest memory") {
    const MemoryPlan p = plan("", overcommitted);
    CHECK(p.balloon.enabled);
    CHECK(p.balloon.floor == mib(256));
    CHECK(p.balloon.ceiling == mib(512));
    CHECK(p.balloon.why == "overcommit: the floor is the memory request");
    // The cgroup limit is unchanged: the balloon works inside it.
    CHECK(p.cgroup_limit == p.request + p.overhead);
}

TEST_CASE("the balloon is off when it cannot or must not act") {
    SECTION("--balloon off") {
        PlanOptions o;
        o.balloon = BalloonMode::off;
        const MemoryPlan p = plan("", overcommitted, o);
        CHECK_FALSE(p.balloon.enabled);
        CHECK(p.balloon.why == "--balloon off");
    }
    SECTION("the annotation") {
        const MemoryPlan p = plan("  annotations:\n    vmi-launcher/balloon: \"off\"\n", overcommitted);
        CHECK_FALSE(p.balloon.enabled);
        CHECK(p.balloon.why == "annotation vmi-launcher/balloon: \"off\"");
    }
    SECTION("no balloon device") {
        const MemoryPlan p = plan("", overcommitted + "    devices:\n      autoattachMemBalloon: false\n");
        CHECK_FALSE(p.balloon.enabled);
        CHECK(p.balloon.why == "no balloon device (autoattachMemBalloon: false)");
    }
    SECTION("no overcommit: floor == ceiling") {
        const MemoryPlan p = plan("", "    resources:\n      requests:\n        memory: 512Mi\n");
        CHECK_FALSE(p.balloon.enabled);
        CHECK(p.balloon.why == "no overcommit: the request covers the guest memory");
    }
    SECTION("huge pages") {
        const MemoryPlan p =
            plan("", "    memory:\n      guest: 1Gi\n      hugepages:\n        pageSize: 2Mi\n"
                     "    resources:\n      requests:\n        memory: 512Mi\n");
        CHECK_FALSE(p.balloon.enabled);
        CHECK(p.balloon.why.starts_with("guest memory comes from huge pages"));
    }
}

TEST_CASE("the floor is never below the documented minimum") {
    SECTION("a tiny request is raised to the minimum") {
        const MemoryPlan p = plan("", "    memory:\n      guest: 512Mi\n    resources:\n      requests:\n"
                                      "        memory: 64Mi\n");
        CHECK(p.balloon.enabled);
        CHECK(p.balloon.floor == balloon_minimum_floor);
        CHECK(p.balloon.floor == mib(128));
        CHECK(p.balloon.why == "overcommit: the floor is the minimum for a guest");
    }
    SECTION("a guest at or below the minimum is not ballooned") {
        const MemoryPlan p = plan("", "    memory:\n      guest: 128Mi\n    resources:\n      requests:\n"
                                      "        memory: 64Mi\n");
        CHECK_FALSE(p.balloon.enabled);
        CHECK(p.balloon.why == "the guest memory is not above the minimum floor");
    }
}

TEST_CASE("an unknown annotation value is ignored with a bounded warning") {
    const std::string long_value(300, 'x');
    const MemoryPlan p = plan("  annotations:\n    vmi-launcher/balloon: " + long_value + "\n", overcommitted);
    CHECK(p.balloon.enabled);
    REQUIRE_FALSE(p.warnings.empty());
    const std::string& w = p.warnings.back();
    CHECK(w.starts_with("metadata.annotations.vmi-launcher/balloon: \"" + std::string(64, 'x') + "...\" (300 bytes)"));
    CHECK(w.size() < 200);
}

TEST_CASE("--balloon values") {
    CHECK(parse_balloon_mode("auto") == BalloonMode::auto_);
    CHECK(parse_balloon_mode("off") == BalloonMode::off);
    CHECK_THROWS_WITH(parse_balloon_mode("on"), "\"on\" is not auto or off");
}

TEST_CASE("the plan prints floor and ceiling when ballooning, and why not otherwise") {
    const VmiSpec spec = load_vmi(vmi_yaml("", overcommitted));
    const MemoryPlan on = plan_memory(spec, {});
    const auto j = plan_to_json(spec, on);
    CHECK(j["balloon"]["mode"] == "auto");
    CHECK(j["balloon"]["floor_bytes"] == 268435456);
    CHECK(j["balloon"]["ceiling_bytes"] == 536870912);
    const std::string table = plan_to_table(spec, on);
    CHECK(table.find("balloon") != std::string::npos);
    CHECK(table.find("floor") != std::string::npos);
    CHECK(table.find("268435456 bytes") != std::string::npos);

    PlanOptions off;
    off.balloon = BalloonMode::off;
    const auto j_off = plan_to_json(spec, plan_memory(spec, off));
    CHECK(j_off["balloon"]["mode"] == "off");
    CHECK(j_off["balloon"]["floor_bytes"].is_null());
    CHECK(plan_to_table(spec, plan_memory(spec, off)).find("  floor") == std::string::npos);
}

TEST_CASE("--balloon-poll-interval and the other balloon durations") {
    using namespace std::chrono_literals;
    CHECK(parse_balloon_interval("10s") == 10s);
    CHECK(parse_balloon_interval("500ms") == 500ms);
    CHECK(parse_balloon_interval("1m") == 60s);
    CHECK(parse_balloon_interval("100ms") == 100ms);
    CHECK(parse_balloon_interval("60m") == 3600s);
    CHECK_THROWS_WITH(parse_balloon_interval("10"), "\"10\" is not a duration such as 500ms, 10s or 1m");
    CHECK_THROWS_WITH(parse_balloon_interval("2h"), "\"2h\" is not a duration such as 500ms, 10s or 1m");
    CHECK_THROWS_WITH(parse_balloon_interval("-1s"), "\"-1s\" is not a duration such as 500ms, 10s or 1m");
    CHECK_THROWS_WITH(parse_balloon_interval("99ms"), "\"99ms\" is outside 100ms to 1h");
    CHECK_THROWS_WITH(parse_balloon_interval("61m"), "\"61m\" is outside 100ms to 1h");
    // No overflow: at most 8 digits are read, the rest is no unit.
    CHECK_THROWS_WITH(parse_balloon_interval("999999999999s"),
                      "\"999999999999s\" is not a duration such as 500ms, 10s or 1m");
}
