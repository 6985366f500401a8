// The VM cgroup against a fake cgroupfs: the files each mode writes and the
// ones it never writes, cleanup on failure, stale cgroups, teardown.
#include "cgroups/vm_cgroup.hpp"

#include "cgroups/detect.hpp"
#include "cgroups/file_io.hpp"
#include "cgroups/libcgroup_backend.hpp"
#include "cgroups/parse.hpp"

#include "fake_cgroupfs.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>

#include <memory>

using namespace cgroups;
using cgroups_test::FakeCgroupfs;
using cgroups_test::FakeLayout;
using cgroups_test::FakeOptions;
using Log = std::vector<std::string>;

namespace {

const VmCgroupSpec spec{.vm_namespace = "default", .vm_name = "testvm1", .limits = {.max_bytes = 64ull << 20}};

struct World {
    std::shared_ptr<FakeCgroupfs> fake;
    Detection detection;

    explicit World(FakeOptions options)
        : fake(std::make_shared<FakeCgroupfs>(std::move(options))), detection(detect(fake->inputs())) {}

    VmCgroup open(Mode mode, const VmCgroupSpec& s = spec) { return VmCgroup::open(detection, mode, s, fake); }
};

}  // namespace

TEST_CASE("v1 host mode writes the limit and memsw in a new <parent>/<namespace>/<name>, nothing else", "[vm_cgroup]") {
    World w({.layout = FakeLayout::hybrid});
    {
        auto vm = w.open(Mode::host);
        CHECK(vm.path() == w.fake->root() / "memory/vmi-launcher/default/testvm1");
        CHECK(w.fake->log() == Log{
                                   "mkdir memory/vmi-launcher",
                                   "mkdir memory/vmi-launcher/default",
                                   "mkdir memory/vmi-launcher/default/testvm1",
                                   "set memory/vmi-launcher/default/testvm1/memory.limit_in_bytes 67108864",
                                   "set memory/vmi-launcher/default/testvm1/memory.memsw.limit_in_bytes 67108864",
                               });
        CHECK(read_text(vm.path() / "memory.limit_in_bytes") == "67108864");
        CHECK(vm.join_fd() >= 0);
        // v1: the child joins through `tasks` (one thread, no global lock).
        CHECK(std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(vm.join_fd())) == vm.path() / "tasks");
        CHECK(vm.cgroup_fd() == -1);  // clone3 into a cgroup is v2 only
        CHECK(vm.notices().empty());
        w.fake->clear_log();
    }
    // The destructor removes the VM cgroup and the namespace level it made,
    // now empty; the shared parent stays.
    CHECK(w.fake->log() == Log{"rmdir memory/vmi-launcher/default/testvm1", "rmdir memory/vmi-launcher/default"});
    CHECK_FALSE(path_exists(w.fake->root() / "memory/vmi-launcher/default"));
    CHECK(path_exists(w.fake->root() / "memory/vmi-launcher"));
}

TEST_CASE("v1 without swap accounting writes only the memory limit", "[vm_cgroup]") {
    World w({.layout = FakeLayout::v1, .memsw = false});
    auto vm = w.open(Mode::host);
    CHECK(w.fake->log() == Log{"mkdir memory/vmi-launcher", "mkdir memory/vmi-launcher/default",
                               "mkdir memory/vmi-launcher/default/testvm1",
                               "set memory/vmi-launcher/default/testvm1/memory.limit_in_bytes 67108864"});
}

TEST_CASE("--cgroup-parent places the VM cgroup; an existing parent is reused", "[vm_cgroup]") {
    World w({.layout = FakeLayout::hybrid});
    std::filesystem::create_directories(w.fake->root() / "memory/machine");
    auto s = spec;
    s.parent = "/machine/vms";
    auto vm = w.open(Mode::host, s);
    CHECK(vm.path() == w.fake->root() / "memory/machine/vms/default/testvm1");
    CHECK(w.fake->log().front() == "mkdir memory/machine/vms");
    s.parent = "../escape";
    CHECK_THROWS_WITH(w.open(Mode::host, s), Catch::Contains("--cgroup-parent"));
}

TEST_CASE("v2 host mode enables +memory top-down where missing and sets max, swap, oom.group, high", "[vm_cgroup]") {
    // The launcher in the root cgroup, nothing enabled yet (a fresh cgroup2 mount, like the test guest's).
    World w({.layout = FakeLayout::v2, .own_cgroup = "/"});
    auto s = spec;
    s.limits.high_bytes = 48ull << 20;
    auto vm = w.open(Mode::host, s);
    CHECK(w.fake->log() == Log{
                               "set cgroup.subtree_control +memory",
                               "mkdir vmi-launcher",
                               "set vmi-launcher/cgroup.subtree_control +memory",
                               "mkdir vmi-launcher/default",
                               "set vmi-launcher/default/cgroup.subtree_control +memory",
                               "mkdir vmi-launcher/default/testvm1",
                               "set vmi-launcher/default/testvm1/memory.max 67108864",
                               "set vmi-launcher/default/testvm1/memory.swap.max 0",
                               "set vmi-launcher/default/testvm1/memory.oom.group 1",
                               "set vmi-launcher/default/testvm1/memory.high 50331648",
                           });
    CHECK(vm.cgroup_fd() >= 0);
    CHECK(std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(vm.join_fd())) == vm.path() / "cgroup.procs");
    w.fake->clear_log();
    // A second VM: memory is enabled already, nothing is written twice.
    auto s2 = spec;
    s2.vm_name = "testvm2";
    auto vm2 = w.open(Mode::host, s2);
    CHECK(w.fake->log().front() == "mkdir vmi-launcher/default/testvm2");
    CHECK(w.fake->log().size() == 4);
}

TEST_CASE("v2 nested mode: the launcher's processes move to a leaf, the VM is a sibling", "[vm_cgroup]") {
    World w({.layout = FakeLayout::v2, .own_cgroup = "/", .namespace_root = true, .own_pids = {1, 4242}});
    auto vm = w.open(Mode::nested);
    CHECK(vm.path() == w.fake->root() / "default/testvm1");
    CHECK(w.fake->log() == Log{
                               "mkdir launcher",
                               "write launcher/cgroup.procs 1",
                               "write launcher/cgroup.procs 4242",
                               "set cgroup.subtree_control +memory",
                               "mkdir default",
                               "set default/cgroup.subtree_control +memory",
                               "mkdir default/testvm1",
                               "set default/testvm1/memory.max 67108864",
                               "set default/testvm1/memory.swap.max 0",
                               "set default/testvm1/memory.oom.group 1",
                           });
    CHECK(read_text(w.fake->root() / "cgroup.procs").empty());
    CHECK(read_text(w.fake->root() / "launcher/cgroup.procs") == "1\n4242\n");
    REQUIRE(vm.notices().size() == 1);
    CHECK_THAT(vm.notices()[0], Catch::Contains("moved 2 processes") && Catch::Contains("launcher"));
}

TEST_CASE("v1 nested mode: same shape, v1 files", "[vm_cgroup]") {
    World w({.layout = FakeLayout::v1, .own_cgroup = "/", .namespace_root = true});
    auto vm = w.open(Mode::nested);
    CHECK(w.fake->log() == Log{
                               "mkdir memory/launcher",
                               "write memory/launcher/cgroup.procs 4242",
                               "mkdir memory/default",
                               "mkdir memory/default/testvm1",
                               "set memory/default/testvm1/memory.limit_in_bytes 67108864",
                               "set memory/default/testvm1/memory.memsw.limit_in_bytes 67108864",
                           });
}

TEST_CASE("adopt mode never writes: the tree is unchanged, the limit is compared", "[vm_cgroup]") {
    for (auto layout : {FakeLayout::v1, FakeLayout::v2}) {
        World w({.layout = layout, .own_cgroup = "/", .namespace_root = true, .read_only = true});
        const auto limit_file = w.fake->own_dir() / (layout == FakeLayout::v1 ? "memory.limit_in_bytes" : "memory.max");
        cgroups::write_text(limit_file, "1073741824");
        const auto before = w.fake->snapshot();
        {
            auto s = spec;
            s.limits.max_bytes = 1048576000;
            auto vm = w.open(Mode::adopt, s);
            CHECK(vm.path() == w.fake->own_dir());
            CHECK(vm.join_fd() == -1);
            CHECK(vm.limit_warning() ==
                  "adopted cgroup " + w.fake->own_dir().string() +
                      " has a memory limit of 1073741824 bytes; the plan asks for 1048576000 bytes");
            CHECK(vm.close() == TeardownReport{});
            auto same = w.open(Mode::adopt, {.vm_namespace = "a", .vm_name = "b", .limits = {.max_bytes = 1073741824}});
            CHECK_FALSE(same.limit_warning());
        }
        CHECK(w.fake->log().empty());
        CHECK(w.fake->snapshot() == before);
    }
}

TEST_CASE("host mode on a read-only cgroupfs: a clear error, nothing left behind", "[vm_cgroup]") {
    World w({.layout = FakeLayout::hybrid, .read_only = true});
    const auto before = w.fake->snapshot();
    CHECK_THROWS_WITH(w.open(Mode::host), Catch::Contains("mkdir " + (w.fake->root() / "memory/vmi-launcher").string()) &&
                                              Catch::Contains("Read-only file system"));
    CHECK(w.fake->snapshot() == before);
}

TEST_CASE("a failing limit write removes the cgroup and the parent it made", "[vm_cgroup]") {
    World w({.layout = FakeLayout::v2});
    w.fake->fail_writes("memory.oom.group", EINVAL);
    CHECK_THROWS_WITH(w.open(Mode::host), Catch::Contains("write " + (w.fake->root() / "vmi-launcher/default/testvm1/memory.oom.group").string()) &&
                                              Catch::Contains("Invalid argument"));
    CHECK_FALSE(path_exists(w.fake->root() / "vmi-launcher/default/testvm1"));
    CHECK_FALSE(path_exists(w.fake->root() / "vmi-launcher/default"));
    CHECK_FALSE(path_exists(w.fake->root() / "vmi-launcher"));
}

TEST_CASE("a stale cgroup of the same VM (its lock free) is emptied and reused, with a line saying so", "[vm_cgroup]") {
    World w({.layout = FakeLayout::hybrid});
    const auto stale = w.fake->root() / "memory/vmi-launcher/default/testvm1";
    std::filesystem::create_directories(stale.parent_path());
    w.fake->create(stale);
    w.fake->create(stale / "child");
    w.fake->add_process(stale, 7001);
    w.fake->add_process(stale / "child", 7002);
    w.fake->clear_log();
    {
        auto vm = w.open(Mode::host);
        CHECK(vm.path() == stale);
        REQUIRE(vm.notices().size() == 1);
        CHECK(vm.notices()[0] == "reusing the stale cgroup " + stale.string() +
                                     " left by a launcher that is gone (its lock was free; 2 processes killed, "
                                     "1 child cgroup removed)");
        CHECK(w.fake->log() == Log{"kill 7001", "kill 7002", "rmdir memory/vmi-launcher/default/testvm1/child",
                                   "set memory/vmi-launcher/default/testvm1/memory.limit_in_bytes 67108864",
                                   "set memory/vmi-launcher/default/testvm1/memory.memsw.limit_in_bytes 67108864"});
        w.fake->clear_log();
    }
    // The namespace level was there before: it stays.
    CHECK(w.fake->log() == Log{"rmdir memory/vmi-launcher/default/testvm1"});
    CHECK(path_exists(stale.parent_path()));
}

TEST_CASE("a cgroup another launcher holds is refused and nothing in it is touched", "[vm_cgroup]") {
    for (auto layout : {FakeLayout::hybrid, FakeLayout::v2}) {
        World w({.layout = layout, .own_cgroup = "/"});
        auto running = w.open(Mode::host);
        w.fake->add_process(running.path(), 7001);
        w.fake->clear_log();
        const auto before = w.fake->snapshot();
        CHECK_THROWS_AS(w.open(Mode::host), CgroupInUse);
        CHECK_THROWS_WITH(w.open(Mode::host), Catch::Contains("cgroup " + running.path().string() +
                                                              " is in use by another launcher: VM default/testvm1 "
                                                              "is running") &&
                                                  Catch::Contains("nothing was changed"));
        CHECK(w.fake->log().empty());
        CHECK(w.fake->snapshot() == before);
    }
}

TEST_CASE("names are injective: a-b/c and a/b-c are two cgroups and neither touches the other", "[vm_cgroup]") {
    CHECK(cgroup_subpath({.vm_namespace = "a-b", .vm_name = "c", .limits = {}}) != cgroup_subpath({.vm_namespace = "a", .vm_name = "b-c", .limits = {}}));
    CHECK(cgroup_subpath({.vm_namespace = "a-b", .vm_name = "c", .limits = {}}) == "a-b/c");
    World w({.layout = FakeLayout::hybrid});
    auto first = w.open(Mode::host, {.vm_namespace = "a-b", .vm_name = "c", .limits = spec.limits});
    w.fake->add_process(first.path(), 7001);
    w.fake->clear_log();
    auto second = w.open(Mode::host, {.vm_namespace = "a", .vm_name = "b-c", .limits = spec.limits});
    CHECK(second.path() == w.fake->root() / "memory/vmi-launcher/a/b-c");
    CHECK(second.notices().empty());
    CHECK(parse_pids(read_text(first.path() / "cgroup.procs")) == std::vector<pid_t>{7001});
    for (const auto& line : w.fake->log()) CHECK_THAT(line, !Catch::StartsWith("kill"));
}

TEST_CASE("the namespace level goes with the VM that made it, and only while empty", "[vm_cgroup]") {
    World w({.layout = FakeLayout::hybrid});
    const auto ns = w.fake->root() / "memory/vmi-launcher/a";
    auto x = w.open(Mode::host, {.vm_namespace = "a", .vm_name = "x", .limits = spec.limits});
    auto y = w.open(Mode::host, {.vm_namespace = "a", .vm_name = "y", .limits = spec.limits});
    w.fake->clear_log();
    x.close();  // made "a", but y is still there
    CHECK(w.fake->log() == Log{"rmdir memory/vmi-launcher/a/x", "rmdir memory/vmi-launcher/a"});
    CHECK(path_exists(ns / "y"));
    w.fake->clear_log();
    y.close();  // did not make "a": leaves it
    CHECK(w.fake->log() == Log{"rmdir memory/vmi-launcher/a/y"});
    CHECK(path_exists(ns));
}

TEST_CASE("nested mode: a first level named like the launcher's leaf is refused", "[vm_cgroup]") {
    World w({.layout = FakeLayout::v1, .own_cgroup = "/", .namespace_root = true});
    CHECK_THROWS_WITH(w.open(Mode::nested, {.vm_namespace = "launcher", .vm_name = "x", .limits = spec.limits}),
                      Catch::Contains("launcher's own leaf") && Catch::Contains("--cgroup-parent"));
    CHECK(w.fake->log().empty());
    auto s = spec;
    s.parent = "vms";
    s.vm_namespace = "launcher";
    CHECK(w.open(Mode::nested, s).path() == w.fake->root() / "memory/vms/launcher/testvm1");
}

TEST_CASE("the cgroup lock: busy while held, vanished when the path no longer names the locked cgroup", "[vm_cgroup]") {
    cgroups_test::TempDir t;
    const auto dir = t.path() / "vm";
    std::filesystem::create_directory(dir);
    auto held = try_lock_cgroup(dir);
    REQUIRE(held.result == LockResult::locked);
    CHECK(held.fd.get() >= 0);
    CHECK((::fcntl(held.fd.get(), F_GETFD) & FD_CLOEXEC) != 0);  // never inherited by QEMU
    CHECK(try_lock_cgroup(dir).result == LockResult::busy);
    // Its owner removes it and someone makes it anew: the new one is free.
    std::filesystem::remove(dir);
    CHECK(try_lock_cgroup(dir).result == LockResult::vanished);
    std::filesystem::create_directory(dir);
    CHECK(try_lock_cgroup(dir).result == LockResult::locked);
    held.fd.reset();
}

TEST_CASE("names that cannot be directories are refused", "[vm_cgroup]") {
    World w({.layout = FakeLayout::hybrid});
    CHECK_THROWS_WITH(w.open(Mode::host, {.vm_namespace = "a/b", .vm_name = "x", .limits = {.max_bytes = 1 << 20}}),
                      Catch::Contains("namespace \"a/b\""));
    CHECK_THROWS_WITH(w.open(Mode::host, {.vm_namespace = "a", .vm_name = "..", .limits = {.max_bytes = 1 << 20}}),
                      Catch::Contains("name \"..\""));
    CHECK(w.fake->log().empty());
}

TEST_CASE("a moved handle owns the cgroup once; close() reports and is idempotent", "[vm_cgroup]") {
    World w({.layout = FakeLayout::hybrid});
    auto vm = w.open(Mode::host);
    const auto path = vm.path();
    VmCgroup moved = std::move(vm);
    w.fake->add_process(path, 9001);
    w.fake->clear_log();
    const auto report = moved.close();
    CHECK(report.killed == 1);
    CHECK_FALSE(report.used_cgroup_kill);
    CHECK(report.remove_attempts == 1);
    CHECK(moved.close() == TeardownReport{});
    CHECK(w.fake->log() == Log{"kill 9001", "rmdir memory/vmi-launcher/default/testvm1",
                               "rmdir memory/vmi-launcher/default"});
}

TEST_CASE("the backend a mode gets: adopt never starts libcgroup, v2 writes cgroupfs itself", "[vm_cgroup]") {
    SECTION("adopt on v1") {
        World w({.layout = FakeLayout::hybrid});
        REQUIRE(w.detection.version == Version::v1);
        auto pending = begin_backend(w.detection, Mode::adopt);
        CHECK_FALSE(pending.helper);
        const auto choice = finish_backend(std::move(pending));
        CHECK(choice.backend->name() == "cgroupfs");
        CHECK_THAT(choice.reason, Catch::Contains("adopt mode"));
    }
    SECTION("host on v2") {
        World w({.layout = FakeLayout::v2, .own_cgroup = "/"});
        auto pending = begin_backend(w.detection, Mode::host);
        CHECK_FALSE(pending.helper);
        const auto choice = finish_backend(std::move(pending));
        CHECK(choice.backend->name() == "cgroupfs");
        CHECK_THAT(choice.reason, Catch::Contains("v2"));
    }
    SECTION("direct when asked for") {
        World w({.layout = FakeLayout::hybrid});
        CHECK_FALSE(begin_backend(w.detection, Mode::host, BackendKind::direct).helper);
    }
}
