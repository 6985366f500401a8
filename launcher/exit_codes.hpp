// The launcher's exit statuses (documented in README.md).
#pragma once

namespace launcher {

enum ExitCode : int {
    exit_ok = 0,        // success; for run: the guest shut down
    exit_failure = 1,   // an unexpected failure (a bug or the system)
    exit_invalid = 2,   // bad usage, an invalid VMI, or a setup failure before anything started
};

}  // namespace launcher
