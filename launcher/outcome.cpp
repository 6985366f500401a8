#include "launcher/outcome.hpp"

#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "launcher/exit_codes.hpp"

namespace launcher {

namespace {

// QMP SHUTDOWN reasons that mean someone on the host ended QEMU (QEMU's
// ShutdownCause): a signal, a monitor "quit", the UI.
bool host_reason(const std::string& reason) { return reason.rfind("host-", 0) == 0; }

}  // namespace

Outcome classify(const Ending& e) {
    // An OOM kill in the cgroup decides, whatever else happened: QEMU is the
    // only process there, and the kernel's SIGKILL is what ended it.
    if (e.oom_kills > 0 && e.signal == SIGKILL) return Outcome::oom_killed;
    // A QEMU that never answered QMP cannot be supervised: killing it is a
    // failure of QEMU, not a stop of the guest.
    if (e.handshake_timeout_seconds) return Outcome::qemu_failed;
    if (e.forced) return Outcome::forced_stop;
    // Exit 0 is a success only when the guest itself shut down; without
    // that event QEMU quit for a reason of its own or of someone else's.
    if (e.exit_code == 0 && e.shutdown_reason == "guest-shutdown") return Outcome::guest_shutdown;
    if (e.exit_code == 0 && host_reason(e.shutdown_reason)) return Outcome::host_stopped;
    if (e.oom_kills > 0) return Outcome::oom_killed;
    return Outcome::qemu_failed;
}

int exit_code_for(Outcome outcome) {
    switch (outcome) {
        case Outcome::guest_shutdown: return exit_ok;
        case Outcome::oom_killed: return exit_oom_killed;
        case Outcome::forced_stop: return exit_forced_stop;
        case Outcome::host_stopped:
        case Outcome::qemu_failed: break;
    }
    return exit_qemu_failed;
}

std::string to_string(Outcome outcome) {
    switch (outcome) {
        case Outcome::guest_shutdown: return "guest_shutdown";
        case Outcome::oom_killed: return "oom_killed";
        case Outcome::forced_stop: return "forced_stop";
        case Outcome::host_stopped: return "host_stopped";
        case Outcome::qemu_failed: break;
    }
    return "qemu_failed";
}

std::string termination_message(const EndingReport& r) {
    std::string text;
    const auto how = r.ending.signal ? fmt::format("killed by signal {} ({})", *r.ending.signal,
                                                   strsignal(*r.ending.signal))
                                     : fmt::format("exit status {}", r.ending.exit_code.value_or(-1));
    bool with_stderr = false;
    switch (r.outcome) {
        case Outcome::oom_killed:
            text = fmt::format("OOMKilled: the VM's memory cgroup reached its limit of {} bytes", r.limit_bytes);
            if (r.peak_bytes) text += fmt::format(" (peak {} bytes)", *r.peak_bytes);
            text += fmt::format(" and the kernel's OOM killer killed QEMU ({} kill{}, {})", r.ending.oom_kills,
                                r.ending.oom_kills == 1 ? "" : "s", how);
            if (!r.ending.balloon_note.empty()) text += "; " + r.ending.balloon_note;
            break;
        case Outcome::guest_shutdown:
            text = "Completed: the guest shut down (" + r.ending.shutdown_reason + ")";
            break;
        case Outcome::forced_stop:
            text = fmt::format("ForcedStop: the guest did not shut down within the grace period; QEMU was stopped ({})",
                               how);
            break;
        case Outcome::host_stopped:
            text = fmt::format("Error: QEMU was stopped from the host, not by the guest (QMP SHUTDOWN reason {}, {})",
                               r.ending.shutdown_reason, how);
            break;
        case Outcome::qemu_failed:
            with_stderr = true;
            if (r.ending.handshake_timeout_seconds) {
                text = fmt::format("Error: QEMU did not complete the QMP handshake within {} s; the launcher killed it "
                                   "({})",
                                   *r.ending.handshake_timeout_seconds, how);
            } else if (r.ending.exit_code == 0) {
                text = fmt::format("Error: QEMU ended with exit status 0 but the guest did not shut down ({})",
                                   r.ending.shutdown_reason.empty()
                                       ? std::string("no SHUTDOWN event")
                                       : "QMP SHUTDOWN reason " + r.ending.shutdown_reason);
            } else {
                text = "Error: QEMU ended with " + how;
            }
            break;
    }
    if (text.size() > max_termination_message) text.resize(max_termination_message);
    if (!with_stderr) return text;
    // QEMU's last words matter most: as many of the newest lines as fit.
    for (const auto& line : newest_lines(r.qemu_stderr_tail, max_termination_message - text.size())) {
        text += "\n" + line;
    }
    return text;
}

std::vector<std::string> newest_lines(const std::vector<std::string>& lines, std::size_t bytes) {
    std::vector<std::string> kept;
    for (auto it = lines.rbegin(); it != lines.rend() && bytes > 1; ++it) {
        std::string line = *it;
        if (line.size() + 1 > bytes) line.resize(bytes - 1);
        bytes -= line.size() + 1;
        kept.push_back(std::move(line));
    }
    return {kept.rbegin(), kept.rend()};
}

}  // namespace launcher
