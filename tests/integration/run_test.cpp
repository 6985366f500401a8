// vmi-launcher run for real: QEMU under TCG (or KVM), real cgroups, the test guest.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "../launcher/run_command.hpp"
#include "launcher_process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using itest::LauncherProcess;

namespace {

struct Vm {
    std::string name;
    std::string guest = "256Mi";
    std::string request = "256Mi";
    std::string kernel_args;
    std::string extra_yaml;
};

// A scratch directory per test: VMI files, state, logs.
class Scratch : public itest::ScratchDir {
public:
    Scratch() : ScratchDir("vmil-itest") {}
    fs::path state_root() const { return path("state"); }

    std::string write_vmi(const Vm& vm) const {
        const std::string text = itest::test_vmi_yaml(vm.name, vm.guest, vm.request, vm.kernel_args, vm.extra_yaml);
        const fs::path file = path(vm.name + ".yaml");
        std::ofstream(file) << text;
        return file.string();
    }

    std::vector<std::string> run_args(const Vm& vm, std::vector<std::string> extra = {}) const {
        auto a = itest::guest_run_argv(write_vmi(vm), path(vm.name + ".console").string());
        a.insert(a.end(), {"--state-root", state_root().string(), "--termination-log",
                           path(vm.name + ".termination").string()});
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
};

const std::string memory_root = "/sys/fs/cgroup/memory";

// Sends raw bytes to a control socket (no SIGPIPE if it closes early) and
// returns the answer line, or "" after 5 s.
std::string control_exchange(const std::string& path, const std::string& bytes) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    std::string reply;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
        std::thread writer([fd, &bytes] { (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL); });
        char buf[4096];
        pollfd p{fd, POLLIN, 0};
        while (::poll(&p, 1, 5000) > 0) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) break;
            reply.append(buf, static_cast<std::size_t>(n));
            if (reply.back() == '\n') break;
        }
        ::shutdown(fd, SHUT_RDWR);
        writer.join();
    }
    ::close(fd);
    return reply;
}

std::string vm_cgroup(const std::string& name) { return memory_root + "/vmi-launcher-itest/itest/" + name; }

// Nothing of the VM is left: no cgroup, no state directory, no QEMU.
void check_nothing_left(const Scratch& s, const std::string& name, pid_t qemu_pid = -1) {
    CHECK_FALSE(itest::exists(vm_cgroup(name)));
    CHECK_FALSE(itest::exists((s.state_root() / "itest" / name).string()));
    if (qemu_pid > 0) CHECK_FALSE(itest::process_alive(qemu_pid));
}

}  // namespace

TEST_CASE("the VM boots in its cgroup, shuts down on SIGTERM through the power button, and leaves nothing") {
    Scratch s;
    const Vm vm{"boot", "256Mi", "256Mi", "vmil.wait", ""};
    LauncherProcess l(s.run_args(vm));
    auto plan = l.wait_event("memory_plan", 30s);
    REQUIRE(plan);
    auto started = l.wait_event("qemu_started", 30s);
    REQUIRE(started);
    const pid_t qemu = (*started)["pid"].get<pid_t>();
    auto cgroup = l.wait_event("cgroup_ready", 5s);
    REQUIRE(cgroup);
    const std::string path = (*cgroup)["cgroup"];
    CHECK(path == vm_cgroup("boot"));
    // The plan's limit is in place and QEMU is inside.
    CHECK(std::stoull(itest::read_file(path + "/memory.limit_in_bytes")) == (*plan)["cgroup_limit_bytes"]);
    CHECK_THAT(itest::read_file("/proc/" + std::to_string(qemu) + "/cgroup"),
               Catch::Contains("memory:/vmi-launcher-itest/itest/boot\n"));
    CHECK_THAT(itest::read_file(path + "/cgroup.procs"), Catch::Contains(std::to_string(qemu)));

    // Wait for the guest to be up, then ask it to shut down.
    itest::wait_for_text(s.path("boot.console").string(), "VMIL: waiting", 30s);
    const std::string before = itest::read_file(s.path("boot.console"));
    REQUIRE_THAT(before, Catch::Contains("VMIL: waiting"));
    // The guest sees what -m gave it, less the kernel's own reservation.
    const long kb = itest::mem_total_kb(before);
    CHECK(kb * 1024 <= 256L << 20);
    CHECK(kb * 1024 >= (256L - 40) << 20);

    // status answers while it runs.
    const auto st = test_cmd::run({itest::launcher_path(), "status", "itest/boot", "--state-root",
                                   s.state_root().string(), "-o", "json"});
    REQUIRE(st.status == 0);
    const auto status = nlohmann::json::parse(st.out);
    CHECK(status["status"] == "running");
    CHECK(status["qemu_pid"] == qemu);
    CHECK(status["cgroup"]["limit_bytes"] == (*plan)["cgroup_limit_bytes"]);
    CHECK(status["cgroup"]["usage_bytes"].get<std::uint64_t>() > (64u << 20));
    CHECK(status["cgroup"]["oom_kills"] == 0);

    l.signal(SIGTERM);
    auto stopped = itest::wait_stopped(l, 60s, 0);
    const std::string console = itest::read_file(s.path("boot.console"));
    CHECK_THAT(console, Catch::Contains("VMIL: power button"));
    CHECK(stopped["outcome"] == "guest_shutdown");
    CHECK_THAT(itest::read_file(s.path("boot.termination")), Catch::StartsWith("Completed"));
    check_nothing_left(s, "boot", qemu);
    // Every line of the JSON log is an object naming the VMI.
    for (const auto& e : l.events()) CHECK(e["vmi"] == "itest/boot");
}

TEST_CASE("a guest that fills more memory than the cgroup leaves room for is OOM-killed, and says so") {
    Scratch s;
    // Overcommit: 512Mi of guest on a 128Mi request; the guest fills 400 MiB.
    const Vm vm{"oom", "512Mi", "128Mi", "vmil.fill=400", ""};
    LauncherProcess l(s.run_args(vm));
    auto plan = l.wait_event("memory_plan", 30s);
    REQUIRE(plan);
    auto started = l.wait_event("qemu_started", 30s);
    REQUIRE(started);
    auto stopped = itest::wait_stopped(l, 120s, 4);
    auto oom = l.wait_event("oom_killed", 1s);
    REQUIRE(oom);
    CHECK((*oom)["limit_bytes"] == (*plan)["cgroup_limit_bytes"]);
    CHECK((*oom)["peak_bytes"].get<std::uint64_t>() >= (*plan)["cgroup_limit_bytes"].get<std::uint64_t>() - (1u << 20));
    CHECK((*oom)["oom_kills"].get<int>() >= 1);
    // The kill time in its own field, in the log's one time format.
    CHECK_THAT((*oom)["killed_at"].get<std::string>(), Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"));
    CHECK((*oom)["time"].is_string());
    CHECK(stopped["outcome"] == "oom_killed");
    CHECK_THAT(itest::read_file(s.path("oom.termination")), Catch::StartsWith("OOMKilled:"));
    CHECK_THAT(itest::read_file(s.path("oom.console")), Catch::Contains("VMIL: fill progress"));
    check_nothing_left(s, "oom", (*started)["pid"].get<pid_t>());
}

TEST_CASE("a guest that ignores the power button is stopped when the grace period ends") {
    Scratch s;
    const Vm vm{"stubborn", "256Mi", "256Mi", "vmil.wait vmil.ignore-power", ""};
    LauncherProcess l(s.run_args(vm, {"--grace-period", "3"}));
    auto started = l.wait_event("qemu_started", 30s);
    REQUIRE(started);
    itest::wait_for_text(s.path("stubborn.console").string(), "VMIL: waiting", 30s);
    const auto t0 = std::chrono::steady_clock::now();
    l.signal(SIGTERM);
    REQUIRE(l.wait_event("powerdown", 10s));
    const auto code = l.wait_exit(30s);
    const auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE(code);
    CHECK(*code == 5);
    CHECK(took >= 3s);
    CHECK(took < 15s);
    CHECK(l.wait_event("grace_period_expired", 1s));
    CHECK_THAT(itest::read_file(s.path("stubborn.termination")), Catch::StartsWith("ForcedStop"));
    check_nothing_left(s, "stubborn", (*started)["pid"].get<pid_t>());
}

TEST_CASE("a second SIGTERM stops QEMU at once") {
    Scratch s;
    const Vm vm{"impatient", "256Mi", "256Mi", "vmil.wait vmil.ignore-power", ""};
    LauncherProcess l(s.run_args(vm, {"--grace-period", "600"}));
    REQUIRE(l.wait_event("qmp_ready", 30s));
    l.signal(SIGTERM);
    REQUIRE(l.wait_event("shutdown_requested", 10s));
    // A second request, not the same one delivered twice (signals.hpp).
    std::this_thread::sleep_for(1500ms);
    l.signal(SIGTERM);
    const auto code = l.wait_exit(20s);
    REQUIRE(code);
    CHECK(*code == 5);
    CHECK(l.wait_event("shutdown_escalated", 1s));
}

TEST_CASE("when the launcher is SIGKILLed QEMU dies with it, and the next run cleans up and starts") {
    Scratch s;
    const Vm waiting{"orphan", "256Mi", "256Mi", "vmil.wait", ""};
    pid_t qemu = -1;
    {
        LauncherProcess l(s.run_args(waiting));
        auto started = l.wait_event("qemu_started", 30s);
        REQUIRE(started);
        qemu = (*started)["pid"].get<pid_t>();
        REQUIRE(l.wait_event("qmp_ready", 30s));
        l.signal(SIGKILL);
        REQUIRE(l.wait_exit(10s));
    }
    const auto t0 = std::chrono::steady_clock::now();
    while (itest::process_alive(qemu) && std::chrono::steady_clock::now() - t0 < 5s) usleep(10000);
    CHECK_FALSE(itest::process_alive(qemu));
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    // status and console say what happened, not "Connection refused".
    for (const std::string command : {"status", "console"}) {
        const auto gone = test_cmd::run({itest::launcher_path(), command, "itest/orphan", "--state-root",
                                         s.state_root().string()});
        INFO(command << ": " << gone.err);
        CHECK(gone.status == 2);
        CHECK_THAT(gone.err, Catch::Contains("itest/orphan is not running") &&
                                 Catch::Contains("stale state directory") && !Catch::Contains("Connection refused"));
    }
    // The cgroup and the state directory were left behind...
    CHECK(itest::exists(vm_cgroup("orphan")));
    // ...and the next run of the same VMI cleans them and starts.
    const Vm again{"orphan", "256Mi", "256Mi", "", ""};
    LauncherProcess l2(s.run_args(again));
    const auto code = l2.wait_exit(90s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(l2.wait_event("stale_state_cleaned", 1s));
    const std::string out = l2.output();
    CHECK_THAT(out, Catch::Contains("stale"));
    check_nothing_left(s, "orphan");
}

TEST_CASE("as PID 1 of a new PID namespace it runs the VM, reaps and exits cleanly") {
    Scratch s;
    const Vm vm{"pidone", "256Mi", "256Mi", "", ""};
    auto args = s.run_args(vm);
    args.insert(args.begin(), {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"});
    LauncherProcess l(args);
    auto started = l.wait_event("qemu_started", 30s);
    REQUIRE(started);
    auto stopped = itest::wait_stopped(l, 90s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
    CHECK(itest::mem_total_kb(itest::read_file(s.path("pidone.console"))) > 0);
    check_nothing_left(s, "pidone");
}

TEST_CASE("eight VMs at once, each in its own cgroup, all exit cleanly and leave nothing") {
    Scratch s;
    std::vector<std::unique_ptr<LauncherProcess>> ls;
    for (int i = 0; i < 8; ++i) {
        ls.push_back(std::make_unique<LauncherProcess>(s.run_args(Vm{fmt::format("many-{}", i), "128Mi", "128Mi", "", ""})));
    }
    std::vector<pid_t> qemus;
    std::set<std::string> cgroups;
    for (auto& l : ls) {
        auto c = l->wait_event("cgroup_ready", 60s);
        REQUIRE(c);
        cgroups.insert((*c)["cgroup"].get<std::string>());
        auto started = l->wait_event("qemu_started", 60s);
        REQUIRE(started);
        qemus.push_back((*started)["pid"].get<pid_t>());
    }
    CHECK(cgroups.size() == 8);
    for (auto& l : ls) {
        const auto code = l->wait_exit(240s);
        REQUIRE(code);
        CHECK(*code == 0);
    }
    for (int i = 0; i < 8; ++i) check_nothing_left(s, fmt::format("many-{}", i), qemus[static_cast<std::size_t>(i)]);
    // No socket or file is left in the state root either. (The namespace
    // directory stays when the launcher that made it was not the last of the
    // namespace to end: a launcher removes only the parents it made.)
    std::size_t left = 0;
    if (fs::exists(s.state_root())) {
        for (const auto& e : fs::recursive_directory_iterator(s.state_root()))
            if (!e.is_directory() || e.path().parent_path() != s.state_root()) ++left;
    }
    CHECK(left == 0);
}

TEST_CASE("setup failures: a clear error, exit 2, nothing left") {
    Scratch s;
    SECTION("missing QEMU binary") {
        LauncherProcess l(s.run_args(Vm{"noqemu", "256Mi", "256Mi", "", ""}, {"--qemu", "/nonexistent/qemu"}));
        const auto code = l.wait_exit(30s);
        REQUIRE(code);
        CHECK(*code == 2);
        CHECK_THAT(l.errors(), Catch::Contains("/nonexistent/qemu"));
        check_nothing_left(s, "noqemu");
    }
    SECTION("missing disk file") {
        const Vm vm{"nodisk", "256Mi", "256Mi", "", R"(      disks:
      - name: data
        disk:
          bus: virtio
  volumes:
  - name: data
    hostDisk:
      path: /nonexistent/data.img
      type: Disk
)"};
        LauncherProcess l(s.run_args(vm));
        const auto code = l.wait_exit(30s);
        REQUIRE(code);
        CHECK(*code == 2);
        CHECK_THAT(l.errors(), Catch::Contains("data") && Catch::Contains("/nonexistent/data.img"));
        check_nothing_left(s, "nodisk");
    }
    SECTION("read-only cgroupfs in host mode") {
        // A private mount namespace where the memory hierarchy is read-only.
        auto args = s.run_args(Vm{"rocg", "256Mi", "256Mi", "", ""}, {"--cgroup-mode", "host"});
        std::string cmd = "mount --make-rprivate / && mount -o remount,ro,bind " + memory_root + " " + memory_root + " && exec";
        for (const auto& a : args) cmd += " '" + a + "'";
        LauncherProcess l({"/usr/bin/unshare", "--mount", "/bin/sh", "-c", cmd});
        const auto code = l.wait_exit(30s);
        REQUIRE(code);
        CHECK(*code == 2);
        CHECK_THAT(l.errors(), Catch::Contains("cgroup") && (Catch::Contains("read-only") || Catch::Contains("Read-only")));
        check_nothing_left(s, "rocg");
    }
}

TEST_CASE("--dry-run prints every step and creates nothing") {
    Scratch s;
    const Vm vm{"dry", "256Mi", "256Mi", "", ""};
    const auto r = test_cmd::run(s.run_args(vm, {"--dry-run"}));
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("dry run") && Catch::Contains("cgroup mode") &&
                          Catch::Contains("qemu-system-x86_64") && Catch::Contains("memory.limit_in_bytes="));
    CHECK_FALSE(itest::exists((s.state_root() / "itest" / "dry").string()));
    CHECK_FALSE(itest::exists(vm_cgroup("dry")));
}

TEST_CASE("QEMU failing or crashing: exit 3, its own words in the log and the termination message") {
    Scratch s;
    SECTION("QEMU exits with an error") {
        const fs::path fake = s.path("failing-qemu");
        std::ofstream(fake) << "#!/bin/sh\necho \"qemu-system-x86_64: -device foo: 'foo' is not a valid device model name\" >&2\n"
                               "printf 'no newline at the end' >&2\nexit 1\n";
        fs::permissions(fake, fs::perms::owner_all);
        LauncherProcess l(s.run_args(Vm{"failing", "256Mi", "256Mi", "", ""}, {"--qemu", fake.string()}));
        auto stopped = itest::wait_stopped(l, 30s, 3);
        CHECK(stopped["outcome"] == "qemu_failed");
        CHECK(stopped["qemu_exit_code"] == 1);
        CHECK_THAT(stopped["qemu_stderr"].dump(), Catch::Contains("is not a valid device model name") &&
                                                         Catch::Contains("no newline at the end"));
        CHECK_THAT(itest::read_file(s.path("failing.termination")),
                   Catch::StartsWith("Error: QEMU ended with exit status 1") && Catch::Contains("foo"));
        check_nothing_left(s, "failing");
    }
    SECTION("QEMU crashes") {
        Vm vm{"crash", "256Mi", "256Mi", "vmil.wait", ""};
        LauncherProcess l(s.run_args(vm));
        auto started = l.wait_event("qmp_ready", 30s);
        REQUIRE(started);
        auto qemu = l.wait_event("qemu_started", 1s);
        ::kill((*qemu)["pid"].get<pid_t>(), SIGSEGV);
        auto stopped = itest::wait_stopped(l, 30s, 3);
        CHECK(stopped["qemu_signal"] == SIGSEGV);
        CHECK_THAT(itest::read_file(s.path("crash.termination")), Catch::Contains("killed by signal 11"));
        check_nothing_left(s, "crash");
    }
}

TEST_CASE("console attaches to the serial console and detaches with Ctrl-]; a second client is told it is busy") {
    Scratch s;
    const Vm vm{"serial", "256Mi", "256Mi", "vmil.wait", ""};
    LauncherProcess l(s.run_args(vm));
    auto started = l.wait_event("qemu_started", 30s);
    REQUIRE(started);
    const pid_t qemu = (*started)["pid"].get<pid_t>();
    REQUIRE(l.wait_event("qmp_ready", 30s));
    itest::wait_for_text(s.path("serial.console").string(), "VMIL: waiting", 30s);
    const std::vector<std::string> console{itest::launcher_path(), "console", "itest/serial", "--state-root",
                                           s.state_root().string()};
    // Ctrl-] on standard input detaches at once; the VM runs on.
    const auto detached = test_cmd::run(console, "\x1d");
    CHECK(detached.status == 0);
    CHECK_FALSE(l.wait_exit(0s));
    // Attached, it shows what the guest prints: the power button, then the end.
    LauncherProcess attached(console);
    usleep(300000);
    // A second client while one is attached is told so at once, and the first keeps the console.
    auto t0 = std::chrono::steady_clock::now();
    const auto second = test_cmd::run(console);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    CHECK(second.status == 2);
    CHECK_THAT(second.err, Catch::Contains("itest/serial: console busy"));
    CHECK(l.wait_event("console_busy", 1s));
    // The launcher writes the log, for root only.
    CHECK((fs::status(s.path("serial.console")).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));

    // Hostile control clients get an error reply; the launcher and the VM go on.
    for (const std::string& bytes : {std::string("\xff\n"), std::string(1 << 20, 'x')}) {
        const std::string reply = control_exchange((s.state_root() / "itest/serial/control.sock").string(), bytes);
        CHECK_THAT(reply, Catch::StartsWith("{\"error\":"));
    }
    CHECK_FALSE(l.wait_exit(0s));
    CHECK(itest::process_alive(qemu));

    // status while QEMU is stopped: at once, the cgroup's figures, and that QEMU does not answer.
    REQUIRE(::kill(qemu, SIGSTOP) == 0);
    t0 = std::chrono::steady_clock::now();
    const auto stopped = test_cmd::run({itest::launcher_path(), "status", "itest/serial", "--state-root",
                                        s.state_root().string(), "-o", "json"});
    const auto took = std::chrono::steady_clock::now() - t0;
    ::kill(qemu, SIGCONT);
    INFO(stopped.out << stopped.err);
    CHECK(took < 5s);
    REQUIRE(stopped.status == 0);
    const auto st = nlohmann::json::parse(stopped.out);
    CHECK(st["status"] == "not answering");
    CHECK_THAT(st["qemu_error"].get<std::string>(), Catch::Contains("QEMU does not answer"));
    CHECK(st["cgroup"]["usage_bytes"].get<std::uint64_t>() > (64u << 20));
    CHECK(st["qemu_pid"] == qemu);

    l.signal(SIGTERM);
    REQUIRE(l.wait_exit(60s) == 0);
    const auto code = attached.wait_exit(10s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK_THAT(attached.output(), Catch::Contains("VMIL: power button") && Catch::Contains("VMIL: poweroff"));
    // With no launcher, console says so.
    const auto gone = test_cmd::run(console);
    CHECK(gone.status == 2);
    CHECK_THAT(gone.err, Catch::Contains("itest/serial has no serial console"));
}

TEST_CASE("a guest flooding its console: the log rotates at --console-log-max, the launcher keeps up") {
    Scratch s;
    const Vm vm{"flood", "256Mi", "256Mi", "vmil.exec=/usr/bin/yes", ""};
    LauncherProcess l(s.run_args(vm, {"--console-log-max", "64Ki"}));
    REQUIRE(l.wait_event("qmp_ready", 30s));
    const fs::path log = s.path("flood.console");
    const fs::path older = log.string() + ".1";
    const auto t0 = std::chrono::steady_clock::now();
    while (!fs::exists(older) && std::chrono::steady_clock::now() - t0 < 60s) usleep(100000);
    REQUIRE(fs::exists(older));
    // Each file stays within the size while the guest goes on printing.
    std::uintmax_t grew = 0;
    // FILE is briefly absent while it rotates (renamed to FILE.1, then made anew).
    for (int i = 0; i < 10; ++i) {
        std::error_code ec;
        const auto size = fs::file_size(log, ec);
        if (!ec) {
            CHECK(size <= 65536);
            grew = std::max(grew, size);
        }
        CHECK(fs::file_size(older) <= 65536);
        usleep(200000);
    }
    CHECK(grew > 0);
    // FILE.1 is a full file of the guest's bytes: yes's lines through the serial line.
    const std::string text = itest::read_file(older.string());
    CHECK(text.size() == 65536);
    CHECK(text.find_first_not_of("y\r\n") == std::string::npos);
    CHECK_THAT(text, Catch::Contains("y\r\ny\r\n"));

    l.signal(SIGTERM);
    const auto code = l.wait_exit(90s);
    REQUIRE(code);
    CHECK((*code == 0 || *code == 5));
    CHECK(fs::file_size(log) <= 65536);
    CHECK(fs::file_size(older) <= 65536);
    for (const auto& f : {log, older}) {
        CHECK((fs::status(f).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
    }
    check_nothing_left(s, "flood");
}
