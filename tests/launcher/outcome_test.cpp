// How a run ended, and what Kubernetes is told.
#include <catch2/catch.hpp>

#include <signal.h>


#include "launcher/exit_codes.hpp"
#include "launcher/outcome.hpp"

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
