// Starting QEMU from a LaunchPlan the way the launcher does, for tests:
// prepare the files, create the QMP listener and the console socket pair and
// hand them over at the plan's descriptor numbers, exec the argv, wait with a
// timeout, copy the console into the console log, read it,
// and remove the state directory.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qemu-args/launch_plan.hpp"

namespace qemu_test {

// A QMP connection: the greeting and capabilities negotiation done.
class QmpClient {
public:
    explicit QmpClient(const std::string& socket_path, std::chrono::seconds timeout);
    ~QmpClient();
    QmpClient(const QmpClient&) = delete;
    QmpClient& operator=(const QmpClient&) = delete;

    // The command's "return" (events in between are skipped); throws on "error".
    nlohmann::json execute(const std::string& command, const nlohmann::json& arguments = nullptr);

private:
    nlohmann::json read_message();
    int fd_ = -1;
    std::string buffer_;
};

struct VmRun {
    std::vector<std::string> extra_args;  // appended to the plan's argv (-no-reboot, -S)
    std::chrono::seconds timeout{60};
    // Called once QEMU is running, with a connected QMP client.
    std::function<void(QmpClient&)> with_qmp;
};

struct VmResult {
    int exit_status = -1;  // QEMU's, 128 + N for signal N
    bool timed_out = false;
    double seconds = 0;
    std::string console;  // the console log, CR LF made LF
    std::string qemu_output;  // QEMU's stdout and stderr
    bool console_log_existed = false;
};

// Runs the plan's VM to its end and removes plan.state_dir afterwards.
VmResult run_vm(const qemu_args::LaunchPlan& plan, const VmRun& run = {});

// The lines between "VMIL: <what> begin" and "VMIL: <what> end".
std::string console_section(const std::string& console, const std::string& what);

// MemTotal in kB from the console's meminfo section (0 when missing).
std::uint64_t mem_total_kb(const std::string& console);

bool has_line(const std::string& console, const std::string& line);

}  // namespace qemu_test
