// How a VM's run ended, decided from what the supervisor saw: pure, so
// every combination has a test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace launcher {

enum class Outcome {
    guest_shutdown,  // the guest powered off (QMP SHUTDOWN reason guest-shutdown) and QEMU exited 0
    oom_killed,      // killed by the kernel's OOM killer in the VM's cgroup
    forced_stop,     // the grace period ran out (or a second signal came) and the launcher stopped QEMU
    host_stopped,    // QEMU was stopped from the host, not by the guest nor by the launcher (SIGTERM to QEMU, ...)
    qemu_failed,     // QEMU exited non-zero, died from a signal, never completed the QMP handshake,
                     // or exited 0 without the guest shutting down
};

// What the supervisor knows when QEMU has been reaped.
struct Ending {
    std::optional<int> exit_code;   // QEMU exited with this
    std::optional<int> signal;      // or died from this signal
    std::uint64_t oom_kills = 0;    // OOM kills counted in the VM's cgroup during the run
    bool forced = false;            // the launcher sent SIGTERM/SIGKILL (grace period over, second signal)
    std::string shutdown_reason;    // QMP SHUTDOWN's reason, when it came
    // The launcher killed QEMU because it did not complete the QMP handshake
    // within this many seconds.
    std::optional<long> handshake_timeout_seconds;
    // The VM was ballooned: why the balloon did not prevent an OOM kill.
    std::string balloon_note;
    bool operator==(const Ending&) const = default;
};

Outcome classify(const Ending& ending);
int exit_code_for(Outcome outcome);
std::string to_string(Outcome outcome);

// Facts for the termination message and the final log line.
struct EndingReport {
    Outcome outcome;
    Ending ending;
    std::uint64_t limit_bytes = 0;
    std::optional<std::uint64_t> peak_bytes;
    std::vector<std::string> qemu_stderr_tail;  // QEMU's last stderr lines, oldest first
};

// The Kubernetes termination message (plain text, at most
// max_termination_message bytes): the reason first ("OOMKilled: ..."),
// then as many of QEMU's last stderr lines as fit.
inline constexpr std::size_t max_termination_message = 4096;
std::string termination_message(const EndingReport& report);

// The newest of `lines` that fit in `bytes` (one more byte each for its
// newline), oldest first; the oldest kept one is cut to fit.
std::vector<std::string> newest_lines(const std::vector<std::string>& lines, std::size_t bytes);

}  // namespace launcher
