// A launcher removes, kills or reuses only what it can prove is its own:
// real launchers, real cgroups, QEMU booting the test guest.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "launcher_process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using itest::LauncherProcess;

namespace {

const std::string cgroup_parent = "vmi-launcher-itest";

std::string vm_cgroup(const std::string& ns, const std::string& name) {
    return "/sys/fs/cgroup/memory/" + cgroup_parent + "/" + ns + "/" + name;
}

class Scratch : public itest::ScratchDir {
public:
    Scratch() : ScratchDir("vmil-own-itest") {}

    // `run` of the test guest as namespace `ns`, name `name`; `wait` keeps
    // the guest up until the power button. The console log is per launcher.
    std::vector<std::string> run(const std::string& ns, const std::string& name, bool wait,
                                 const std::vector<std::string>& extra) {
        std::string yaml = itest::test_vmi_yaml(name, "256Mi", "256Mi", wait ? "vmil.wait" : "");
        yaml.replace(yaml.find("namespace: itest"), 16, "namespace: " + ns);
        const fs::path file = path(fmt::format("{}.{}.{}.yaml", ns, name, runs_));
        std::ofstream(file) << yaml;
        auto a = itest::guest_run_argv(file.string(), path(fmt::format("console-{}", runs_++)).string(),
                                       cgroup_parent);
        a.insert(a.end(), {"--grace-period", "1"});
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }

private:
    int runs_ = 0;
};

bool in_cgroup(pid_t pid, const std::string& cgroup) {
    return itest::read_file(cgroup + "/cgroup.procs").find(std::to_string(pid) + "\n") != std::string::npos;
}

// A running VM's launcher: SIGTERM, and the VM ends (power button, or forced after the 1 s grace).
void stop(LauncherProcess& l) {
    l.signal(SIGTERM);
    const auto code = l.wait_exit(60s);
    REQUIRE(code);
    CHECK((*code == 0 || *code == 5));
}

pid_t started_qemu(LauncherProcess& l) {
    const auto started = l.wait_event("qemu_started", 60s);
    REQUIRE(started);
    return (*started)["pid"].get<pid_t>();
}

}  // namespace

TEST_CASE("two runs of the same VMI started together: one runs, the other exits 2 and touches nothing") {
    Scratch s;
    const fs::path state_root = s.path("state");
    for (int round = 0; round < 10; ++round) {
        INFO("round " << round);
        auto first = std::make_unique<LauncherProcess>(s.run("itest", "race", true, {"--state-root", state_root.string()}));
        auto second = std::make_unique<LauncherProcess>(s.run("itest", "race", true, {"--state-root", state_root.string()}));
        // The loser is refused at once; the winner goes on to start QEMU.
        LauncherProcess* loser = nullptr;
        LauncherProcess* winner = nullptr;
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (!loser && std::chrono::steady_clock::now() < deadline) {
            if (first->wait_exit(0s)) {
                loser = first.get();
                winner = second.get();
            } else if (second->wait_exit(0s)) {
                loser = second.get();
                winner = first.get();
            } else {
                ::usleep(20'000);
            }
        }
        REQUIRE(loser);
        CHECK(*loser->wait_exit(0s) == 2);
        CHECK_THAT(loser->output() + loser->errors(), Catch::Contains("is in use: VM itest/race is already running"));
        CHECK_THAT(loser->output(), !Catch::Contains("stale") && !Catch::Contains("qemu_started"));
        const pid_t qemu = started_qemu(*winner);
        CHECK(itest::process_alive(qemu));
        CHECK(in_cgroup(qemu, vm_cgroup("itest", "race")));
        CHECK(itest::exists((state_root / "itest/race/launcher.lock").string()));
        stop(*winner);
        CHECK_FALSE(itest::exists(vm_cgroup("itest", "race")));
        CHECK_FALSE(itest::exists((state_root / "itest/race").string()));
    }
}

TEST_CASE("the same VMI under another --state-root or --state-dir is refused; the running VM is untouched") {
    Scratch s;
    LauncherProcess running(s.run("itest", "twice", true, {"--state-root", s.path("a").string()}));
    const pid_t qemu = started_qemu(running);
    REQUIRE(running.wait_event("qmp_ready", 60s));
    const std::vector<std::vector<std::string>> others{{"--state-root", s.path("b").string()},
                                                       {"--state-dir", s.path("elsewhere").string()}};
    for (const auto& where : others) {
        INFO(where[0]);
        LauncherProcess other(s.run("itest", "twice", true, where));
        const auto code = other.wait_exit(60s);
        REQUIRE(code);
        CHECK(*code == 2);
        CHECK_THAT(other.output() + other.errors(),
                   Catch::Contains("cgroup " + vm_cgroup("itest", "twice") + " is in use by another launcher"));
        CHECK_THAT(other.output(), !Catch::Contains("qemu_started") && !Catch::Contains("stale"));
        // Its own state directory went again, with the parents it made.
        CHECK_FALSE(itest::exists(s.path("b").string()));
        CHECK_FALSE(itest::exists(s.path("elsewhere").string()));
        // The running VM: QEMU alive in its cgroup, its state directory in place.
        CHECK(itest::process_alive(qemu));
        CHECK(in_cgroup(qemu, vm_cgroup("itest", "twice")));
        CHECK(itest::exists(s.path("a/itest/twice/control.sock").string()));
    }
    stop(running);
    CHECK_FALSE(itest::exists(vm_cgroup("itest", "twice")));
}

TEST_CASE("a stale cgroup and state directory left by a SIGKILLed launcher are cleaned by the next run") {
    Scratch s;
    const std::vector<std::string> where{"--state-root", s.path("state").string()};
    pid_t qemu = -1;
    {
        LauncherProcess l(s.run("itest", "killed", true, where));
        qemu = started_qemu(l);
        REQUIRE(l.wait_event("qmp_ready", 60s));
        l.signal(SIGKILL);
        REQUIRE(l.wait_exit(30s));
    }
    for (int i = 0; i < 500 && itest::process_alive(qemu); ++i) ::usleep(10'000);
    CHECK_FALSE(itest::process_alive(qemu));
    const std::string cgroup = vm_cgroup("itest", "killed");
    REQUIRE(itest::exists(cgroup));
    // Something still inside the stale cgroup: the next run must kill it.
    const pid_t leftover = ::fork();
    REQUIRE(leftover >= 0);
    if (leftover == 0) {
        ::execl("/bin/sleep", "sleep", "600", nullptr);
        ::_exit(127);
    }
    std::ofstream(cgroup + "/cgroup.procs") << leftover << "\n";
    REQUIRE(in_cgroup(leftover, cgroup));

    LauncherProcess next(s.run("itest", "killed", false, where));
    const auto stopped = itest::wait_stopped(next, 120s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
    const auto notice = next.wait_event("cgroup_notice", 1s);
    REQUIRE(notice);
    CHECK_THAT((*notice)["msg"].get<std::string>(),
               Catch::Contains("reusing the stale cgroup " + cgroup) && Catch::Contains("1 process killed"));
    CHECK(next.wait_event("stale_state_cleaned", 1s));
    int status = 0;
    REQUIRE(::waitpid(leftover, &status, 0) == leftover);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    CHECK_FALSE(itest::exists(cgroup));
    CHECK_FALSE(itest::exists(s.path("state/itest/killed").string()));
}

TEST_CASE("run --state-dir naming a directory with data: exit 2, the data intact, nothing started") {
    Scratch s;
    const fs::path d = s.path("d");
    fs::create_directories(d);
    std::ofstream(d / "data.txt") << "x\n";
    LauncherProcess l(s.run("itest", "userdir", false, {"--state-dir", d.string()}));
    const auto code = l.wait_exit(60s);
    REQUIRE(code);
    CHECK(*code == 2);
    CHECK_THAT(l.output() + l.errors(), Catch::Contains("state directory " + d.string()) &&
                                            Catch::Contains("no ownership record") &&
                                            Catch::Contains("left untouched"));
    CHECK(itest::read_file((d / "data.txt").string()) == "x\n");
    CHECK(std::distance(fs::directory_iterator(d), fs::directory_iterator()) == 1);
    CHECK_THAT(l.output(), !Catch::Contains("qemu_started"));
    CHECK_FALSE(itest::exists(vm_cgroup("itest", "userdir")));
}

TEST_CASE("--state-dir x/one: x, which existed before, is still there after the run") {
    Scratch s;
    fs::create_directories(s.path("x"));
    LauncherProcess l(s.run("itest", "parent", false, {"--state-dir", s.path("x/one").string()}));
    itest::wait_stopped(l, 120s, 0);
    CHECK(fs::is_directory(s.path("x")));
    CHECK_FALSE(fs::exists(s.path("x/one")));
}

TEST_CASE("namespace a-b with name c and namespace a with name b-c run side by side") {
    Scratch s;
    const std::vector<std::string> where{"--state-root", s.path("state").string()};
    LauncherProcess first(s.run("a-b", "c", true, where));
    const pid_t qemu1 = started_qemu(first);
    REQUIRE(first.wait_event("qmp_ready", 60s));
    LauncherProcess second(s.run("a", "b-c", true, where));
    const pid_t qemu2 = started_qemu(second);
    CHECK(in_cgroup(qemu1, vm_cgroup("a-b", "c")));
    CHECK(in_cgroup(qemu2, vm_cgroup("a", "b-c")));
    CHECK_THAT(second.output(), !Catch::Contains("stale"));
    CHECK(itest::process_alive(qemu1));
    CHECK_FALSE(first.wait_exit(0s));
    stop(second);
    CHECK(itest::process_alive(qemu1));
    stop(first);
    CHECK_FALSE(itest::exists(vm_cgroup("a-b", "c")));
    CHECK_FALSE(itest::exists(vm_cgroup("a", "b-c")));
}
