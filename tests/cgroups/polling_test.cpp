// Adopt mode on a read-only cgroup v1 mount cannot register an eventfd
// (cgroup.event_control is a write): the watcher then reads the same
// counters on a timer, and still tells an OOM kill from pressure.
#include "cgroups/events.hpp"

#include "cgroups/file_io.hpp"

#include "fake_cgroupfs.hpp"

#include <poll.h>

#include <chrono>
#include <system_error>

#include <catch2/catch.hpp>

using namespace cgroups;
using namespace std::chrono_literals;
using cgroups_test::FakeCgroupfs;
using cgroups_test::FakeLayout;

namespace {

bool readable_within(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

}  // namespace

TEST_CASE("v1 read-only: no event registration, so the counters are polled", "[events][polling]") {
    FakeCgroupfs fake({.layout = FakeLayout::hybrid, .own_cgroup = "/", .namespace_root = true, .read_only = true});
    const auto own = fake.own_dir();
    write_text(own / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    write_text(own / "memory.failcnt", "0");
    fake.clear_log();
    auto watcher = OomWatcher::open(Version::v1, own, fake, 20ms);
    CHECK(watcher.polling());
    CHECK_THAT(watcher.method(), Catch::Contains("polling") && Catch::Contains("every 20 ms"));
    // The timer makes it readable again and again; nothing new is no news.
    REQUIRE(readable_within(watcher.fd(), 1000));
    CHECK(watcher.check() == MemoryEventCounts{});
    REQUIRE(readable_within(watcher.fd(), 1000));
    CHECK(watcher.check() == MemoryEventCounts{});

    // Two kills before the watcher were the baseline; this one is news.
    write_text(own / "memory.oom_control", "oom_kill_disable 0\nunder_oom 1\noom_kill 3\n");
    write_text(own / "memory.failcnt", "40");
    REQUIRE(readable_within(watcher.fd(), 1000));
    const auto news = watcher.check();
    CHECK(news.oom_kills == 1);
    CHECK(news.max == 40);
    CHECK(watcher.total().oom_kills == 1);
    // Polling wrote nothing.
    CHECK(fake.log().empty());
}

TEST_CASE("v2 read-only: inotify on memory.events needs no write, so adopt mode keeps real events", "[events]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2, .own_cgroup = "/", .namespace_root = true, .read_only = true});
    const auto own = fake.own_dir();
    fake.clear_log();
    auto watcher = OomWatcher::open(Version::v2, own, fake);
    CHECK_FALSE(watcher.polling());
    write_text(own / "memory.events", "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n");
    REQUIRE(readable_within(watcher.fd(), 1000));
    CHECK(watcher.check().oom_kills == 1);
    CHECK(fake.log().empty());
}
