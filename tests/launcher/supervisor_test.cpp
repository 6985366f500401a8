// The supervisor as a user meets it, without root and without booting a
// guest: the real launcher runs a fake QEMU (fake_qemu.cpp) that speaks QMP
// and misbehaves on request. Each case checks the exit status, the
// vm_stopped event and the termination message.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

// Boost 1.74's process headers miss <memory>.
#include <memory>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <fmt/format.h>

#include "../integration/launcher_process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using itest::LauncherProcess;
namespace bp = boost::process;

namespace {

std::string fake_qemu() {
    const char* build = std::getenv("BUILD_ROOT");
    if (!build) throw std::runtime_error("BUILD_ROOT is not set (run through meson test)");
    return std::string(build) + "/tests/launcher/fake-qemu";
}

// A scratch directory with a VMI whose kernel and initrd are empty files:
// the fake QEMU boots nothing, and the plan needs neither images nor
// cloud-init.
class FakeVm {
public:
    // `extra` is YAML appended to the VMI, after spec.domain.devices'
    // autoattachGraphicsDevice (disks, then volumes).
    explicit FakeVm(const std::string& extra = "")
        : dir_(fs::temp_directory_path() / fmt::format("vmil-sup-{}-{}", ::getpid(), counter_++)) {
        fs::create_directories(dir_ / "image" / "boot");
        std::ofstream(dir_ / "image" / "boot" / "vmlinuz");
        std::ofstream(dir_ / "image" / "boot" / "initrd.img");
        std::ofstream(dir_ / "vm.yaml") << "apiVersion: kubevirt.io/v1\n"
                                           "kind: VirtualMachineInstance\n"
                                           "metadata:\n"
                                           "  name: fake\n"
                                           "  namespace: sup\n"
                                           "spec:\n"
                                           "  domain:\n"
                                           "    memory:\n"
                                           "      guest: 64Mi\n"
                                           "    firmware:\n"
                                           "      kernelBoot:\n"
                                           "        container:\n"
                                           "          image: fake/guest\n"
                                           "          kernelPath: /boot/vmlinuz\n"
                                           "          initrdPath: /boot/initrd.img\n"
                                           "    devices:\n"
                                           "      autoattachGraphicsDevice: false\n"
                                        << extra;
    }
    ~FakeVm() {
        ::unsetenv("FAKE_QEMU");
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    fs::path path(const std::string& name) const { return dir_ / name; }

    // The launcher's argv; `modes` go to the fake QEMU through FAKE_QEMU.
    std::vector<std::string> args(const std::string& modes, std::vector<std::string> extra = {}) const {
        ::setenv("FAKE_QEMU", modes.c_str(), 1);
        std::vector<std::string> a{itest::launcher_path(), "run", path("vm.yaml").string(),
                                   "--qemu", fake_qemu(),
                                   "--image", "fake/guest=" + path("image").string(),
                                   "--accel", "tcg",
                                   "--cgroup-mode", "none",
                                   "--state-root", path("state").string(),
                                   "--log-format", "json",
                                   "--termination-log", path("termination").string()};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    std::string termination() const { return itest::read_file(path("termination").string()); }
    pid_t qemu_pid() const {
        for (int i = 0; i < 500; ++i) {
            const std::string s = itest::read_file(path("qemu.pid").string());
            if (!s.empty() && s.back() == '\n') return std::stoi(s);
            ::usleep(10000);
        }
        throw std::runtime_error("the fake QEMU wrote no pid file");
    }
    // Nothing is left: the state directory is gone.
    void check_clean() const { CHECK_FALSE(fs::exists(path("state") / "sup" / "fake")); }

private:
    fs::path dir_;
    static inline int counter_ = 0;
};

std::size_t count_events(const LauncherProcess& l, const std::string& name) {
    const auto events = l.events();
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.value("event", "") == name; }));
}

}  // namespace

TEST_CASE("the guest powers off by itself: exit 0, guest_shutdown") {
    FakeVm vm;
    LauncherProcess l(vm.args("shutdown-after=200"));
    const auto stopped = itest::wait_stopped(l, 20s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
    CHECK(vm.termination() == "Completed: the guest shut down (guest-shutdown)");
    vm.check_clean();
}

TEST_CASE("SIGTERM presses the power button and the guest powers off: exit 0") {
    FakeVm vm;
    LauncherProcess l(vm.args(""));
    REQUIRE(l.wait_event("qmp_ready", 20s));
    l.signal(SIGTERM);
    const auto stopped = itest::wait_stopped(l, 20s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
    CHECK(l.wait_event("powerdown", 1s));
    CHECK(vm.termination() == "Completed: the guest shut down (guest-shutdown)");
}

TEST_CASE("QEMU exits with an error before QMP: exit 3, its words in the message") {
    FakeVm vm;
    LauncherProcess l(vm.args("exit=1"));
    const auto stopped = itest::wait_stopped(l, 20s, 3);
    CHECK(stopped["outcome"] == "qemu_failed");
    CHECK(stopped["qemu_exit_code"] == 1);
    CHECK_THAT(vm.termination(), Catch::StartsWith("Error: QEMU ended with exit status 1") &&
                                     Catch::Contains("fake-qemu: told to exit 1"));
    // Its one stderr line is logged once.
    CHECK(count_events(l, "qemu_stderr") == 1);
    vm.check_clean();
}

TEST_CASE("QEMU crashes: exit 3 with the signal") {
    FakeVm vm;
    const auto [mode, signo] = GENERATE(std::make_pair("crash=segv", SIGSEGV), std::make_pair("crash=abort", SIGABRT));
    LauncherProcess l(vm.args(mode));
    const auto stopped = itest::wait_stopped(l, 20s, 3);
    CHECK(stopped["outcome"] == "qemu_failed");
    CHECK(stopped["qemu_signal"] == signo);
    CHECK_THAT(vm.termination(), Catch::StartsWith(fmt::format("Error: QEMU ended with killed by signal {}", signo)));
}

TEST_CASE("QEMU exits 0 without the guest shutting down: exit 3, not success") {
    FakeVm vm;
    SECTION("without ever speaking QMP") {
        LauncherProcess l(vm.args("exit0"));
        const auto stopped = itest::wait_stopped(l, 20s, 3);
        CHECK(stopped["outcome"] == "qemu_failed");
        CHECK(stopped["qemu_exit_code"] == 0);
        CHECK_THAT(vm.termination(), Catch::Contains("exit status 0") && Catch::Contains("no SHUTDOWN event"));
    }
    SECTION("after the handshake, without a SHUTDOWN event") {
        LauncherProcess l(vm.args("exit0-after-handshake"));
        const auto stopped = itest::wait_stopped(l, 20s, 3);
        CHECK(stopped["outcome"] == "qemu_failed");
        CHECK_THAT(vm.termination(), Catch::Contains("no SHUTDOWN event"));
    }
    vm.check_clean();
}

TEST_CASE("a QEMU that does not complete the QMP handshake in time is killed: exit 3") {
    FakeVm vm;
    const std::string mode = GENERATE("hang", "no-greeting");
    LauncherProcess l(vm.args(mode, {"--qmp-timeout", "1"}));
    const auto t0 = std::chrono::steady_clock::now();
    const auto stopped = itest::wait_stopped(l, 20s, 3);
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    CHECK(stopped["outcome"] == "qemu_failed");
    CHECK(l.wait_event("qmp_handshake_timeout", 1s));
    CHECK_THAT(vm.termination(), Catch::Contains("did not complete the QMP handshake within 1 s"));
    vm.check_clean();
}

TEST_CASE("--qmp-timeout: shown by --dry-run, refused outside 1 to 3600 s") {
    FakeVm vm;
    LauncherProcess dry(vm.args("", {"--qmp-timeout", "5", "--dry-run"}));
    CHECK(dry.wait_exit(20s) == 0);
    CHECK_THAT(dry.output(), Catch::Contains("kill QEMU unless it completes the QMP handshake within 5 s"));
    LauncherProcess zero(vm.args("", {"--qmp-timeout", "0"}));
    CHECK(zero.wait_exit(20s) == 2);
    CHECK_THAT(zero.errors(), Catch::Contains("--qmp-timeout"));
}

TEST_CASE("a signal to QEMU from someone else is not a guest shutdown") {
    FakeVm vm;
    SECTION("SIGTERM: QEMU reports host-signal and exits 0") {
        LauncherProcess l(vm.args("pidfile=" + vm.path("qemu.pid").string()));
        REQUIRE(l.wait_event("qmp_ready", 20s));
        ::kill(vm.qemu_pid(), SIGTERM);
        const auto stopped = itest::wait_stopped(l, 20s, 3);
        CHECK(stopped["outcome"] == "host_stopped");
        CHECK_THAT(vm.termination(), Catch::StartsWith("Error: QEMU was stopped from the host") &&
                                         Catch::Contains("host-signal"));
    }
    SECTION("SIGKILL") {
        LauncherProcess l(vm.args("pidfile=" + vm.path("qemu.pid").string()));
        REQUIRE(l.wait_event("qmp_ready", 20s));
        ::kill(vm.qemu_pid(), SIGKILL);
        const auto stopped = itest::wait_stopped(l, 20s, 3);
        CHECK(stopped["outcome"] == "qemu_failed");
        CHECK(stopped["qemu_signal"] == SIGKILL);
    }
    vm.check_clean();
}

TEST_CASE("a guest that ignores the power button is stopped after the grace period: exit 5") {
    FakeVm vm;
    LauncherProcess l(vm.args("ignore-powerdown", {"--grace-period", "1"}));
    REQUIRE(l.wait_event("qmp_ready", 20s));
    l.signal(SIGTERM);
    const auto stopped = itest::wait_stopped(l, 20s, 5);
    CHECK(stopped["outcome"] == "forced_stop");
    CHECK(l.wait_event("grace_period_expired", 1s));
    CHECK_THAT(vm.termination(), Catch::StartsWith("ForcedStop"));
    vm.check_clean();
}

TEST_CASE("timeout(1) signals the launcher twice at once: one request, the guest gets its grace period") {
    FakeVm vm;
    // timeout sends SIGTERM to the launcher and then to its process group.
    auto args = vm.args("powerdown-delay=500");
    args.insert(args.begin(), {"/usr/bin/timeout", "--preserve-status", "-s", "TERM", "2"});
    LauncherProcess l(args);
    const auto stopped = itest::wait_stopped(l, 20s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
    CHECK(count_events(l, "shutdown_requested") == 1);
    CHECK(count_events(l, "shutdown_escalated") == 0);
}

TEST_CASE("a second SIGTERM a while later stops QEMU at once: exit 5") {
    FakeVm vm;
    LauncherProcess l(vm.args("ignore-powerdown", {"--grace-period", "600"}));
    REQUIRE(l.wait_event("qmp_ready", 20s));
    l.signal(SIGTERM);
    REQUIRE(l.wait_event("shutdown_requested", 10s));
    std::this_thread::sleep_for(1500ms);
    l.signal(SIGTERM);
    const auto stopped = itest::wait_stopped(l, 20s, 5);
    CHECK(stopped["outcome"] == "forced_stop");
    CHECK(l.wait_event("shutdown_escalated", 1s));
}

TEST_CASE("SIGHUP and SIGQUIT press the power button like SIGTERM") {
    FakeVm vm;
    const int signo = GENERATE(SIGHUP, SIGQUIT);
    LauncherProcess l(vm.args(""));
    REQUIRE(l.wait_event("qmp_ready", 20s));
    l.signal(signo);
    const auto stopped = itest::wait_stopped(l, 20s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
    const auto requested = l.wait_event("shutdown_requested", 1s);
    REQUIRE(requested);
    CHECK((*requested)["signal"] == signo);
}

TEST_CASE("SIGUSR1, SIGUSR2, SIGALRM and friends are logged and ignored: the VM runs on") {
    FakeVm vm;
    LauncherProcess l(vm.args(""));
    REQUIRE(l.wait_event("qmp_ready", 20s));
    for (int signo : {SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR}) {
        l.signal(signo);
        std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(l.wait_exit(0s));
    CHECK(count_events(l, "signal_ignored") == 7);
    l.signal(SIGTERM);
    const auto stopped = itest::wait_stopped(l, 20s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
}

TEST_CASE("a dead log reader on standard output does not end the VM") {
    FakeVm vm;
    const auto args = vm.args("shutdown-after=500");
    bp::pipe out;
    bp::child launcher(args.front(), bp::args(std::vector<std::string>(args.begin() + 1, args.end())),
                       bp::std_in < bp::null, bp::std_out > out, bp::std_err > bp::null);
    out.close();  // the reader is gone before the first line
    launcher.wait();
    CHECK(launcher.exit_code() == 0);
    CHECK(launcher.native_exit_code() == 0);  // not killed by SIGPIPE
    CHECK(vm.termination() == "Completed: the guest shut down (guest-shutdown)");
    vm.check_clean();
}

TEST_CASE("run works with 64 descriptors (ulimit -n 64)") {
    FakeVm vm;
    std::string cmd = "ulimit -n 64 && exec";
    for (const auto& a : vm.args("shutdown-after=100")) cmd += " '" + a + "'";
    LauncherProcess l({"/bin/sh", "-c", cmd});
    const auto stopped = itest::wait_stopped(l, 20s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
}

// The launcher's peak resident memory (VmHWM, KiB) over a run whose fake
// QEMU was told `behaviour`, read by the fake QEMU before it exits.
long launcher_hwm_kb(const std::string& behaviour) {
    FakeVm vm;
    const std::string hwm = vm.path("launcher-hwm").string();
    LauncherProcess l(vm.args(behaviour + ",shutdown-after=300,parent-hwm=" + hwm));
    const auto stopped = itest::wait_stopped(l, 60s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
    return std::stol(itest::read_file(hwm));
}

// In a sanitizer build freed memory waits in a quarantine (256 MiB by
// default) instead of being reused, and would count as the launcher's
// memory; what is measured here is the launcher's own buffers.
struct NoQuarantine {
    std::string saved;
    bool had = false;
    NoQuarantine() {
        if (const char* v = std::getenv("ASAN_OPTIONS")) {
            saved = v;
            had = true;
        }
        ::setenv("ASAN_OPTIONS", (saved + (had ? ":" : "") + "quarantine_size_mb=0").c_str(), 1);
    }
    ~NoQuarantine() {
        if (had) {
            ::setenv("ASAN_OPTIONS", saved.c_str(), 1);
        } else {
            ::unsetenv("ASAN_OPTIONS");
        }
    }
};

TEST_CASE("a 50 MB stderr line from QEMU: bounded in memory and in the log, logged once") {
    const NoQuarantine no_quarantine;
    FakeVm vm;
    const std::string hwm = vm.path("launcher-hwm").string();
    LauncherProcess l(vm.args(fmt::format("flood={},shutdown-after=300,parent-hwm={}", 50 << 20, hwm)));
    const auto stopped = itest::wait_stopped(l, 60s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
    // The launcher's peak resident memory while it read the line, against
    // the same launcher's with a one-line stderr (a sanitizer build has a
    // much larger baseline): reading the line may cost only its buffers.
    const long hwm_kb = std::stol(itest::read_file(hwm));
    const long quiet_kb = launcher_hwm_kb("lines=1");
    CHECK(quiet_kb > 0);
    CHECK(hwm_kb < quiet_kb + 8 * 1024);
    CHECK(count_events(l, "qemu_stderr") == 1);
    const auto line = l.wait_event("qemu_stderr", 1s);
    REQUIRE(line);
    CHECK((*line)["msg"].get<std::string>().size() < 8192);
    CHECK(line->value("dropped_bytes", 0) > 50 * 1000 * 1000);
    CHECK(l.output().size() < 64 * 1024);
}

TEST_CASE("thousands of stderr lines: 100 logged, the rest counted in one line, the last words kept") {
    FakeVm vm;
    LauncherProcess l(vm.args("lines=5000,exit=1"));
    const auto stopped = itest::wait_stopped(l, 30s, 3);
    CHECK(count_events(l, "qemu_stderr") == 100);
    const auto suppressed = l.wait_event("qemu_stderr_suppressed", 1s);
    REQUIRE(suppressed);
    CHECK((*suppressed)["suppressed_lines"] == 4901);  // 5000 lines and "told to exit 1", less 100
    CHECK_THAT(vm.termination(), Catch::Contains("fake-qemu: line 4999\nfake-qemu: told to exit 1"));
}

TEST_CASE("a 50 MB stderr line then an error exit: the termination message stays bounded") {
    FakeVm vm;
    LauncherProcess l(vm.args(fmt::format("flood={},exit=7", 50 << 20)));
    const auto stopped = itest::wait_stopped(l, 60s, 3);
    CHECK(stopped["qemu_exit_code"] == 7);
    CHECK(stopped.dump().size() < 64 * 1024);
    CHECK(vm.termination().size() <= 4096);
    CHECK_THAT(vm.termination(), Catch::Contains("fake-qemu: told to exit 7"));
}

TEST_CASE("the QEMU binary by name is found on PATH; a missing one is refused with exit 2") {
    FakeVm vm;
    const std::string old_path = std::getenv("PATH");
    ::setenv("PATH", (fs::path(fake_qemu()).parent_path().string() + ":" + old_path).c_str(), 1);
    auto args = vm.args("shutdown-after=100");
    args[std::find(args.begin(), args.end(), "--qemu") - args.begin() + 1] = "fake-qemu";
    LauncherProcess found(args);
    const auto started = found.wait_event("qemu_started", 20s);
    ::setenv("PATH", old_path.c_str(), 1);
    REQUIRE(started);
    CHECK((*started)["argv"][0] == fake_qemu());
    itest::wait_stopped(found, 20s, 0);
    args[std::find(args.begin(), args.end(), "fake-qemu") - args.begin()] = "no-such-qemu-binary";
    LauncherProcess missing(args);
    CHECK(missing.wait_exit(20s) == 2);
    CHECK_THAT(missing.errors(), Catch::Contains("QEMU binary no-such-qemu-binary was not found on PATH"));
}

// A state root on a 16 KiB tmpfs, in a user and mount namespace of its own.
TEST_CASE("a full state root: ENOSPC named, not xorriso's banner; nearly full: a warning") {
    auto in_small_tmpfs = [](const FakeVm& vm, const std::vector<std::string>& args) {
        fs::create_directories(vm.path("state"));
        std::string cmd = "mount -t tmpfs -o size=16k tmpfs '" + vm.path("state").string() + "' && exec";
        for (const auto& a : args) cmd += " '" + a + "'";
        return std::vector<std::string>{"/usr/bin/unshare", "--map-root-user", "--mount", "/bin/sh", "-c", cmd};
    };
    SECTION("the cloud-init seed does not fit") {
        FakeVm vm("      disks:\n"
                  "      - name: cloudinitdisk\n"
                  "        disk:\n"
                  "          bus: virtio\n"
                  "  volumes:\n"
                  "  - name: cloudinitdisk\n"
                  "    cloudInitNoCloud:\n"
                  "      userData: \"#cloud-config\"\n");
        LauncherProcess l(in_small_tmpfs(vm, vm.args("")));
        CHECK(l.wait_exit(30s) == 2);
        CHECK_THAT(l.errors(), Catch::Contains("prepare cloud-init seed") && Catch::Contains("cidata.iso") &&
                                   Catch::Contains("No space left on device (ENOSPC)"));
        CHECK_THAT(l.errors(), !Catch::Contains("libburnia"));
    }
    SECTION("no seed: the run goes on, with a warning that the console log may be cut short") {
        FakeVm vm;
        LauncherProcess l(in_small_tmpfs(vm, vm.args("shutdown-after=100")));
        const auto stopped = itest::wait_stopped(l, 20s, 0);
        CHECK(stopped["outcome"] == "guest_shutdown");
        const auto warning = l.wait_event("state_dir_low_space", 1s);
        REQUIRE(warning);
        CHECK((*warning)["free_bytes"] < 16 * 1024);
    }
}
