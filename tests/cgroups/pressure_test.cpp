// The balloon's pressure watchers against a fake cgroupfs: what is written to
// arm them, what they fall back to when the kernel refuses, and which
// readiness counts as pressure.
#include "cgroups/pressure.hpp"

#include "cgroups/file_io.hpp"

#include "fake_cgroupfs.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include <catch2/catch.hpp>

using namespace cgroups;
using cgroups_test::FakeCgroupfs;
using cgroups_test::FakeLayout;
using namespace std::chrono_literals;

namespace {

bool readable(int fd, int timeout_ms = 0) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

std::vector<std::string> written(const FakeCgroupfs& fake, const std::string& file) {
    std::vector<std::string> out;
    for (const auto& line : fake.log()) {
        if (line.rfind("write ", 0) == 0 && line.find(file) != std::string::npos) out.push_back(line);
    }
    return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::vector<std::uint64_t> quarter_marks(std::uint64_t limit) { return {limit / 4, limit / 2}; }

PressureOptions options_without_node() {
    PressureOptions o;
    o.node_psi = "/nonexistent/pressure/memory";
    o.poll_interval = 50ms;
    return o;
}

}  // namespace

TEST_CASE("the text that arms a threshold or a PSI trigger", "[pressure]") {
    CHECK(v1_threshold_line(7, 9, 348962816) == "7 9 348962816");
    CHECK(psi_trigger_line(50'000us, 1'000'000us) == "some 50000 1000000");
}

TEST_CASE("the ancestors that can carry a node limit: below the hierarchy root, nearest first", "[pressure]") {
    const std::filesystem::path root = "/sys/fs/cgroup/memory";
    CHECK(ancestors_below(root / "vmi-launcher/ns/vm", root) ==
          std::vector<std::filesystem::path>{root / "vmi-launcher/ns", root / "vmi-launcher"});
    CHECK(ancestors_below(root / "vm", root).empty());
    CHECK(ancestors_below("/elsewhere/a/b", root).empty());
    CHECK(ancestors_below(root / "a/b/c/d", root, 2).size() == 2);
}

TEST_CASE("v1: both usage thresholds on one eventfd, a crossing makes it readable", "[pressure]") {
    FakeCgroupfs fake({.layout = FakeLayout::v1});
    const auto vm = fake.memory_root() / "vm";
    fake.create(vm);
    auto o = options_without_node();
    o.v1_thresholds = {100 << 20, 140 << 20};
    PressureWatch w = open_pressure_watch(Version::v1, vm, fake, o);

    REQUIRE(w.sources.size() == 1);
    const auto& s = w.sources[0];
    CHECK(s.kind() == PressureKind::v1_threshold);
    CHECK(s.scope() == PressureScope::vm);
    CHECK_FALSE(s.priority());
    CHECK_FALSE(w.polling);
    const auto lines = written(fake, "cgroup.event_control");
    REQUIRE(lines.size() == 2);
    CHECK(ends_with(lines[0], " " + std::to_string(100 << 20)));
    CHECK(ends_with(lines[1], " " + std::to_string(140 << 20)));
    // Both registrations name the same eventfd: the source's.
    CHECK(lines[0].find("cgroup.event_control " + std::to_string(s.fd()) + " ") != std::string::npos);
    CHECK(s.method().find("memory.usage_in_bytes at 100 MiB, 140 MiB") != std::string::npos);
    // No PSI here: said, not fatal.
    REQUIRE(w.fallbacks.size() == 1);
    CHECK(w.fallbacks[0].find("no PSI trigger on /nonexistent/pressure/memory") != std::string::npos);

    // The kernel signals the eventfd; consuming it clears the readiness.
    CHECK_FALSE(readable(s.fd()));
    const std::uint64_t one = 1;
    REQUIRE(::write(s.fd(), &one, sizeof one) == sizeof one);
    CHECK(readable(s.fd()));
    CHECK(w.sources[0].consume());
    CHECK_FALSE(readable(s.fd()));
}

TEST_CASE("v1 read-only (a pod's cgroupfs): the VM cgroup is polled, and the log says why", "[pressure]") {
    FakeCgroupfs fake({.layout = FakeLayout::v1});
    const auto vm = fake.memory_root() / "vm";
    fake.create(vm);
    fake.fail_writes("cgroup.event_control", EROFS);
    auto o = options_without_node();
    o.v1_thresholds = {100 << 20, 140 << 20};
    PressureWatch w = open_pressure_watch(Version::v1, vm, fake, o);

    CHECK(w.polling);
    REQUIRE(w.sources.size() == 1);
    CHECK(w.sources[0].kind() == PressureKind::timer);
    CHECK(w.sources[0].method() == "polling " + vm.string() + " every 50 ms");
    REQUIRE(w.fallbacks.size() == 2);
    CHECK(w.fallbacks[0].find("no usage thresholds on " + (vm / "memory.usage_in_bytes").string()) != std::string::npos);
    CHECK(w.fallbacks[0].find("Read-only file system") != std::string::npos);
    CHECK(readable(w.sources[0].fd(), 1000));  // the timer ticks
    CHECK(w.sources[0].consume());
}

TEST_CASE("v1: an ancestor with a limit of its own is watched as the node", "[pressure]") {
    FakeCgroupfs fake({.layout = FakeLayout::v1});
    const auto pod = fake.memory_root() / "pods";
    const auto vm = pod / "ns" / "vm";
    fake.create(pod);
    fake.create(pod / "ns");
    fake.create(vm);
    fake.set(pod, "memory.limit_in_bytes", std::to_string(std::uint64_t{1} << 30));
    auto o = options_without_node();
    o.v1_thresholds = {100 << 20};
    o.cgroup_root = fake.memory_root();
    o.ancestor_thresholds = &quarter_marks;
    PressureWatch w = open_pressure_watch(Version::v1, vm, fake, o);

    REQUIRE(w.sources.size() == 2);  // the VM, and pods (ns has no limit)
    CHECK(w.sources[1].scope() == PressureScope::node);
    CHECK(w.sources[1].method().find((pod / "memory.usage_in_bytes").string() + " at 256 MiB, 512 MiB") !=
          std::string::npos);
    CHECK(written(fake, "pods/cgroup.event_control").size() == 2);
    CHECK(written(fake, "ns/cgroup.event_control").empty());
}

TEST_CASE("v2: memory.high below memory.max, and only a new `high` event is pressure", "[pressure]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2});
    const auto vm = fake.root() / "vm";
    fake.create(vm);
    auto o = options_without_node();
    o.v2_memory_high = 300 << 20;
    PressureWatch w = open_pressure_watch(Version::v2, vm, fake, o);

    CHECK(read_text(vm / "memory.high") == std::to_string(300 << 20));
    const auto it = std::find_if(w.sources.begin(), w.sources.end(),
                                 [](const PressureSource& s) { return s.kind() == PressureKind::v2_high; });
    REQUIRE(it != w.sources.end());
    CHECK_FALSE(w.polling);

    write_text(vm / "memory.events", "low 0\nhigh 0\nmax 1\noom 0\noom_kill 0\noom_group_kill 0\n");
    REQUIRE(readable(it->fd()));
    CHECK_FALSE(it->consume());  // max alone: the OOM watcher's business
    CHECK_FALSE(readable(it->fd()));
    write_text(vm / "memory.events", "low 0\nhigh 3\nmax 1\noom 0\noom_kill 0\noom_group_kill 0\n");
    REQUIRE(readable(it->fd()));
    CHECK(it->consume());
}

TEST_CASE("v2 read-only: polled", "[pressure]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2});
    const auto vm = fake.root() / "vm";
    fake.create(vm);
    fake.fail_writes("memory.high", EROFS);
    auto o = options_without_node();
    o.v2_memory_high = 300 << 20;
    std::filesystem::remove(vm / "memory.pressure");  // no PSI in this cgroup either
    PressureWatch w = open_pressure_watch(Version::v2, vm, fake, o);
    CHECK(w.polling);
    REQUIRE_FALSE(w.sources.empty());
    CHECK(w.sources[0].kind() == PressureKind::timer);
}
