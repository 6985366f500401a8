// How a run ended, and what Kubernetes is told.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "launcher/exit_codes.hpp"
#include "launcher/outcome.hpp"
#include "launcher/state_dir.hpp"

using namespace launcher;

TEST_CASE("outcomes from what the supervisor saw") {
    CHECK(classify({0, std::nullopt, 0, false, "guest-shutdown"}) == Outcome::guest_shutdown);
    // QEMU SIGKILLed with an OOM kill counted in its cgroup.
    CHECK(classify({std::nullopt, SIGKILL, 1, false, ""}) == Outcome::oom_killed);
    // ...even while the launcher was stopping it.
    CHECK(classify({std::nullopt, SIGKILL, 2, true, ""}) == Outcome::oom_killed);
    // A SIGKILL without an OOM kill is a crash, not an OOM.
    CHECK(classify({std::nullopt, SIGKILL, 0, false, ""}) == Outcome::qemu_failed);
    CHECK(classify({1, std::nullopt, 0, false, ""}) == Outcome::qemu_failed);
    CHECK(classify({std::nullopt, SIGSEGV, 0, false, ""}) == Outcome::qemu_failed);
    // The grace period ran out: QEMU quit on SIGTERM (exit 0) but the stop was forced.
    CHECK(classify({0, std::nullopt, 0, true, "host-signal"}) == Outcome::forced_stop);
    CHECK(classify({std::nullopt, SIGKILL, 0, true, ""}) == Outcome::forced_stop);
}

TEST_CASE("each outcome has its own exit status") {
    CHECK(exit_code_for(Outcome::guest_shutdown) == exit_ok);
    CHECK(exit_code_for(Outcome::qemu_failed) == exit_qemu_failed);
    CHECK(exit_code_for(Outcome::oom_killed) == exit_oom_killed);
    CHECK(exit_code_for(Outcome::forced_stop) == exit_forced_stop);
    CHECK(exit_oom_killed != exit_invalid);
}

TEST_CASE("the termination message names the reason first") {
    EndingReport oom{Outcome::oom_killed, {std::nullopt, SIGKILL, 1, false, ""}, 397410304, 397402112, {}};
    CHECK(termination_message(oom) ==
          "OOMKilled: the VM's memory cgroup reached its limit of 397410304 bytes (peak 397402112 bytes) and the "
          "kernel's OOM killer killed QEMU (1 kill, killed by signal 9 (Killed))");
    EndingReport failed{Outcome::qemu_failed, {1, std::nullopt, 0, false, ""}, 1, std::nullopt,
                        {"qemu-system-x86_64: -device foo: 'foo' is not a valid device model name"}};
    CHECK_THAT(termination_message(failed),
               Catch::StartsWith("Error: QEMU ended with exit status 1\nqemu-system-x86_64: -device foo"));
    EndingReport ok{Outcome::guest_shutdown, {0, std::nullopt, 0, false, "guest-shutdown"}, 1, std::nullopt, {}};
    CHECK(termination_message(ok) == "Completed: the guest shut down (guest-shutdown)");
    EndingReport huge = failed;
    huge.qemu_stderr_tail.assign(100, std::string(100, 'x'));
    CHECK(termination_message(huge).size() == 4096);
}

TEST_CASE("the state directory: locked while in use, stale ones cleaned, removed at the end") {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("state-test-" + std::to_string(getpid()));
    const fs::path dir = root / "ns" / "vm";
    {
        std::optional<std::string> stale;
        StateDir d = StateDir::acquire(dir, stale);
        CHECK_FALSE(stale);
        CHECK(fs::is_directory(dir));
        CHECK((fs::status(dir).permissions() & fs::perms::others_all) == fs::perms::none);
        std::optional<std::string> again;
        CHECK_THROWS_WITH(StateDir::acquire(dir, again), Catch::Contains("already running") &&
                                                             Catch::Contains(std::to_string(getpid())));
    }
    CHECK_FALSE(fs::exists(dir));
    // One left behind (its launcher died): cleaned, with a notice.
    fs::create_directories(dir);
    std::ofstream(dir / "launcher.pid") << "12345\n";
    std::ofstream(dir / "console.log") << "old";
    {
        std::optional<std::string> stale;
        StateDir d = StateDir::acquire(dir, stale);
        REQUIRE(stale);
        CHECK_THAT(*stale, Catch::Contains("stale"));
        CHECK_FALSE(fs::exists(dir / "console.log"));
    }
    fs::remove_all(root);
}
