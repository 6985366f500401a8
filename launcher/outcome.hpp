// How a VM's run ended, decided from what the supervisor saw: pure, so
// every combination has a test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace launcher {

enum class Outcome {
    guest_shutdown,  // QEMU exited 0: the guest powered off, or shut down on request
    oom_killed,      // killed by the kernel's OOM killer in the VM's cgroup
    forced_stop,     // the grace period ran out and the launcher stopped QEMU
    qemu_failed,     // QEMU exited non-zero or died from a signal
};

// What the supervisor knows when QEMU has been reaped.
struct Ending {
    std::optional<int> exit_code;   // QEMU exited with this
    std::optional<int> signal;      // or died from this signal
    std::uint64_t oom_kills = 0;    // OOM kills counted in the VM's cgroup during the run
    bool forced = false;            // the launcher sent SIGTERM/SIGKILL after the grace period
    std::string shutdown_reason;    // QMP SHUTDOWN's reason, when it came
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
    std::vector<std::string> qemu_stderr_tail;
};

// The Kubernetes termination message (plain text, at most 4096 bytes): the
// reason first ("OOMKilled: ...").
std::string termination_message(const EndingReport& report);

}  // namespace launcher
