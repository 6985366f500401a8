// Killing and removal against a fake cgroupfs: cgroup.kill or a SIGKILL
// loop, a bound on waiting, EBUSY retries, children before parents.
#include "cgroups/teardown.hpp"

#include "cgroups/file_io.hpp"

#include "fake_cgroupfs.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <system_error>

using namespace cgroups;
using namespace std::chrono_literals;
using cgroups_test::FakeCgroupfs;
using cgroups_test::FakeLayout;
using Log = std::vector<std::string>;

namespace {

// Answers EBUSY to the first `busy` rmdir calls, as the kernel does while the
// last process is still leaving.
class BusyFake : public FakeCgroupfs {
public:
    BusyFake(cgroups_test::FakeOptions options, unsigned busy) : FakeCgroupfs(std::move(options)), busy_(busy) {}
    void remove(const std::filesystem::path& dir) override {
        if (busy_ > 0) {
            --busy_;
            throw std::system_error(EBUSY, std::generic_category(), "rmdir " + dir.string());
        }
        FakeCgroupfs::remove(dir);
    }

private:
    unsigned busy_;
};

// A process joins right after the kill (its fork came before the teardown).
class LateJoinFake : public FakeCgroupfs {
public:
    using FakeCgroupfs::FakeCgroupfs;
    void remove(const std::filesystem::path& dir) override {
        if (!joined_) {
            joined_ = true;
            add_process(dir, 77);
        }
        FakeCgroupfs::remove(dir);
    }

private:
    bool joined_ = false;
};

}  // namespace

TEST_CASE("v1: every process gets SIGKILL, children cgroups too, then removal deepest first", "[teardown]") {
    FakeCgroupfs fake({.layout = FakeLayout::hybrid});
    const auto vm = fake.root() / "memory/vm";
    fake.create(vm);
    fake.create(vm / "sub");
    fake.add_process(vm, 11);
    fake.add_process(vm / "sub", 12);
    fake.clear_log();
    const auto report = tear_down(fake, vm);
    CHECK(report == TeardownReport{.killed = 2, .used_cgroup_kill = false, .remove_attempts = 1});
    CHECK(fake.log() == Log{"kill 11", "kill 12", "rmdir memory/vm/sub", "rmdir memory/vm"});
    CHECK_FALSE(path_exists(vm));
}

TEST_CASE("v2 with cgroup.kill: one write kills the subtree", "[teardown]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2});
    const auto vm = fake.root() / "vm";
    fake.create(vm);
    fake.add_process(vm, 21);
    fake.add_process(vm, 22);
    fake.clear_log();
    const auto report = tear_down(fake, vm);
    CHECK(report.used_cgroup_kill);
    CHECK(report.killed == 2);
    CHECK(fake.log() == Log{"write vm/cgroup.kill 1", "rmdir vm"});
}

TEST_CASE("v2 kernel without cgroup.kill falls back to the SIGKILL loop", "[teardown]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2, .cgroup_kill = false});
    const auto vm = fake.root() / "vm";
    fake.create(vm);
    fake.add_process(vm, 31);
    fake.clear_log();
    CHECK_FALSE(tear_down(fake, vm).used_cgroup_kill);
    CHECK(fake.log() == Log{"kill 31", "rmdir vm"});
}

TEST_CASE("an empty cgroup is removed without killing anything", "[teardown]") {
    FakeCgroupfs fake({.layout = FakeLayout::v2});
    fake.create(fake.root() / "vm");
    fake.clear_log();
    CHECK(tear_down(fake, fake.root() / "vm") == TeardownReport{.killed = 0, .used_cgroup_kill = false, .remove_attempts = 1});
    CHECK(fake.log() == Log{"rmdir vm"});
}

TEST_CASE("a process that does not die stops the wait at its bound, naming it", "[teardown]") {
    FakeCgroupfs fake({.layout = FakeLayout::hybrid});
    const auto vm = fake.root() / "memory/vm";
    fake.create(vm);
    fake.add_process(vm, 41);
    fake.make_unkillable(41);
    CHECK_THROWS_WITH(kill_all(fake, vm, {.empty_wait = 30ms}),
                      Catch::Contains("kill processes in " + vm.string()) && Catch::Contains(": 41"));
}

TEST_CASE("rmdir is retried while EBUSY, within a bound", "[teardown]") {
    BusyFake fake({.layout = FakeLayout::hybrid}, 3);
    const auto vm = fake.root() / "memory/vm";
    fake.create(vm);
    CHECK(remove_tree(fake, vm).remove_attempts == 4);
    CHECK_FALSE(path_exists(vm));

    BusyFake stuck({.layout = FakeLayout::hybrid}, 100);
    stuck.create(stuck.root() / "memory/vm");
    CHECK_THROWS_WITH(remove_tree(stuck, stuck.root() / "memory/vm", {.remove_attempts = 5}),
                      Catch::Contains("rmdir") && Catch::Contains("busy"));
}

TEST_CASE("a process that joins after the kill is killed when rmdir says EBUSY", "[teardown]") {
    LateJoinFake fake({.layout = FakeLayout::hybrid});
    const auto vm = fake.root() / "memory/vm";
    fake.create(vm);
    fake.clear_log();
    CHECK(tear_down(fake, vm) == TeardownReport{.killed = 1, .used_cgroup_kill = false, .remove_attempts = 2});
    CHECK(fake.log() == Log{"rmdir memory/vm", "kill 77", "rmdir memory/vm"});
}

TEST_CASE("clean_stale kills everything inside, removes the child cgroups and keeps the cgroup", "[teardown]") {
    FakeCgroupfs fake({.layout = FakeLayout::hybrid});
    const auto vm = fake.root() / "memory/vm";
    fake.create(vm);
    fake.create(vm / "a");
    fake.create(vm / "a" / "b");
    fake.add_process(vm, 11);
    fake.add_process(vm / "a" / "b", 12);
    fake.clear_log();
    CHECK(clean_stale(fake, vm) == "reusing the stale cgroup " + vm.string() +
                                       " left by a launcher that is gone (its lock was free; 2 processes killed, "
                                       "1 child cgroup removed)");
    CHECK(fake.log() == Log{"kill 11", "kill 12", "rmdir memory/vm/a/b", "rmdir memory/vm/a"});
    CHECK(path_exists(vm));
    CHECK_FALSE(path_exists(vm / "a"));
}
