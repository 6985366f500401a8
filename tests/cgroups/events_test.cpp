// The OOM watcher's logic against a fake cgroupfs: v2's inotify on a plain
// memory.events file fires like the kernel's; counters against a baseline.
#include "cgroups/events.hpp"
#include "cgroups/stats.hpp"

#include "cgroups/file_io.hpp"

#include "fake_cgroupfs.hpp"

#include <poll.h>

#include <catch2/catch.hpp>

using namespace cgroups;
using cgroups_test::FakeCgroupfs;
using cgroups_test::FakeLayout;

namespace {

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

void set_events(const std::filesystem::path& dir, std::uint64_t high, std::uint64_t max, std::uint64_t oom,
                std::uint64_t oom_kill, std::uint64_t group) {
    write_text(dir / "memory.events", "low 0\nhigh " + std::to_string(high) + "\nmax " + std::to_string(max) +
                                          "\noom " + std::to_string(oom) + "\noom_kill " + std::to_string(oom_kill) +
                                          "\noom_group_kill " + std::to_string(group) + "\n");
}

}  // namespace

TEST_CASE("v2: pressure is reported as pressure, watching goes on, then an OOM kill", "[events]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2});
    const auto vm = fake.root() / "vm";
    fake.create(vm);
    auto watcher = OomWatcher::open(Version::v2, vm, fake);
    CHECK_FALSE(readable(watcher.fd()));

    set_events(vm, 5, 1, 0, 0, 0);
    REQUIRE(readable(watcher.fd()));
    auto news = watcher.check();
    CHECK(news == MemoryEventCounts{.high = 5, .max = 1});
    CHECK(news.pressure());
    CHECK_FALSE(news.oom_killed());
    CHECK_FALSE(readable(watcher.fd()));

    set_events(vm, 7, 1, 1, 2, 1);
    REQUIRE(readable(watcher.fd()));
    news = watcher.check();
    CHECK(news == MemoryEventCounts{.oom_kills = 2, .oom_group_kills = 1, .ooms = 1, .high = 2});
    CHECK(news.oom_killed());
    CHECK(news.kill_events() == 1);  // one group kill, whatever oom_kill says
    CHECK(watcher.check() == MemoryEventCounts{});
    CHECK(watcher.total() == MemoryEventCounts{.oom_kills = 2, .oom_group_kills = 1, .ooms = 1, .high = 7, .max = 1});
}

TEST_CASE("v2: kills from before the watcher are the baseline, not news", "[events]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2});
    const auto vm = fake.root() / "vm";
    fake.create(vm);
    set_events(vm, 0, 0, 3, 3, 0);
    auto watcher = OomWatcher::open(Version::v2, vm, fake);
    CHECK(watcher.check() == MemoryEventCounts{});
    set_events(vm, 0, 0, 4, 4, 0);
    CHECK(watcher.check().oom_kills == 1);
}

TEST_CASE("v1: the eventfd is registered through cgroup.event_control; oom_kill decides", "[events]") {
    FakeCgroupfs fake({.layout = FakeLayout::hybrid});
    const auto vm = fake.root() / "memory/vm";
    fake.create(vm);
    fake.clear_log();
    auto watcher = OomWatcher::open(Version::v1, vm, fake);
    REQUIRE(fake.log().size() == 1);
    CHECK_THAT(fake.log()[0], Catch::StartsWith("write memory/vm/cgroup.event_control " +
                                                std::to_string(watcher.fd()) + " "));
    // The eventfd also fires when the cgroup goes: no counter change, no OOM.
    CHECK(watcher.check() == MemoryEventCounts{});
    write_text(vm / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    write_text(vm / "memory.failcnt", "17");
    const auto news = watcher.check();
    CHECK(news == MemoryEventCounts{.oom_kills = 1, .max = 17});
    CHECK(news.kill_events() == 1);
    CHECK_FALSE(watcher.gone());
}

TEST_CASE("stats: v1 and v2 files into one value", "[stats]") {
    FakeCgroupfs v1({.layout = FakeLayout::hybrid});
    const auto a = v1.root() / "memory/vm";
    v1.create(a);
    write_text(a / "memory.usage_in_bytes", "1000");
    write_text(a / "memory.max_usage_in_bytes", "2000");
    write_text(a / "memory.limit_in_bytes", "67108864");
    write_text(a / "memory.stat", "cache 300\nrss 700\n");
    write_text(a / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    write_text(a / "memory.failcnt", "5");
    CHECK(read_stats(Version::v1, a) == MemoryStats{.usage_bytes = 1000,
                                                    .peak_bytes = 2000,
                                                    .limit_bytes = 67108864,
                                                    .anon_bytes = 700,
                                                    .file_bytes = 300,
                                                    .events = {.oom_kills = 2, .max = 5}});

    FakeCgroupfs v2({.layout = FakeLayout::v2});
    const auto b = v2.root() / "vm";
    v2.create(b);
    write_text(b / "memory.current", "1000");
    write_text(b / "memory.max", "67108864");
    write_text(b / "memory.high", "50331648");
    write_text(b / "memory.stat", "anon 600\nfile 400\n");
    set_events(b, 3, 1, 0, 0, 0);
    std::filesystem::remove(b / "memory.peak");  // before Linux 5.19
    CHECK(read_stats(Version::v2, b) == MemoryStats{.usage_bytes = 1000,
                                                    .peak_bytes = std::nullopt,
                                                    .limit_bytes = 67108864,
                                                    .high_bytes = 50331648,
                                                    .anon_bytes = 600,
                                                    .file_bytes = 400,
                                                    .events = {.high = 3, .max = 1}});
}

TEST_CASE("stats: a malformed file is an error naming it", "[stats]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2});
    const auto vm = fake.root() / "vm";
    fake.create(vm);
    write_text(vm / "memory.current", "lots");
    CHECK_THROWS_WITH(read_stats(Version::v2, vm), Catch::Contains((vm / "memory.current").string()));
}

TEST_CASE("v1 on a read-only cgroupfs (a pod): no registration possible, so the watcher polls", "[events]") {
    FakeCgroupfs fake({.layout = FakeLayout::v1, .own_cgroup = "/", .namespace_root = true, .read_only = true});
    const auto own = fake.own_dir();
    auto watcher = OomWatcher::open(Version::v1, own, fake, std::chrono::milliseconds(5));
    CHECK_THAT(watcher.method(), Catch::StartsWith("polling " + (own / "memory.oom_control").string() + " every 5 ms") &&
                                     Catch::Contains("Read-only file system"));
    pollfd p{watcher.fd(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 1000) == 1);
    CHECK(watcher.check() == MemoryEventCounts{});
    write_text(own / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    REQUIRE(::poll(&p, 1, 1000) == 1);
    CHECK(watcher.check().kill_events() == 1);
}
