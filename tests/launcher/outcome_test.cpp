// How a run ended, and what Kubernetes is told.
#include <catch2/catch.hpp>

#include <signal.h>


#include "launcher/exit_codes.hpp"
#include "launcher/outcome.hpp"

using namespace launcher;

namespace {

Ending ending(std::optional<int> exit_code, std::optional<int> signo, std::uint64_t oom_kills, bool forced,
              std::string shutdown_reason) {
    Ending e;
    e.exit_code = exit_code;
    e.signal = signo;
    e.oom_kills = oom_kills;
    e.forced = forced;
    e.shutdown_reason = std::move(shutdown_reason);
    return e;
}

}  // namespace

TEST_CASE("outcomes from what the supervisor saw") {
    CHECK(classify(ending(0, std::nullopt, 0, false, "guest-shutdown")) == Outcome::guest_shutdown);
    // QEMU SIGKILLed with an OOM kill counted in its cgroup.
    CHECK(classify(ending(std::nullopt, SIGKILL, 1, false, "")) == Outcome::oom_killed);
    // ...even while the launcher was stopping it.
    CHECK(classify(ending(std::nullopt, SIGKILL, 2, true, "")) == Outcome::oom_killed);
    // A SIGKILL without an OOM kill is a crash, not an OOM.
    CHECK(classify(ending(std::nullopt, SIGKILL, 0, false, "")) == Outcome::qemu_failed);
    CHECK(classify(ending(1, std::nullopt, 0, false, "")) == Outcome::qemu_failed);
    CHECK(classify(ending(std::nullopt, SIGSEGV, 0, false, "")) == Outcome::qemu_failed);
    // The grace period ran out: QEMU quit on SIGTERM (exit 0) but the stop was forced.
    CHECK(classify(ending(0, std::nullopt, 0, true, "host-signal")) == Outcome::forced_stop);
    CHECK(classify(ending(std::nullopt, SIGKILL, 0, true, "")) == Outcome::forced_stop);
}

TEST_CASE("exit 0 is a success only when the guest shut down") {
    // QEMU exited 0 without ever sending SHUTDOWN (it never spoke QMP, or quit on its own).
    CHECK(classify(ending(0, std::nullopt, 0, false, "")) == Outcome::qemu_failed);
    // Someone on the host sent QEMU SIGTERM (QEMU reports host-signal), or quit it over a monitor.
    CHECK(classify(ending(0, std::nullopt, 0, false, "host-signal")) == Outcome::host_stopped);
    CHECK(classify(ending(0, std::nullopt, 0, false, "host-qmp-quit")) == Outcome::host_stopped);
    // A guest reset or panic that made QEMU exit is not a shutdown either.
    CHECK(classify(ending(0, std::nullopt, 0, false, "guest-reset")) == Outcome::qemu_failed);
    CHECK(classify(ending(0, std::nullopt, 0, false, "guest-panic")) == Outcome::qemu_failed);
    // A SHUTDOWN from the guest and a non-zero exit: QEMU's exit status decides.
    CHECK(classify(ending(1, std::nullopt, 0, false, "guest-shutdown")) == Outcome::qemu_failed);
    // No QMP handshake within the timeout: the launcher killed QEMU, a failure.
    Ending silent = ending(std::nullopt, SIGKILL, 0, true, "");
    silent.handshake_timeout_seconds = 30;
    CHECK(classify(silent) == Outcome::qemu_failed);
    EndingReport r{classify(silent), silent, 1, std::nullopt, {"qemu: still starting"}};
    CHECK(termination_message(r) == "Error: QEMU did not complete the QMP handshake within 30 s; the launcher "
                                    "killed it (killed by signal 9 (Killed))\nqemu: still starting");
    EndingReport host{Outcome::host_stopped, ending(0, std::nullopt, 0, false, "host-signal"), 1, std::nullopt, {}};
    CHECK(termination_message(host) ==
          "Error: QEMU was stopped from the host, not by the guest (QMP SHUTDOWN reason host-signal, exit status 0)");
    EndingReport quiet{Outcome::qemu_failed, ending(0, std::nullopt, 0, false, ""), 1, std::nullopt, {}};
    CHECK(termination_message(quiet) ==
          "Error: QEMU ended with exit status 0 but the guest did not shut down (no SHUTDOWN event)");
    CHECK(exit_code_for(Outcome::host_stopped) == exit_qemu_failed);
    CHECK(to_string(Outcome::host_stopped) == "host_stopped");
}

TEST_CASE("each outcome has its own exit status") {
    CHECK(exit_code_for(Outcome::guest_shutdown) == exit_ok);
    CHECK(exit_code_for(Outcome::qemu_failed) == exit_qemu_failed);
    CHECK(exit_code_for(Outcome::oom_killed) == exit_oom_killed);
    CHECK(exit_code_for(Outcome::forced_stop) == exit_forced_stop);
    CHECK(exit_oom_killed != exit_invalid);
}

TEST_CASE("the termination message names the reason first") {
    EndingReport oom{Outcome::oom_killed, ending(std::nullopt, SIGKILL, 1, false, ""), 397410304, 397402112, {}};
    CHECK(termination_message(oom) ==
          "OOMKilled: the VM's memory cgroup reached its limit of 397410304 bytes (peak 397402112 bytes) and the "
          "kernel's OOM killer killed QEMU (1 kill, killed by signal 9 (Killed))");
    EndingReport failed{Outcome::qemu_failed, ending(1, std::nullopt, 0, false, ""), 1, std::nullopt,
                        {"qemu-system-x86_64: -device foo: 'foo' is not a valid device model name"}};
    CHECK_THAT(termination_message(failed),
               Catch::StartsWith("Error: QEMU ended with exit status 1\nqemu-system-x86_64: -device foo"));
    EndingReport ok{Outcome::guest_shutdown, ending(0, std::nullopt, 0, false, "guest-shutdown"), 1, std::nullopt, {}};
    CHECK(termination_message(ok) == "Completed: the guest shut down (guest-shutdown)");
    EndingReport huge = failed;
    huge.qemu_stderr_tail.assign(100, std::string(100, 'x'));
    CHECK(termination_message(huge).size() == 4096);
    // The newest lines are kept: one huge line early on does not push out QEMU's last words.
    EndingReport flooded = failed;
    flooded.qemu_stderr_tail = {std::string(8000, 'x'), "qemu: the last words"};
    const std::string text = termination_message(flooded);
    CHECK(text.size() == 4096);
    CHECK_THAT(text, Catch::StartsWith("Error: QEMU ended with exit status 1\nxxx") &&
                         Catch::EndsWith("\nqemu: the last words"));
}
