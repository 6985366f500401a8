// The launcher's exit statuses (documented in README.md).
#pragma once

namespace launcher {

enum ExitCode : int {
    exit_ok = 0,              // success; for run: the guest shut down
    exit_failure = 1,         // an unexpected failure (a bug or the system)
    exit_invalid = 2,         // bad usage, an invalid VMI, or a setup failure before the VM started
    exit_qemu_failed = 3,     // QEMU failed to start, crashed, or exited with an error
    exit_oom_killed = 4,      // the VM's cgroup ran out of memory and the kernel killed QEMU
    exit_forced_stop = 5,     // the guest did not shut down within the grace period and was stopped
};

}  // namespace launcher
