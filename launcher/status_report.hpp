// What `vmi-launcher status` shows: the figures the launcher has itself
// (pids, uptime, the cgroup's usage, peak, limit and events), then QEMU's
// own answers over QMP (run state, balloon). QEMU gets a short time to
// answer: a stopped (SIGSTOP) or hung QEMU must not leave status waiting,
// and the cgroup figures are worth most exactly then.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "cgroups/vm_cgroup.hpp"
#include "launcher/control_server.hpp"
#include "launcher/qmp_client.hpp"

namespace launcher {

inline constexpr std::chrono::milliseconds qmp_status_timeout{2000};

struct StatusFacts {
    std::string vmi;  // namespace/name
    pid_t launcher_pid = 0;
    pid_t qemu_pid = 0;
    double uptime_seconds = 0;
    std::uint64_t guest_bytes = 0;
    std::string accel;
    const cgroups::VmCgroup* cgroup = nullptr;  // none in cgroup mode none
    bool balloon = false;                        // ask QEMU for balloon figures
    nlohmann::json balloon_control;              // the launcher's balloon: floor, ceiling, target, ... (null: off)
};

// Everything that needs no answer from QEMU.
nlohmann::json status_basics(const StatusFacts& facts);

// Adds QEMU's answers to `basics` and replies once: when QEMU has answered,
// or after `timeout` with "status": "not answering" and a "qemu_error" that
// says so.
void ask_qemu_status(boost::asio::io_context& io, qmp::Client& qmp, nlohmann::json basics, bool balloon,
                     std::chrono::milliseconds timeout, ControlServer::Reply reply);

}  // namespace launcher
