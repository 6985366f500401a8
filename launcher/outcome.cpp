#include "launcher/outcome.hpp"

#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "launcher/exit_codes.hpp"

namespace launcher {

Outcome classify(const Ending& e) {
    // An OOM kill in the cgroup decides, whatever else happened: QEMU is the
    // only process there, and the kernel's SIGKILL is what ended it.
    if (e.oom_kills > 0 && e.signal == SIGKILL) return Outcome::oom_killed;
    if (e.forced) return Outcome::forced_stop;
    if (e.exit_code == 0) return Outcome::guest_shutdown;
    if (e.oom_kills > 0) return Outcome::oom_killed;
    return Outcome::qemu_failed;
}

int exit_code_for(Outcome outcome) {
    switch (outcome) {
        case Outcome::guest_shutdown: return exit_ok;
        case Outcome::oom_killed: return exit_oom_killed;
        case Outcome::forced_stop: return exit_forced_stop;
        case Outcome::qemu_failed: break;
    }
    return exit_qemu_failed;
}

std::string to_string(Outcome outcome) {
    switch (outcome) {
        case Outcome::guest_shutdown: return "guest_shutdown";
        case Outcome::oom_killed: return "oom_killed";
        case Outcome::forced_stop: return "forced_stop";
        case Outcome::qemu_failed: break;
    }
    return "qemu_failed";
}

std::string termination_message(const EndingReport& r) {
    std::string text;
    const auto how = r.ending.signal ? fmt::format("killed by signal {} ({})", *r.ending.signal,
                                                   strsignal(*r.ending.signal))
                                     : fmt::format("exit status {}", r.ending.exit_code.value_or(-1));
    switch (r.outcome) {
        case Outcome::oom_killed:
            text = fmt::format("OOMKilled: the VM's memory cgroup reached its limit of {} bytes", r.limit_bytes);
            if (r.peak_bytes) text += fmt::format(" (peak {} bytes)", *r.peak_bytes);
            text += fmt::format(" and the kernel's OOM killer killed QEMU ({} kill{}, {})", r.ending.oom_kills,
                                r.ending.oom_kills == 1 ? "" : "s", how);
            break;
        case Outcome::guest_shutdown:
            text = "Completed: the guest shut down";
            if (!r.ending.shutdown_reason.empty()) text += " (" + r.ending.shutdown_reason + ")";
            break;
        case Outcome::forced_stop:
            text = fmt::format("ForcedStop: the guest did not shut down within the grace period; QEMU was stopped ({})",
                               how);
            break;
        case Outcome::qemu_failed:
            text = fmt::format("Error: QEMU ended with {}", how);
            for (const auto& line : r.qemu_stderr_tail) text += "\n" + line;
            break;
    }
    if (text.size() > 4096) text.resize(4096);
    return text;
}

}  // namespace launcher
