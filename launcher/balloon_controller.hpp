// The balloon at run time: pressure events (cgroups/pressure.hpp) or a
// poll timer, the guest's statistics over QMP, the pure policy
// (vmi/balloon_policy.hpp), and QMP `balloon` with what it decides. The path
// from a pressure event to the command is one QMP round trip (qom-get of the
// statistics) plus two reads of cgroupfs: milliseconds, measured and logged
// as signal_to_command_ms.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "cgroups/backend.hpp"
#include "cgroups/pressure.hpp"
#include "cgroups/vm_cgroup.hpp"
#include "launcher/log.hpp"
#include "launcher/qmp_client.hpp"
#include "vmi/balloon_plan.hpp"
#include "vmi/balloon_policy.hpp"

namespace launcher {

// The QOM path of the balloon device qemu-args gives the VM (id balloon0).
inline constexpr const char* balloon_qom_path = "/machine/peripheral/balloon0";

struct BalloonControl {
    vmi::BalloonPlan plan;
    // Set: the policy runs on this timer only, with no event source (the
    // periodic poller other virtualization stacks use).
    std::optional<std::chrono::milliseconds> poll_interval;
    vmi::BalloonTuning tuning;
    // Between two looks without an event: deflation, and a safety net for
    // pressure no event reported.
    std::chrono::milliseconds tick{250};
    // How often the guest sends statistics (QEMU's guest-stats-polling-interval).
    long stats_interval_seconds = 1;
};

struct BalloonCounts {
    std::uint64_t inflations = 0;
    std::uint64_t deflations = 0;
    std::uint64_t returned_bytes = 0;  // the most memory the balloon held at once
};

// Why the balloon did not save a VM the OOM killer took: from the policy's
// last decision under pressure (none: no pressure was ever seen).
std::string balloon_oom_note(const std::optional<vmi::BalloonDecision>& last_under_pressure, vmi::Bytes floor);

class BalloonController {
public:
    BalloonController(boost::asio::io_context& io, Log& log, qmp::Client& qmp, BalloonControl control,
                      const cgroups::VmCgroup& cgroup, cgroups::Backend& backend, std::filesystem::path cgroup_root);
    ~BalloonController();
    BalloonController(const BalloonController&) = delete;
    BalloonController& operator=(const BalloonController&) = delete;

    // QMP is ready: statistics polling on, watchers armed, the timer started.
    void start();
    // QEMU is gone: nothing more is sent; the fds are closed.
    void stop();
    // QMP BALLOON_CHANGE: the guest's memory now.
    void on_actual(std::uint64_t actual_bytes);

    nlohmann::json status() const;
    const BalloonCounts& counts() const { return counts_; }
    std::string oom_note() const;

private:
    using Clock = std::chrono::steady_clock;
    void arm_sources();
    void wait_source(std::size_t i);
    void schedule_tick();
    void evaluate(vmi::BalloonSignal signal, Clock::time_point at, bool v1_threshold);
    void decide(const nlohmann::json& stats_reply, bool stats_ok, vmi::BalloonSignal signal, Clock::time_point at,
                bool v1_threshold);
    std::optional<std::uint64_t> read_number(const cgroups::UniqueFd& fd, const std::filesystem::path& path) const;

    boost::asio::io_context& io_;
    Log& log_;
    qmp::Client& qmp_;
    BalloonControl control_;
    const cgroups::VmCgroup& cgroup_;
    cgroups::Backend& backend_;
    std::filesystem::path cgroup_root_;
    boost::asio::steady_timer timer_;
    std::vector<cgroups::PressureSource> sources_;
    std::vector<std::unique_ptr<boost::asio::posix::stream_descriptor>> descs_;
    cgroups::UniqueFd usage_fd_, limit_fd_;
    std::filesystem::path usage_path_, limit_path_;
    std::string method_;

    vmi::BalloonState state_;
    std::optional<std::uint64_t> actual_;
    std::optional<vmi::BalloonDecision> last_;
    std::optional<vmi::BalloonDecision> last_under_pressure_;
    BalloonCounts counts_;
    bool running_ = false;
    bool busy_ = false;
    // A signal that came while a decision was in flight: the strongest and
    // earliest are kept.
    struct Pending {
        vmi::BalloonSignal signal;
        Clock::time_point at;
        bool v1_threshold;
    };
    std::optional<Pending> pending_;
};

}  // namespace launcher
