// Detection and mode choice against fake cgroupfs layouts of real machines.
#include "cgroups/detect.hpp"
#include "cgroups/mode.hpp"

#include "fake_cgroupfs.hpp"

#include <catch2/catch.hpp>

using namespace cgroups;
using cgroups_test::FakeCgroupfs;
using cgroups_test::FakeLayout;
using cgroups_test::FakeOptions;

TEST_CASE("hybrid host (this machine's shape): memory on v1, host mode", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::hybrid, .own_cgroup = "/process_api/e58"});
    const auto d = detect(fake.inputs());
    CHECK(d.layout == Layout::hybrid);
    CHECK(d.memory_available);
    CHECK(d.version == Version::v1);
    CHECK(d.memory_root == fake.root() / "memory");
    CHECK(d.mount_root == "/");
    CHECK(d.own_cgroup == "/process_api/e58");
    CHECK(d.own_dir == fake.root() / "memory/process_api/e58");
    CHECK(d.writable);
    CHECK_FALSE(d.read_only);
    CHECK_FALSE(d.confined);
    CHECK(d.delegated);
    const auto choice = choose_mode(d, Mode::automatic);
    CHECK(choice.mode == Mode::host);
    CHECK_THAT(choice.reason, Catch::Contains("auto chose host") && Catch::Contains("writable") &&
                                  Catch::Contains("/process_api/e58"));
}

TEST_CASE("pure v1 host", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::v1});
    const auto d = detect(fake.inputs());
    CHECK(d.layout == Layout::v1);
    CHECK(d.version == Version::v1);
    CHECK(choose_mode(d, Mode::automatic).mode == Mode::host);
    CHECK_THAT(describe(d), Catch::Contains("cgroup layout v1") && Catch::Contains("memory controller on v1"));
}

TEST_CASE("v2 host: the true root is visible, host mode", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2});
    const auto d = detect(fake.inputs());
    CHECK(d.layout == Layout::v2);
    CHECK(d.version == Version::v2);
    CHECK(d.memory_root == fake.root());
    CHECK(d.own_dir == fake.root() / "user.slice/session-1.scope");
    CHECK_FALSE(d.confined);
    CHECK(d.delegated);
    CHECK(choose_mode(d, Mode::automatic).mode == Mode::host);
}

TEST_CASE("v2 container with a cgroup namespace and a delegated cgroup: nested", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2, .own_cgroup = "/", .namespace_root = true});
    const auto d = detect(fake.inputs());
    CHECK(d.confined);
    CHECK(d.own_dir == fake.root());
    CHECK(d.delegated);
    const auto choice = choose_mode(d, Mode::automatic);
    CHECK(choice.mode == Mode::nested);
    CHECK_THAT(choice.reason, Catch::Contains("cgroup namespace") && Catch::Contains("delegated"));
}

TEST_CASE("v2 container that bind-mounts its sub-tree: confined, own cgroup at the mount point", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2, .own_cgroup = "/kubepods/pod1", .mount_root = "/kubepods/pod1"});
    const auto d = detect(fake.inputs());
    CHECK(d.mount_root == "/kubepods/pod1");
    CHECK(d.own_dir == fake.root());
    CHECK(d.confined);
    const auto choice = choose_mode(d, Mode::automatic);
    CHECK(choice.mode == Mode::nested);
    CHECK_THAT(choice.reason, Catch::Contains("sub-tree /kubepods/pod1"));
}

TEST_CASE("v2 pod with a read-only cgroupfs: adopt; host is refused with the reason", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2, .own_cgroup = "/", .namespace_root = true, .read_only = true});
    const auto d = detect(fake.inputs());
    CHECK(d.read_only);
    CHECK_FALSE(d.writable);
    CHECK_FALSE(d.delegated);
    const auto choice = choose_mode(d, Mode::automatic);
    CHECK(choice.mode == Mode::adopt);
    CHECK_THAT(choice.reason, Catch::Contains("read-only"));
    CHECK_THROWS_WITH(choose_mode(d, Mode::host), Catch::Contains("cgroup mode host") && Catch::Contains("read-only"));
    CHECK_THROWS_AS(choose_mode(d, Mode::nested), ModeError);
    CHECK(choose_mode(d, Mode::adopt).mode == Mode::adopt);
}

TEST_CASE("v1 pod (tmpfs plus a ro memory mount of the namespace root): adopt", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::v1, .own_cgroup = "/", .namespace_root = true, .read_only = true});
    const auto d = detect(fake.inputs());
    CHECK(d.version == Version::v1);
    CHECK(d.confined);
    CHECK(d.read_only);
    CHECK(d.own_dir == fake.root() / "memory");
    CHECK(choose_mode(d, Mode::automatic).mode == Mode::adopt);
}

TEST_CASE("v1 container with a writable memory mount of its namespace: nested", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::v1, .own_cgroup = "/", .namespace_root = true});
    const auto d = detect(fake.inputs());
    CHECK(d.confined);
    CHECK(d.delegated);
    CHECK(choose_mode(d, Mode::automatic).mode == Mode::nested);
}

TEST_CASE("v2 confined but not delegated (no memory in its controllers): adopt, nested refused", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2,
                       .own_cgroup = "/app",
                       .namespace_root = true,
                       .own_has_memory = false});
    const auto d = detect(fake.inputs());
    CHECK(d.memory_available);  // the visible root has it
    CHECK_FALSE(d.delegated);
    const auto choice = choose_mode(d, Mode::automatic);
    CHECK(choice.mode == Mode::adopt);
    CHECK_THAT(choice.reason, Catch::Contains("not delegated"));
    CHECK_THROWS_WITH(choose_mode(d, Mode::nested), Catch::Contains("cgroup.controllers"));
}

TEST_CASE("missing memory controller: auto and every mode but none fail, saying what was looked at", "[detect]") {
    for (auto layout : {FakeLayout::v1, FakeLayout::hybrid, FakeLayout::v2}) {
        FakeCgroupfs fake({.layout = layout, .memory = false});
        const auto d = detect(fake.inputs());
        CHECK_FALSE(d.memory_available);
        CHECK_THAT(d.why_no_memory, Catch::Contains("memory"));
        for (auto mode : {Mode::automatic, Mode::host, Mode::nested, Mode::adopt})
            CHECK_THROWS_WITH(choose_mode(d, mode), Catch::Contains("no memory cgroup controller") &&
                                                        Catch::Contains("--cgroup-mode none"));
        CHECK(choose_mode(d, Mode::none).mode == Mode::none);
    }
}

TEST_CASE("no cgroup filesystem at all", "[detect]") {
    cgroups_test::TempDir dir;
    const auto d = detect({.cgroup_root = dir.path(), .proc_self_cgroup = "0::/\n",
                           .mountinfo = "22 1 8:1 / / rw - ext4 /dev/vda1 rw\n"});
    CHECK(d.layout == Layout::none);
    CHECK_FALSE(d.memory_available);
    CHECK_THAT(d.why_no_memory, Catch::Contains("no cgroup filesystem"));
}

TEST_CASE("own cgroup outside the visible sub-tree: adopt cannot work", "[detect]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2, .own_cgroup = "/", .namespace_root = true});
    auto inputs = fake.inputs();
    inputs.proc_self_cgroup = "0::/../other\n";
    const auto d = detect(inputs);
    CHECK_FALSE(d.own_dir);
    CHECK_FALSE(d.delegated);
    CHECK_THROWS_WITH(choose_mode(d, Mode::adopt), Catch::Contains("not visible"));
}

TEST_CASE("--cgroup-mode values", "[mode]") {
    CHECK(parse_mode("auto") == Mode::automatic);
    CHECK(parse_mode("host") == Mode::host);
    CHECK(parse_mode("nested") == Mode::nested);
    CHECK(parse_mode("adopt") == Mode::adopt);
    CHECK(parse_mode("none") == Mode::none);
    CHECK_THROWS_WITH(parse_mode("Host"), Catch::Contains("--cgroup-mode") && Catch::Contains("\"Host\""));
    CHECK(to_string(Mode::automatic) == "auto");
}

TEST_CASE("a requested mode that works is taken as asked", "[mode]") {
    FakeCgroupfs fake({.layout = FakeLayout::hybrid});
    const auto d = detect(fake.inputs());
    CHECK(choose_mode(d, Mode::host) == ModeChoice{Mode::host, "requested with --cgroup-mode host"});
    CHECK(choose_mode(d, Mode::adopt).mode == Mode::adopt);
    CHECK(choose_mode(d, Mode::nested).mode == Mode::nested);
}
