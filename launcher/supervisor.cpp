#include "launcher/supervisor.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <istream>
#include <stdexcept>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <fmt/format.h>

#include "cgroups/events.hpp"
#include "cgroups/libcgroup_backend.hpp"
#include "cgroups/stats.hpp"
#include "launcher/control_server.hpp"
#include "launcher/exit_codes.hpp"
#include "launcher/oom_guard.hpp"
#include "launcher/outcome.hpp"
#include "launcher/qmp_client.hpp"
#include "launcher/spawn.hpp"
#include "launcher/state_dir.hpp"
#include "launcher/unix_socket.hpp"
#include "qemu-args/prepare.hpp"

namespace launcher {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

constexpr std::size_t stderr_tail_lines = 20;
constexpr auto kill_after_term = 5s;     // QEMU gets this long to quit on SIGTERM
constexpr auto escalate_term = 2s;       // after a second SIGTERM to the launcher
constexpr auto oom_poll_interval = 100ms;  // where OOM events cannot be registered (read-only v1)
constexpr auto pressure_log_interval = 10s;  // memory_pressure lines at most this often

double epoch_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Supervisor {
public:
    Supervisor(Log& log, const VmRun& run)
        : log_(log), run_(run), signals_(io_, SIGTERM, SIGINT), sigchld_(io_, SIGCHLD), qmp_(io_),
          grace_timer_(io_), kill_timer_(io_), oom_desc_(io_) {}

    int run();

private:
    void start();
    void wait_signals();
    void wait_sigchld();
    void reap();
    void read_stderr();
    void watch_oom();
    void open_oom_watcher();
    std::string guard_launcher();
    void check_oom(bool final_check);
    void connect_qmp(Fd fd);
    void on_qmp_event(const qmp::Event& e);
    void request_shutdown(int signo);
    void stop_qemu(bool escalate);
    void status(ControlServer::Reply reply);
    void qemu_exited(int status);
    void stop_when_drained();
    int finish();

    Log& log_;
    const VmRun& run_;
    asio::io_context io_;
    asio::signal_set signals_;
    asio::signal_set sigchld_;
    qmp::Client qmp_;
    asio::steady_timer grace_timer_;
    asio::steady_timer kill_timer_;
    asio::posix::stream_descriptor oom_desc_;

    std::optional<StateDir> state_;
    std::shared_ptr<cgroups::Backend> backend_;
    std::optional<cgroups::VmCgroup> cgroup_;
    std::optional<cgroups::OomWatcher> oom_;
    std::optional<ControlServer> control_;
    std::optional<boost::process::async_pipe> stderr_pipe_;
    asio::streambuf stderr_buf_;
    std::deque<std::string> stderr_tail_;

    pid_t qemu_pid_ = -1;
    bool qemu_running_ = false;
    bool stderr_closed_ = false;
    double started_at_ = 0;
    bool stopping_ = false;
    Ending ending_;
    std::optional<double> oom_seen_at_;
    std::optional<std::chrono::steady_clock::time_point> pressure_logged_at_;
    cgroups::MemoryEventCounts pressure_unlogged_;
};

void Supervisor::start() {
    const auto mode = run_.cgroup_mode.mode;
    if (mode != cgroups::Mode::none && !run_.backend) throw std::logic_error("run: no cgroup backend begun");

    std::optional<std::string> stale;
    state_.emplace(StateDir::acquire(run_.state_dir, stale));
    if (stale) log_.warn("stale_state_cleaned", *stale);

    qemu_args::prepare_files(run_.launch);

    // The cgroup before QEMU: its limit applies from QEMU's first instruction.
    if (mode != cgroups::Mode::none) {
        auto choice = cgroups::finish_backend(std::move(*run_.backend));
        backend_ = std::shared_ptr<cgroups::Backend>(std::move(choice.backend));
        log_.info("cgroup_backend", choice.reason, {{"backend", backend_->name()}});
        cgroup_.emplace(cgroups::VmCgroup::open(run_.detection, mode, run_.cgroup, backend_));
        backend_->release();
        for (const auto& n : cgroup_->notices()) {
            if (n != cgroup_->limit_warning()) log_.info("cgroup_notice", n);
        }
        if (cgroup_->limit_warning()) log_.warn("cgroup_limit_differs", *cgroup_->limit_warning());
        log_.info("cgroup_ready", fmt::format("memory cgroup {} ({} mode)", cgroup_->path().string(), to_string(mode)),
                  {{"cgroup", cgroup_->path().string()},
                   {"mode", std::string(to_string(mode))},
                   {"version", std::string(to_string(cgroup_->version()))},
                   {"limit_bytes", run_.cgroup.limits.max_bytes}});
        open_oom_watcher();
    }

    // QMP: the launcher owns the listening socket and hands it to QEMU.
    Fd qmp_listener = listen_unix(run_.launch.qmp_socket);
    const int qmp_high = move_high(qmp_listener.release());
    Fd qmp_keep(qmp_high);
    SpawnRequest req;
    req.argv = run_.launch.argv;
    for (const auto& slot : run_.launch.fds) {
        if (slot.kind == qemu_args::FdSlot::Kind::qmp_listener) req.fds.emplace_back(qmp_high, slot.number);
        // A tap device the launcher was handed stays at its number.
        if (slot.kind == qemu_args::FdSlot::Kind::tap) req.fds.emplace_back(slot.number, slot.number);
    }
    req.cgroup_join_fd = cgroup_ ? cgroup_->join_fd() : -1;
    if (mode == cgroups::Mode::adopt || mode == cgroups::Mode::nested) req.oom_score_adj = guard_launcher();

    wait_sigchld();  // before the child exists, so its exit is never missed
    stderr_pipe_.emplace(io_);
    qemu_pid_ = spawn(req, *stderr_pipe_);
    qemu_running_ = true;
    started_at_ = epoch_seconds();
    log_.info("qemu_started", fmt::format("QEMU started (pid {})", qemu_pid_),
              {{"pid", qemu_pid_}, {"guest_bytes", run_.memory.guest.value}, {"argv", run_.launch.argv}});
    read_stderr();
    if (oom_) watch_oom();

    // The kernel queues this connection on the listener until QEMU accepts it.
    connect_qmp(connect_unix(run_.launch.qmp_socket));
    qmp_keep.reset();  // QEMU holds its own copy

    control_.emplace(io_, listen_unix(run_.state_dir / "control.sock"),
                     [this](const std::string& request, ControlServer::Reply reply) {
                         if (request == "status") {
                             status(std::move(reply));
                         } else {
                             reply({{"error", "unknown request \"" + request + "\" (try status)"}});
                         }
                     });
    wait_signals();
}

// Events where the kernel takes a registration; in adopt mode on a
// read-only cgroup v1 mount it does not (cgroup.event_control is a write),
// and the watcher reads the same counters on a timer instead.
void Supervisor::open_oom_watcher() {
    oom_.emplace(cgroups::OomWatcher::open(cgroup_->version(), cgroup_->path(), *backend_, oom_poll_interval));
    if (oom_->polling()) {
        log_.info("oom_watch_polling", "cannot register for OOM events: " + oom_->method(),
                  {{"interval_ms", oom_poll_interval.count()}, {"cgroup", cgroup_->path().string()}});
    } else {
        log_.info("oom_watch", "watching OOM kills with " + oom_->method());
    }
}

// The launcher shares a memory limit with QEMU: it must not be the one the
// OOM killer picks. Returns QEMU's oom_score_adj.
std::string Supervisor::guard_launcher() {
    const OomScores s = protect_launcher();
    const json fields{{"launcher_before", s.launcher_before}, {"launcher", s.launcher}, {"qemu", s.qemu}};
    if (s.launcher_immune) {
        log_.info("oom_score_adj",
                  fmt::format("the launcher is immune to the OOM killer (oom_score_adj {} -> -1000); QEMU keeps {}",
                              s.launcher_before, s.qemu),
                  fields);
    } else {
        log_.warn("oom_score_adj",
                  fmt::format("the launcher cannot make itself immune to the OOM killer ({}; it needs "
                              "CAP_SYS_RESOURCE): QEMU's oom_score_adj is raised to {} (the launcher's is {}) so "
                              "the OOM killer picks QEMU first",
                              s.why_not, s.qemu, s.launcher),
                  fields);
    }
    return std::to_string(s.qemu);
}

void Supervisor::wait_signals() {
    signals_.async_wait([this](boost::system::error_code ec, int signo) {
        if (ec) return;
        request_shutdown(signo);
        wait_signals();
    });
}

void Supervisor::wait_sigchld() {
    sigchld_.async_wait([this](boost::system::error_code ec, int) {
        if (ec) return;
        reap();
        if (qemu_running_) wait_sigchld();
    });
}

// Reaps every child that exited: QEMU, and (as PID 1) anything re-parented to us.
void Supervisor::reap() {
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == qemu_pid_) qemu_exited(status);
    }
}

void Supervisor::read_stderr() {
    asio::async_read_until(*stderr_pipe_, stderr_buf_, '\n', [this](boost::system::error_code ec, std::size_t) {
        if (ec) {
            // QEMU's last words may lack a newline.
            std::istream in(&stderr_buf_);
            std::string rest;
            if (std::getline(in, rest) && !rest.empty()) {
                stderr_tail_.push_back(rest);
                log_.warn("qemu_stderr", "qemu: " + rest);
            }
            stderr_closed_ = true;
            stop_when_drained();
            return;
        }
        std::istream in(&stderr_buf_);
        std::string line;
        std::getline(in, line);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        stderr_tail_.push_back(line);
        if (stderr_tail_.size() > stderr_tail_lines) stderr_tail_.pop_front();
        log_.warn("qemu_stderr", "qemu: " + line);
        read_stderr();
    });
}

void Supervisor::watch_oom() {
    if (oom_desc_.is_open()) oom_desc_.release();
    oom_desc_.assign(oom_->fd());
    oom_desc_.async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
        if (ec) return;
        check_oom(false);
        if (!oom_->gone() && qemu_running_) watch_oom();
    });
}

void Supervisor::check_oom(bool final_check) {
    const cgroups::MemoryEventCounts fresh = oom_->check();
    const std::uint64_t kills = fresh.kill_events();
    if (kills > 0) {
        ending_.oom_kills += kills;
        if (!oom_seen_at_) oom_seen_at_ = epoch_seconds();
        std::optional<std::uint64_t> peak;
        try {
            peak = cgroups::read_stats(cgroup_->version(), cgroup_->path()).peak_bytes;
        } catch (const std::exception&) {
        }
        log_.error("oom_killed",
                   fmt::format("the VM's memory cgroup hit its limit of {} bytes: the kernel killed QEMU",
                               run_.cgroup.limits.max_bytes),
                   {{"limit_bytes", run_.cgroup.limits.max_bytes},
                    {"peak_bytes", peak ? json(*peak) : json(nullptr)},
                    {"oom_kills", ending_.oom_kills},
                    {"time", *oom_seen_at_},
                    {"seen_by", final_check ? "final check" : "watcher"}});
    }
    // Pressure can change many times a second: one line at most every
    // pressure_log_interval, with everything since the last line.
    pressure_unlogged_.high += fresh.high;
    pressure_unlogged_.max += fresh.max;
    const auto now = std::chrono::steady_clock::now();
    if ((pressure_unlogged_.high > 0 || pressure_unlogged_.max > 0) &&
        (final_check || !pressure_logged_at_ || now - *pressure_logged_at_ >= pressure_log_interval)) {
        log_.warn("memory_pressure", "the VM's memory cgroup is under pressure",
                  {{"high_events", pressure_unlogged_.high}, {"max_events", pressure_unlogged_.max}});
        pressure_unlogged_ = {};
        pressure_logged_at_ = now;
    }
}

void Supervisor::connect_qmp(Fd fd) {
    qmp_.on_event([this](const qmp::Event& e) { on_qmp_event(e); });
    qmp_.adopt(fd.release(), [this](const std::string& error) {
        if (!error.empty()) {
            if (qemu_running_) log_.warn("qmp_unavailable", error);
            return;
        }
        log_.info("qmp_ready", "QMP ready", {{"qemu_version", qmp_.qemu_version()}});
        if (stopping_) qmp_.execute("system_powerdown");
    });
}

void Supervisor::on_qmp_event(const qmp::Event& e) {
    if (e.name == "SHUTDOWN") {
        ending_.shutdown_reason = e.data.value("reason", "");
        log_.info("shutdown", "QEMU is shutting down", {{"reason", ending_.shutdown_reason}});
    } else if (e.name == "POWERDOWN") {
        log_.info("powerdown", "the guest received the ACPI power button");
    } else if (e.name == "GUEST_PANICKED") {
        log_.error("guest_panicked", "the guest kernel panicked", {{"data", e.data}});
    } else if (e.name == "BALLOON_CHANGE") {
        log_.info("balloon_change", "the balloon changed size", {{"actual_bytes", e.data.value("actual", 0)}});
    }
}

void Supervisor::request_shutdown(int signo) {
    if (!qemu_running_) return;
    if (stopping_) {
        log_.warn("shutdown_escalated", fmt::format("{} again: stopping QEMU now", strsignal(signo)));
        stop_qemu(true);
        return;
    }
    stopping_ = true;
    log_.info("shutdown_requested",
              fmt::format("{}: pressing the guest's power button, {} s grace period", strsignal(signo),
                          run_.grace_period.count()),
              {{"signal", signo}, {"grace_period_seconds", run_.grace_period.count()}});
    if (qmp_.ready()) {
        qmp_.execute("system_powerdown");
    } else {
        log_.warn("qmp_unavailable", "QMP is not ready: the power button is pressed once it is");
    }
    grace_timer_.expires_after(run_.grace_period);
    grace_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || !qemu_running_) return;
        log_.warn("grace_period_expired", "the guest did not shut down within the grace period: stopping QEMU");
        stop_qemu(false);
    });
}

// SIGTERM (QEMU quits at once, cleanly), then SIGKILL if it lingers.
void Supervisor::stop_qemu(bool escalate) {
    ending_.forced = true;
    grace_timer_.cancel();
    ::kill(qemu_pid_, SIGTERM);
    kill_timer_.expires_after(escalate ? escalate_term : kill_after_term);
    kill_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || !qemu_running_) return;
        log_.warn("qemu_killed", "QEMU did not quit on SIGTERM: SIGKILL");
        ::kill(qemu_pid_, SIGKILL);
    });
}

void Supervisor::status(ControlServer::Reply reply) {
    json s;
    s["vmi"] = run_.spec.metadata.namespace_name + "/" + run_.spec.metadata.name;
    s["launcher_pid"] = ::getpid();
    s["qemu_pid"] = qemu_pid_;
    s["uptime_seconds"] = epoch_seconds() - started_at_;
    s["guest_bytes"] = run_.memory.guest.value;
    s["accel"] = vmi::to_string(run_.memory.options.accel);
    if (cgroup_) {
        json c;
        c["mode"] = std::string(to_string(cgroup_->mode()));
        c["path"] = cgroup_->path().string();
        try {
            const auto st = cgroups::read_stats(cgroup_->version(), cgroup_->path());
            c["usage_bytes"] = st.usage_bytes;
            c["peak_bytes"] = st.peak_bytes ? json(*st.peak_bytes) : json(nullptr);
            c["limit_bytes"] = st.limit_bytes ? json(*st.limit_bytes) : json(nullptr);
            c["oom_kills"] = st.events.kill_events();
            c["high_events"] = st.events.high;
            c["max_events"] = st.events.max;
        } catch (const std::exception& e) {
            c["error"] = e.what();
        }
        s["cgroup"] = c;
    }
    auto shared = std::make_shared<json>(std::move(s));
    qmp_.execute("query-status", {}, [this, shared, reply](const qmp::Reply& r) {
        (*shared)["status"] = r.ok ? r.value.value("status", "unknown") : "unknown (" + r.error_desc + ")";
        if (!run_.spec.domain.devices.autoattach_mem_balloon) {
            reply(*shared);
            return;
        }
        qmp_.execute("qom-get", {{"path", "/machine/peripheral/balloon0"}, {"property", "guest-stats"}},
                     [this, shared, reply](const qmp::Reply& b) {
                         (*shared)["balloon"] = b.ok ? b.value : json({{"error", b.error_desc}});
                         qmp_.execute("query-balloon", {}, [shared, reply](const qmp::Reply& q) {
                             if (q.ok) (*shared)["balloon_actual_bytes"] = q.value.value("actual", 0);
                             reply(*shared);
                         });
                     });
    });
}

void Supervisor::qemu_exited(int status) {
    qemu_running_ = false;
    if (WIFEXITED(status)) ending_.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) ending_.signal = WTERMSIG(status);
    grace_timer_.cancel();
    kill_timer_.cancel();
    signals_.cancel();
    if (control_) control_->close();
    qmp_.close();
    // Read what QEMU said last before deciding anything; a descendant holding
    // the pipe open must not hold the launcher, hence the bound.
    kill_timer_.expires_after(2s);
    kill_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) io_.stop();
    });
    stop_when_drained();
}

void Supervisor::stop_when_drained() {
    if (!qemu_running_ && stderr_closed_) io_.stop();
}

int Supervisor::finish() {
    // Read once more: an OOM kill can race the watcher.
    std::optional<std::uint64_t> peak;
    if (oom_) {
        check_oom(true);
        if (oom_desc_.is_open()) oom_desc_.release();
        try {
            peak = cgroups::read_stats(cgroup_->version(), cgroup_->path()).peak_bytes;
        } catch (const std::exception&) {
        }
    }
    EndingReport report{classify(ending_), ending_, run_.cgroup.limits.max_bytes, peak,
                        {stderr_tail_.begin(), stderr_tail_.end()}};
    const int code = exit_code_for(report.outcome);
    if (cgroup_) {
        const auto td = cgroup_->close();
        if (td.killed > 0) log_.warn("cgroup_leftovers", fmt::format("killed {} process(es) left in the cgroup", td.killed));
    }
    state_->remove();
    const std::string message = termination_message(report);
    if (run_.termination_log) {
        // kubelet makes the file before the container starts; a runtime that
        // makes none (podman) leaves a path nobody reads and the launcher may
        // not create: that is no fault, the message is in vm_stopped below.
        std::error_code ec;
        const bool existed = std::filesystem::exists(*run_.termination_log, ec);
        std::ofstream out(*run_.termination_log, std::ios::trunc);
        out << message;
        const std::string path = run_.termination_log->string();
        if (!out && existed) log_.warn("termination_log_failed", "cannot write " + path);
        if (!out && !existed) {
            log_.info("termination_log_absent",
                      path + " does not exist and cannot be created: the termination message is in this log only");
        }
    }
    json fields{{"outcome", to_string(report.outcome)},
                {"exit_status", code},
                {"qemu_exit_code", ending_.exit_code ? json(*ending_.exit_code) : json(nullptr)},
                {"qemu_signal", ending_.signal ? json(*ending_.signal) : json(nullptr)},
                {"limit_bytes", report.limit_bytes},
                {"peak_bytes", peak ? json(*peak) : json(nullptr)},
                {"oom_kills", ending_.oom_kills}};
    if (report.outcome == Outcome::qemu_failed) fields["qemu_stderr"] = report.qemu_stderr_tail;
    if (report.outcome == Outcome::guest_shutdown) {
        log_.info("vm_stopped", message, fields);
    } else {
        log_.error("vm_stopped", message, fields);
    }
    return code;
}

int Supervisor::run() {
    try {
        start();
    } catch (const std::exception& e) {
        // Nothing may be left behind: the cgroup and the state directory
        // close with their owners; a QEMU already started dies with the cgroup.
        if (qemu_running_) ::kill(qemu_pid_, SIGKILL);
        if (qemu_running_) ::waitpid(qemu_pid_, nullptr, 0);
        if (cgroup_) cgroup_->close();
        throw SetupError(e.what());
    }
    io_.run();
    return finish();
}

}  // namespace

int run_vm(Log& log, const VmRun& run) {
    Supervisor s(log, run);
    return s.run();
}

}  // namespace launcher
