// Real cgroups on this machine (cgroup v1 on the project's hosts; v2 when
// the same binary runs in the test guest): limits, placement before exec,
// OOM events, teardown, stale cleanup, a read-only cgroupfs.
#include "cgroups/boost_process.hpp"
#include "cgroups/events.hpp"
#include "cgroups/file_io.hpp"
#include "cgroups/libcgroup_helper.hpp"
#include "cgroups/mode.hpp"
#include "cgroups/parse.hpp"
#include "cgroups/placement.hpp"
#include "cgroups/stats.hpp"

#include "integration_support.hpp"

#include <boost/process.hpp>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace cgroups;
using namespace cgroups_test;
using namespace std::chrono_literals;
namespace bp = boost::process;

namespace {

constexpr std::uint64_t mib = 1 << 20;

// Stops the child at its first instruction after exec (PTRACE_TRACEME makes
// a successful execve stop with SIGTRAP before the new program runs).
struct TraceMe : bp::extend::handler {
    template <typename Executor>
    void on_exec_setup(Executor&) const {
        ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    }
};

void require_killed(std::optional<int> status) {
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    if (WIFSIGNALED(*status)) CHECK(WTERMSIG(*status) == SIGKILL);
}

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("this machine: detection, the mode auto picks and why", "[integration]") {
    const auto& m = machine();
    REQUIRE(m.detection.memory_available);
    CHECK(m.detection.own_dir);
    const auto choice = choose_mode(m.detection, Mode::automatic);
    std::cout << choice.reason << "\n";
    CHECK_FALSE(choice.reason.empty());
}

TEST_CASE("host mode puts the planned limits in place", "[integration]") {
    auto vm = make_vm("limits", {.max_bytes = 64 * mib, .high_bytes = 48 * mib});
    const auto& p = vm.path();
    if (vm.version() == Version::v1) {
        CHECK(parse_limit(read_text(p / "memory.limit_in_bytes")) == 64 * mib);
        if (path_exists(p / "memory.memsw.limit_in_bytes"))
            CHECK(parse_limit(read_text(p / "memory.memsw.limit_in_bytes")) == 64 * mib);
    } else {
        CHECK(parse_limit(read_text(p / "memory.max")) == 64 * mib);
        CHECK(parse_limit(read_text(p / "memory.high")) == 48 * mib);
        CHECK(read_text(p / "memory.oom.group") == "1\n");
        if (path_exists(p / "memory.swap.max")) CHECK(read_text(p / "memory.swap.max") == "0\n");
    }
    const auto stats = read_stats(vm.version(), p);
    CHECK(stats.limit_bytes == 64 * mib);
    CHECK(stats.events == MemoryEventCounts{});
}

TEST_CASE("placement: the child's first instruction after exec already runs inside (Boost.Process)", "[integration]") {
    auto vm = make_vm("placement", {.max_bytes = 64 * mib});
    const auto& d = machine().detection;

    // Stopped at the new program's first instruction: which cgroup is it in?
    const auto first_instruction_cgroup = [&](bp::child& child) {
        int status = 0;
        REQUIRE(::waitpid(child.id(), &status, 0) == child.id());
        REQUIRE(WIFSTOPPED(status));
        REQUIRE(WSTOPSIG(status) == SIGTRAP);
        CHECK(std::filesystem::read_symlink("/proc/" + std::to_string(child.id()) + "/exe") ==
              std::filesystem::canonical(helper()));
        const auto where = memory_cgroup_of(child.id(), d);
        ::kill(child.id(), SIGKILL);
        child.wait();
        return where;
    };

    bp::child joined(helper(), "sleep", JoinCgroupOnExec(vm.join_fd()), TraceMe{});
    CHECK(first_instruction_cgroup(joined) == vm.path());

    // The same check without the handler sees the launcher's cgroup: it can fail.
    bp::child outside(helper(), "sleep", TraceMe{});
    CHECK(first_instruction_cgroup(outside) == d.own_dir);
}

TEST_CASE("v1 has no CLONE_INTO_CGROUP: the VM cgroup offers no cgroup fd", "[integration][v1]") {
    auto vm = make_vm("clone3-v1", {.max_bytes = 64 * mib});
    REQUIRE(vm.version() == Version::v1);
    CHECK(vm.cgroup_fd() == -1);
}

TEST_CASE("placement with clone3(CLONE_INTO_CGROUP) (cgroup v2)", "[integration][v2]") {
    auto vm = make_vm("clone3", {.max_bytes = 64 * mib});
    REQUIRE(vm.version() == Version::v2);
    REQUIRE(vm.cgroup_fd() >= 0);
    const pid_t pid = fork_into_cgroup(vm.cgroup_fd(), vm.path().string());
    if (pid == 0) {
        ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
        const std::string h = helper();
        ::execl(h.c_str(), h.c_str(), "sleep", nullptr);
        ::_exit(127);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSTOPPED(status));
    CHECK(memory_cgroup_of(pid, machine().detection) == vm.path());
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
}

TEST_CASE("a memory hog under a 64 MiB limit is OOM-killed and reported with the right count", "[integration]") {
    auto vm = make_vm("oom", {.max_bytes = 64 * mib});
    auto watcher = OomWatcher::open(vm.version(), vm.path(), *machine().backend);
    const auto start = std::chrono::steady_clock::now();
    const pid_t hog = spawn_helper(vm, {"hog", "256"});

    REQUIRE(wait_readable(watcher.fd(), 30s));
    const double event_ms = ms_since(start);
    auto seen = watcher.check();  // may still be 0: v1 signals before it counts the kill
    const auto status = wait_for(hog, 30s);
    const double reaped_ms = ms_since(start);
    require_killed(status);
    const auto last = watcher.check();  // the final read after the child is reaped
    const auto kills = seen.kill_events() + last.kill_events();
    CHECK(kills == 1);
    CHECK(watcher.total().kill_events() == 1);
    CHECK(watcher.total().oom_kills >= 1);
    if (vm.version() == Version::v2) CHECK(watcher.total().oom_group_kills == 1);
    const auto stats = read_stats(vm.version(), vm.path());
    CHECK(stats.events.kill_events() == 1);
    if (stats.peak_bytes) CHECK(*stats.peak_bytes > 32 * mib);
    std::cout << "oom: event after " << event_ms << " ms, child reaped after " << reaped_ms << " ms, " << kills
              << " kill reported (kernel oom_kill counter: " << watcher.total().oom_kills << ")\n";
}

TEST_CASE("a process that exits normally raises no OOM", "[integration]") {
    auto vm = make_vm("no-oom", {.max_bytes = 64 * mib});
    auto watcher = OomWatcher::open(vm.version(), vm.path(), *machine().backend);
    const pid_t pid = spawn_helper(vm, {"hog", "16"});
    const auto status = wait_for(pid, 30s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK_FALSE(wait_readable(watcher.fd(), 0ms));
    const auto news = watcher.check();
    CHECK_FALSE(news.oom_killed());
    CHECK(news.ooms == 0);
}

TEST_CASE("teardown removes the cgroup even with a leftover grandchild", "[integration]") {
    auto vm = make_vm("grandchild", {.max_bytes = 64 * mib});
    Pipe out;
    const pid_t child = spawn_helper(vm, {"orphan"}, out.write);
    out.close_write();
    const pid_t grandchild = std::stoi(read_line(out.read, 10s));
    const auto status = wait_for(child, 10s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(memory_cgroup_of(grandchild, machine().detection) == vm.path());

    const auto path = vm.path();
    const bool has_kill_file = path_exists(path / "cgroup.kill");
    const auto report = vm.close();
    CHECK(report.killed == 1);
    CHECK(report.used_cgroup_kill == has_kill_file);
    CHECK_FALSE(path_exists(path));
    require_killed(wait_for(grandchild, 10s));  // it came back to this subreaper
}

TEST_CASE("a stale cgroup left by a SIGKILLed launcher is cleaned at the next start", "[integration]") {
    Pipe ready;
    const pid_t launcher = ::fork();
    REQUIRE(launcher >= 0);
    if (launcher == 0) {
        // A launcher that starts a VM and is then killed: no destructor runs.
        try {
            auto vm = make_vm("stale", {.max_bytes = 64 * mib});
            spawn_helper(vm, {"sleep"});
            // fork() returned before the child joined: wait until it is inside,
            // and until it has exec'd the helper (on v2 it is inside from its
            // creation, and until exec it still shares this launcher's lock).
            std::vector<pid_t> pids;
            while ((pids = parse_pids(read_text(vm.path() / "cgroup.procs"))).empty()) ::usleep(1000);
            std::error_code ec;
            while (std::filesystem::read_symlink("/proc/" + std::to_string(pids[0]) + "/exe", ec).filename() !=
                   "cgroups-test-helper")
                ::usleep(1000);
            [[maybe_unused]] auto n = ::write(ready.write, "ready\n", 6);
            for (;;) ::pause();
        } catch (const std::exception& e) {
            std::cerr << "stale launcher: " << e.what() << "\n";
            ::_exit(1);
        }
    }
    ready.close_write();
    REQUIRE(read_line(ready.read, 10s) == "ready");
    ::kill(launcher, SIGKILL);
    require_killed(wait_for(launcher, 10s));

    const auto stale_dir = machine().parent_dir() / "test" / "stale";
    REQUIRE(path_exists(stale_dir));
    const auto left = parse_pids(read_text(stale_dir / "cgroup.procs"));
    REQUIRE(left.size() == 1);

    auto vm = make_vm("stale", {.max_bytes = 64 * mib});
    REQUIRE(vm.notices().size() == 1);
    CHECK(vm.notices()[0] == "reusing the stale cgroup " + stale_dir.string() +
                                 " left by a launcher that is gone (its lock was free; 1 process killed, "
                                 "0 child cgroups removed)");
    CHECK(vm.path() == stale_dir);
    require_killed(wait_for(left[0], 10s));  // the orphaned VM process came back to this subreaper
    CHECK(parse_pids(read_text(vm.path() / "cgroup.procs")).empty());
}

TEST_CASE("host mode on a read-only cgroupfs: a clear error and nothing left behind", "[integration]") {
    const auto& m = machine();
    const auto vm_dir = m.parent_dir() / "test" / "readonly";
    Pipe report;
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // A private mount namespace where the memory hierarchy is a read-only bind of itself.
        std::string lines;
        const auto root = m.detection.memory_root.c_str();
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount(root, root, nullptr, MS_BIND, nullptr) != 0 ||
            ::mount(nullptr, root, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
            lines = std::string("setup failed: ") + std::strerror(errno) + "\n";
        } else {
            const auto d = detect(system_inputs());
            lines += std::string("read_only ") + (d.read_only ? "yes" : "no") + "\n";
            try {
                choose_mode(d, Mode::host);
                lines += "host accepted\n";
            } catch (const ModeError& e) {
                lines += std::string(e.what()) + "\n";
            }
            lines += choose_mode(d, Mode::automatic).reason + "\n";
            try {
                auto backend = make_backend(d).backend;
                VmCgroup::open(d, Mode::host,
                               {.vm_namespace = "test", .vm_name = "readonly", .parent = m.parent,
                                .limits = {.max_bytes = 64 * mib}},
                               std::move(backend));
                lines += "created\n";
            } catch (const std::exception& e) {
                lines += std::string(e.what()) + "\n";
            }
        }
        [[maybe_unused]] auto n = ::write(report.write, lines.data(), lines.size());
        ::_exit(0);
    }
    report.close_write();
    std::vector<std::string> lines;
    for (int i = 0; i < 4; ++i) lines.push_back(read_line(report.read, 10s));
    wait_for(child, 10s);
    INFO(lines[0]);
    REQUIRE(lines[0] == "read_only yes");
    CHECK_THAT(lines[1], Catch::Contains("cgroup mode host") && Catch::Contains("mounted read-only"));
    CHECK_THAT(lines[2], Catch::StartsWith("auto chose adopt") && Catch::Contains("read-only"));
    CHECK_THAT(lines[3], Catch::Contains(m.detection.memory_root.string()) &&
                             Catch::Contains("Read-only file system"));
    CHECK_FALSE(path_exists(vm_dir));
    std::cout << "read-only host mode: " << lines[3] << "\n";
}

TEST_CASE("removing the cgroup is no OOM (v1's eventfd fires for it)", "[integration]") {
    auto vm = make_vm("removal", {.max_bytes = 64 * mib});
    auto watcher = OomWatcher::open(vm.version(), vm.path(), *machine().backend);
    const pid_t pid = spawn_helper(vm, {"sleep"});
    while (parse_pids(read_text(vm.path() / "cgroup.procs")).empty()) ::usleep(1000);
    vm.close();
    require_killed(wait_for(pid, 10s));
    // v1's eventfd fires on removal; v2's inotify stays silent.
    if (vm.version() == Version::v1) CHECK(wait_readable(watcher.fd(), 5s));
    CHECK_FALSE(watcher.check().oom_killed());
    CHECK(watcher.gone());
}

TEST_CASE("closing right after a fork, before the child has joined, lets nothing escape", "[integration]") {
    // The child joins between fork and exec; close() may run before, during or
    // after that. Whichever happens, the child must end and the cgroup go.
    const UniqueFd quiet(::open("/dev/null", O_WRONLY | O_CLOEXEC));  // a refused join says so on stderr
    for (int round = 0; round < 20; ++round) {
        auto vm = make_vm("race", {.max_bytes = 64 * mib});
        const auto path = vm.path();
        const pid_t pid = spawn_helper(vm, {"sleep"}, -1, Spawn::fork_join, quiet.get());
        vm.close();
        const auto status = wait_for(pid, 10s);
        REQUIRE(status);
        // Killed inside, or it found the cgroup gone and never ran the program.
        const bool killed = WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL;
        const bool refused = WIFEXITED(*status) && WEXITSTATUS(*status) == join_failed_status;
        CHECK((killed || refused));
        CHECK_FALSE(path_exists(path));
    }
}

namespace {

// Resident KiB of libcgroup's zero-initialised data (the anonymous mapping
// right after its last file mapping) in this process; -1 when not found.
long libcgroup_tables_kib() {
    struct Mapping {
        std::string name;
        long rss_kib = 0;
    };
    std::vector<Mapping> maps;
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    while (std::getline(smaps, line)) {
        if (line.rfind("Rss:", 0) == 0 && !maps.empty()) {
            maps.back().rss_kib = std::stol(line.substr(4));
            continue;
        }
        // A mapping's first line: "start-end perms offset dev inode [name]".
        std::istringstream fields(line);
        std::string range, perms, offset, dev, inode, name;
        if (!(fields >> range >> perms >> offset >> dev >> inode) || range.find('-') == std::string::npos ||
            !std::isxdigit(static_cast<unsigned char>(range[0])) || perms.size() != 4)
            continue;
        fields >> name;
        maps.push_back({name, 0});
    }
    for (std::size_t i = maps.size(); i-- > 1;) {
        if (maps[i - 1].name.find("libcgroup.so") != std::string::npos)
            return maps[i].name.empty() ? maps[i].rss_kib : -1;
    }
    return -1;
}

}  // namespace

TEST_CASE("cgroup v2 is served by plain cgroupfs writes, no libcgroup helper", "[integration][v2]") {
    // libcgroup 2.0 does not serve this v2 tree.
    REQUIRE(machine().detection.version == Version::v2);
    CHECK(machine().backend->name() == "cgroupfs");
}

TEST_CASE("libcgroup works from its helper process and leaves its tables out of the launcher", "[integration][v1]") {
    const auto& d = machine().detection;
    REQUIRE(d.version == Version::v1);
    const auto dir = machine().parent_dir() / "helper";
    const long before = libcgroup_tables_kib();
    REQUIRE(before >= 0);
    {
        LibcgroupHelperBackend backend(d.memory_root);
        backend.wait_ready();
        const pid_t first = backend.helper_pid();
        REQUIRE(first > 0);
        if (!path_exists(machine().parent_dir())) backend.create(machine().parent_dir());
        backend.create(dir);
        backend.set(dir, "memory.limit_in_bytes", std::to_string(64 * mib));
        CHECK(parse_limit(read_text(dir / "memory.limit_in_bytes")) == 64 * mib);

        // Errors cross over with their errno and words.
        try {
            backend.create(dir);
            FAIL("a second create of the same cgroup succeeded");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == EEXIST);
            CHECK_THAT(e.what(), Catch::Contains(dir.string()));
        }
        CHECK_THROWS(backend.set(dir, "memory.no_such_file", "1"));

        // release() ends the helper; a later set starts another.
        backend.release();
        CHECK(backend.helper_pid() == -1);
        // By then the launcher holds its ownership locks (state directory,
        // cgroup): a forked helper must not keep a copy of them alive.
        const auto held = std::filesystem::temp_directory_path() / ("helper-fd-test-" + std::to_string(::getpid()));
        const UniqueFd lock(::open(held.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        REQUIRE(lock);
        backend.set(dir, "memory.limit_in_bytes", std::to_string(32 * mib));
        std::vector<std::string> helper_fds;
        for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(backend.helper_pid()) + "/fd"))
            helper_fds.push_back(std::filesystem::read_symlink(e.path()).string());
        ::unlink(held.c_str());
        CHECK(std::find(helper_fds.begin(), helper_fds.end(), held.string()) == helper_fds.end());
        CHECK(helper_fds.size() <= 4);  // stdin, stdout, stderr and its socket
        CHECK(parse_limit(read_text(dir / "memory.limit_in_bytes")) == 32 * mib);
        CHECK(backend.helper_pid() > 0);
        CHECK(backend.helper_pid() != first);
        backend.remove(dir);
    }
    CHECK_FALSE(path_exists(dir));
    const long after = libcgroup_tables_kib();
    INFO("libcgroup's tables resident here: " << before << " KiB before, " << after << " KiB after");
    CHECK(after - before < 64);

    // The control: libcgroup started in a process fills them (so the check
    // above can fail). In a child, to keep this process as it was.
    Pipe report;
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(report.read);
        std::string text;
        try {
            LibcgroupBackend in_process(d.memory_root);
            text = std::to_string(libcgroup_tables_kib()) + "\n";
        } catch (const std::exception& e) {
            text = std::string(e.what()) + "\n";
        }
        [[maybe_unused]] auto n = ::write(report.write, text.data(), text.size());
        ::_exit(0);
    }
    report.close_write();
    const auto line = read_line(report.read, 10s);
    wait_for(child, 10s);
    INFO("libcgroup started in process: " << line);
    CHECK(std::stol(line) - before > 256);
    std::cout << "libcgroup tables: " << after << " KiB resident here after the helper did the work, " << line
              << " KiB once libcgroup starts in a process\n";
}
