#include "launcher/supervisor.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/vfs.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <stdexcept>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "cgroups/events.hpp"
#include "cgroups/libcgroup_backend.hpp"
#include "cgroups/stats.hpp"
#include "launcher/balloon_controller.hpp"
#include "launcher/console_relay.hpp"
#include "launcher/control_server.hpp"
#include "launcher/exit_codes.hpp"
#include "launcher/line_reader.hpp"
#include "launcher/oom_guard.hpp"
#include "launcher/outcome.hpp"
#include "launcher/qmp_client.hpp"
#include "launcher/signals.hpp"
#include "launcher/spawn.hpp"
#include "launcher/state_dir.hpp"
#include "launcher/status_report.hpp"
#include "launcher/unix_socket.hpp"
#include "qemu-args/prepare.hpp"

namespace launcher {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

constexpr std::size_t stderr_tail_lines = 20;
constexpr std::size_t stderr_max_line = 4096;  // bytes of one QEMU stderr line kept; the rest is counted
constexpr std::size_t stderr_log_burst = 100;   // QEMU stderr lines logged per stderr_log_window; the rest counted
constexpr auto stderr_log_window = 10s;
constexpr auto kill_after_term = 5s;     // QEMU gets this long to quit on SIGTERM
constexpr auto escalate_term = 2s;       // after a second SIGTERM to the launcher
constexpr auto same_request_window = 1s;  // one sender's signals this close together are one request
constexpr auto drain_limit = 2s;          // QEMU's last stderr and QMP events, read after it exited
constexpr std::uint64_t low_space_bytes = 16 << 20;  // below this free on the state directory: a warning
constexpr auto oom_poll_interval = 100ms;  // where OOM events cannot be registered (read-only v1)
constexpr auto pressure_log_interval = 10s;  // memory_pressure lines at most this often

double epoch_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Where the run is; each phase says what QEMU is doing and which timer runs.
enum class Phase {
    starting,       // setting up; QEMU does not run yet
    running,        // QEMU runs; the QMP handshake timer runs until QMP is ready
    powering_down,  // the power button was pressed on request: the grace timer runs
    stopping,       // the launcher sent QEMU SIGTERM (or SIGKILL): the kill timer runs
    draining,       // QEMU was reaped: its last stderr and QMP events are read, bounded by the drain timer
};

class Supervisor {
public:
    Supervisor(Log& log, const VmRun& run)
        : log_(log), run_(run), signals_(io_), requests_(same_request_window), qmp_(io_), handshake_timer_(io_),
          grace_timer_(io_), kill_timer_(io_), drain_timer_(io_), oom_desc_(io_) {}

    int run();

private:
    void start();
    void check_free_space();
    void on_signal(const ReceivedSignal& s);
    void reap();
    void read_stderr();
    void on_stderr_line(Line&& line);
    void report_suppressed_stderr();
    void watch_oom();
    void open_oom_watcher();
    std::string guard_launcher();
    void check_oom(bool final_check);
    void connect_qmp(Fd fd);
    void on_qmp_event(const qmp::Event& e);
    void request_shutdown(const ReceivedSignal& s);
    void handshake_timed_out();
    void stop_qemu(bool escalate);
    void status(ControlServer::Reply reply);
    Fd start_console();
    void qemu_exited(int status);
    void stop_when_drained();
    int finish();

    bool qemu_running() const {
        return phase_ == Phase::running || phase_ == Phase::powering_down || phase_ == Phase::stopping;
    }

    Log& log_;
    const VmRun& run_;
    asio::io_context io_;
    SignalReader signals_;
    ShutdownRequests requests_;
    qmp::Client qmp_;
    asio::steady_timer handshake_timer_;
    asio::steady_timer grace_timer_;
    asio::steady_timer kill_timer_;
    asio::steady_timer drain_timer_;
    asio::posix::stream_descriptor oom_desc_;

    std::optional<StateDir> state_;
    std::shared_ptr<cgroups::Backend> backend_;
    std::optional<cgroups::VmCgroup> cgroup_;
    std::optional<cgroups::OomWatcher> oom_;
    std::optional<BalloonController> balloon_;
    std::optional<ControlServer> control_;
    std::optional<ConsoleRelay> console_;
    std::optional<boost::process::async_pipe> stderr_pipe_;
    std::optional<LineReader<boost::process::async_pipe>> stderr_reader_;
    std::deque<std::string> stderr_tail_;  // at most stderr_tail_lines lines of at most stderr_max_line bytes
    std::chrono::steady_clock::time_point stderr_window_start_{};
    std::size_t stderr_window_lines_ = 0;
    std::uint64_t stderr_suppressed_lines_ = 0;
    std::uint64_t stderr_suppressed_bytes_ = 0;

    Phase phase_ = Phase::starting;
    pid_t qemu_pid_ = -1;
    bool stderr_open_ = false;
    bool qmp_open_ = false;
    double started_at_ = 0;
    Ending ending_;
    std::optional<std::chrono::system_clock::time_point> oom_seen_at_;
    std::optional<std::chrono::steady_clock::time_point> pressure_logged_at_;
    cgroups::MemoryEventCounts pressure_unlogged_;
};

void Supervisor::start() {
    const auto mode = run_.cgroup_mode.mode;
    if (mode != cgroups::Mode::none && !run_.backend) throw std::logic_error("run: no cgroup backend begun");

    std::optional<std::string> stale;
    state_.emplace(StateDir::acquire(
        run_.state_dir, run_.spec.metadata.namespace_name + "/" + run_.spec.metadata.name, stale));
    if (stale) log_.warn("stale_state_cleaned", *stale);
    check_free_space();

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
        if (run_.memory.balloon.enabled) {
            BalloonControl control;
            control.plan = run_.memory.balloon;
            control.poll_interval = run_.balloon_poll_interval;
            control.tuning = run_.balloon_tuning;
            balloon_.emplace(io_, log_, qmp_, std::move(control), *cgroup_, *backend_, run_.detection.memory_root);
        }
    } else if (run_.memory.balloon.enabled) {
        log_.info("balloon_off", "the balloon is not driven: cgroup mode none gives it no limit to watch");
    }

    // QMP: the launcher owns the listening socket and hands it to QEMU.
    Fd qmp_listener = listen_unix(run_.launch.qmp_socket);
    const int qmp_high = move_high(qmp_listener.release());
    Fd qmp_keep(qmp_high);
    // The serial console: QEMU's end of a socket pair, the launcher reading the other.
    Fd console_keep = run_.launch.console_socket.empty() ? Fd() : start_console();
    SpawnRequest req;
    req.argv = run_.launch.argv;
    for (const auto& slot : run_.launch.fds) {
        if (slot.kind == qemu_args::FdSlot::Kind::qmp_listener) req.fds.emplace_back(qmp_high, slot.number);
        if (slot.kind == qemu_args::FdSlot::Kind::console) req.fds.emplace_back(console_keep.get(), slot.number);
        // A tap device the launcher was handed stays at its number.
        if (slot.kind == qemu_args::FdSlot::Kind::tap) req.fds.emplace_back(slot.number, slot.number);
    }
    req.cgroup_join_fd = cgroup_ ? cgroup_->join_fd() : -1;
    if (mode == cgroups::Mode::adopt || mode == cgroups::Mode::nested) req.oom_score_adj = guard_launcher();

    // Signals are read from here on (SIGCHLD included, so QEMU's exit is never missed).
    signals_.start([this](const ReceivedSignal& s) { on_signal(s); });
    stderr_pipe_.emplace(io_);
    qemu_pid_ = spawn(req, *stderr_pipe_);
    phase_ = Phase::running;
    started_at_ = epoch_seconds();
    log_.info("qemu_started", fmt::format("QEMU started (pid {})", qemu_pid_),
              {{"pid", qemu_pid_}, {"guest_bytes", run_.memory.guest.value}, {"argv", run_.launch.argv}});
    read_stderr();
    if (oom_) watch_oom();
    // A QEMU that never answers QMP can be neither watched nor shut down.
    handshake_timer_.expires_after(run_.qmp_timeout);
    handshake_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) handshake_timed_out();
    });

    // The kernel queues this connection on the listener until QEMU accepts it.
    connect_qmp(connect_unix(run_.launch.qmp_socket));
    qmp_keep.reset();  // QEMU holds its own copy
    console_keep.reset();

    control_.emplace(io_, listen_unix(run_.state_dir / "control.sock"),
                     ControlServer::Requests{{"status", [this](ControlServer::Reply reply) { status(std::move(reply)); }}});
}

// QEMU's console log and overlays go to the state directory; a file system
// about to fill loses them without a word from QEMU, so say it first.
void Supervisor::check_free_space() {
    // statfs, not statvfs: glibc's statvfs also reads the mount table,
    // touching pages the launcher would otherwise never map.
    struct statfs fs {};
    if (::statfs(run_.state_dir.c_str(), &fs) != 0) return;
    const std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * static_cast<std::uint64_t>(fs.f_bsize);
    if (free_bytes >= low_space_bytes) return;
    log_.warn("state_dir_low_space",
              fmt::format("only {} bytes are free on the file system of {}: the console log and the VM's files there "
                          "may be cut short (ENOSPC)",
                          free_bytes, run_.state_dir.string()),
              {{"free_bytes", free_bytes}, {"state_dir", run_.state_dir.string()}});
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

void Supervisor::on_signal(const ReceivedSignal& s) {
    switch (signal_action(s.signo)) {
        case SignalAction::reap: reap(); return;
        case SignalAction::shutdown: request_shutdown(s); return;
        case SignalAction::ignore: break;
    }
    log_.warn("signal_ignored", fmt::format("{} from pid {}: ignored (it does not stop the VM)", strsignal(s.signo), s.sender),
              {{"signal", s.signo}, {"sender_pid", s.sender}});
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
    stderr_open_ = true;
    stderr_reader_.emplace(*stderr_pipe_, stderr_max_line);
    stderr_reader_->start(
        [this](Line&& line) {
            on_stderr_line(std::move(line));
            return true;
        },
        [this](const boost::system::error_code&) {
            stderr_open_ = false;
            stop_when_drained();
        });
}

// Each line is logged once, at most stderr_max_line bytes of it, and at
// most stderr_log_burst lines per stderr_log_window: a QEMU that floods its
// stderr cannot flood the launcher's log. The tail keeps the newest lines
// for the termination message either way.
void Supervisor::on_stderr_line(Line&& line) {
    const auto now = std::chrono::steady_clock::now();
    if (now - stderr_window_start_ >= stderr_log_window) {
        report_suppressed_stderr();
        stderr_window_start_ = now;
        stderr_window_lines_ = 0;
    }
    if (stderr_window_lines_ >= stderr_log_burst) {
        ++stderr_suppressed_lines_;
        stderr_suppressed_bytes_ += line.text.size() + line.dropped;
        stderr_tail_.push_back(std::move(line.text));
        if (stderr_tail_.size() > stderr_tail_lines) stderr_tail_.pop_front();
        return;
    }
    ++stderr_window_lines_;
    std::string message = "qemu: " + line.text;
    json fields = json::object();
    if (line.dropped > 0) {
        message += fmt::format(" [... {} more bytes of this line dropped]", line.dropped);
        fields["dropped_bytes"] = line.dropped;
    }
    log_.warn("qemu_stderr", message, fields);
    stderr_tail_.push_back(std::move(line.text));
    if (stderr_tail_.size() > stderr_tail_lines) stderr_tail_.pop_front();
}

void Supervisor::report_suppressed_stderr() {
    if (stderr_suppressed_lines_ == 0) return;
    log_.warn("qemu_stderr_suppressed",
              fmt::format("{} more lines ({} bytes) of QEMU's stderr were not logged: more than {} lines in {} s",
                          stderr_suppressed_lines_, stderr_suppressed_bytes_, stderr_log_burst,
                          std::chrono::seconds(stderr_log_window).count()),
              {{"suppressed_lines", stderr_suppressed_lines_}, {"suppressed_bytes", stderr_suppressed_bytes_}});
    stderr_suppressed_lines_ = 0;
    stderr_suppressed_bytes_ = 0;
}

void Supervisor::watch_oom() {
    if (oom_desc_.is_open()) oom_desc_.release();
    oom_desc_.assign(oom_->fd());
    oom_desc_.async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
        if (ec) return;
        check_oom(false);
        if (!oom_->gone() && qemu_running()) watch_oom();
    });
}

void Supervisor::check_oom(bool final_check) {
    const cgroups::MemoryEventCounts fresh = oom_->check();
    const std::uint64_t kills = fresh.kill_events();
    if (kills > 0) {
        ending_.oom_kills += kills;
        if (!oom_seen_at_) oom_seen_at_ = std::chrono::system_clock::now();
        std::optional<std::uint64_t> peak;
        try {
            peak = cgroups::read_stats(cgroup_->version(), cgroup_->path()).peak_bytes;
        } catch (const std::exception&) {
        }
        std::string message = fmt::format("the VM's memory cgroup hit its limit of {} bytes: the kernel killed QEMU",
                                          run_.cgroup.limits.max_bytes);
        if (balloon_) {
            ending_.balloon_note = balloon_->oom_note();
            message += "; " + ending_.balloon_note;
        }
        log_.error("oom_killed", message,
                   {{"limit_bytes", run_.cgroup.limits.max_bytes},
                    {"peak_bytes", peak ? json(*peak) : json(nullptr)},
                    {"oom_kills", ending_.oom_kills},
                    {"killed_at", iso_time(*oom_seen_at_)},
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
    qmp_open_ = true;
    qmp_.on_event([this](const qmp::Event& e) { on_qmp_event(e); });
    qmp_.on_closed([this](const std::string&) {
        qmp_open_ = false;
        stop_when_drained();
    });
    qmp_.adopt(fd.release(), [this](const std::string& error) {
        if (!error.empty()) {
            if (qemu_running()) log_.warn("qmp_unavailable", error);
            return;
        }
        handshake_timer_.cancel();
        log_.info("qmp_ready", "QMP ready", {{"qemu_version", qmp_.qemu_version()}});
        if (balloon_ && qemu_running()) balloon_->start();
        if (phase_ == Phase::powering_down) qmp_.execute("system_powerdown");
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
        const std::uint64_t actual = e.data.value("actual", std::uint64_t{0});
        if (balloon_) balloon_->on_actual(actual);
        log_.info("balloon_change", "the balloon changed size", {{"actual_bytes", actual}});
    }
}

void Supervisor::request_shutdown(const ReceivedSignal& s) {
    if (!qemu_running()) return;
    const char* name = strsignal(s.signo);
    if (!requests_.is_new(s.sender, std::chrono::steady_clock::now())) {
        log_.info("signal_repeated",
                  fmt::format("{} again from pid {} within {} ms: the same request (a process group signal), not a "
                              "second one",
                              name, s.sender, std::chrono::milliseconds(same_request_window).count()),
                  {{"signal", s.signo}, {"sender_pid", s.sender}});
        return;
    }
    if (phase_ != Phase::running) {
        log_.warn("shutdown_escalated", fmt::format("{} again: stopping QEMU now", name),
                  {{"signal", s.signo}, {"sender_pid", s.sender}});
        stop_qemu(true);
        return;
    }
    phase_ = Phase::powering_down;
    log_.info("shutdown_requested",
              fmt::format("{}: pressing the guest's power button, {} s grace period", name, run_.grace_period.count()),
              {{"signal", s.signo}, {"sender_pid", s.sender}, {"grace_period_seconds", run_.grace_period.count()}});
    if (qmp_.ready()) {
        qmp_.execute("system_powerdown");
    } else {
        log_.warn("qmp_unavailable", "QMP is not ready: the power button is pressed once it is");
    }
    grace_timer_.expires_after(run_.grace_period);
    grace_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || phase_ != Phase::powering_down) return;
        log_.warn("grace_period_expired", "the guest did not shut down within the grace period: stopping QEMU");
        stop_qemu(false);
    });
}

void Supervisor::handshake_timed_out() {
    if (!qemu_running() || qmp_.ready()) return;
    const long seconds = static_cast<long>(run_.qmp_timeout.count());
    ending_.handshake_timeout_seconds = seconds;
    log_.error("qmp_handshake_timeout",
               fmt::format("QEMU did not complete the QMP handshake within {} s: killing it", seconds),
               {{"timeout_seconds", seconds}});
    // It does not answer QMP; it may not answer SIGTERM either.
    ending_.forced = true;
    phase_ = Phase::stopping;
    grace_timer_.cancel();
    ::kill(qemu_pid_, SIGKILL);
}

// SIGTERM (QEMU quits at once, cleanly), then SIGKILL if it lingers.
void Supervisor::stop_qemu(bool escalate) {
    ending_.forced = true;
    phase_ = Phase::stopping;
    grace_timer_.cancel();
    ::kill(qemu_pid_, SIGTERM);
    kill_timer_.expires_after(escalate ? escalate_term : kill_after_term);
    kill_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || !qemu_running()) return;
        log_.warn("qemu_killed", "QEMU did not quit on SIGTERM: SIGKILL");
        ::kill(qemu_pid_, SIGKILL);
    });
}

void Supervisor::status(ControlServer::Reply reply) {
    StatusFacts f;
    f.vmi = run_.spec.metadata.namespace_name + "/" + run_.spec.metadata.name;
    f.launcher_pid = ::getpid();
    f.qemu_pid = qemu_pid_;
    f.uptime_seconds = epoch_seconds() - started_at_;
    f.guest_bytes = run_.memory.guest.value;
    f.accel = vmi::to_string(run_.memory.options.accel);
    f.cgroup = cgroup_ ? &*cgroup_ : nullptr;
    if (balloon_) f.balloon_control = balloon_->status();
    ask_qemu_status(io_, qmp_, status_basics(f), run_.spec.domain.devices.autoattach_mem_balloon, qmp_status_timeout,
                    std::move(reply));
}

// Made before QEMU, so the launcher holds the console from QEMU's first
// instruction; returns QEMU's end.
Fd Supervisor::start_console() {
    ConsolePair pair = make_console_pair();
    Fd qemu_end(move_high(pair.qemu_end.release()));
    console_.emplace(io_, std::move(pair.launcher_end),
                     RotatingLog(run_.launch.console_log, run_.launch.console_log_max_bytes),
                     listen_unix(run_.launch.console_socket),
                     [this](const std::string& event, const std::string& message) {
                         if (event == "console_log_failed") {
                             log_.warn(event, message);
                         } else {
                             log_.info(event, message);
                         }
                     });
    return qemu_end;
}

void Supervisor::qemu_exited(int status) {
    phase_ = Phase::draining;
    if (WIFEXITED(status)) ending_.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) ending_.signal = WTERMSIG(status);
    handshake_timer_.cancel();
    grace_timer_.cancel();
    kill_timer_.cancel();
    if (balloon_) balloon_->stop();
    if (control_) control_->close();
    if (console_) console_->close();  // QEMU's last output into the log
    // Read what QEMU said last (stderr, and its SHUTDOWN event, which can
    // come after the exit was seen) before deciding anything; a descendant
    // holding the pipe open must not hold the launcher, hence the bound.
    drain_timer_.expires_after(drain_limit);
    drain_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) io_.stop();
    });
    stop_when_drained();
}

void Supervisor::stop_when_drained() {
    if (phase_ == Phase::draining && !stderr_open_ && !qmp_open_) io_.stop();
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
    qmp_.close();
    signals_.close();
    report_suppressed_stderr();
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
    const BalloonCounts counts = balloon_ ? balloon_->counts() : BalloonCounts{};
    fields["balloon_inflations"] = counts.inflations;
    fields["balloon_deflations"] = counts.deflations;
    fields["balloon_returned_bytes"] = counts.returned_bytes;
    if (report.outcome == Outcome::qemu_failed) fields["qemu_stderr"] = newest_lines(report.qemu_stderr_tail, 4096);
    // The reason only: QEMU's stderr lines were logged as they came, and
    // the last of them are in qemu_stderr.
    const std::string reason = message.substr(0, message.find('\n'));
    if (report.outcome == Outcome::guest_shutdown) {
        log_.info("vm_stopped", reason, fields);
    } else {
        log_.error("vm_stopped", reason, fields);
    }
    return code;
}

int Supervisor::run() {
    try {
        start();
    } catch (const std::exception& e) {
        // Nothing may be left behind: the cgroup and the state directory
        // close with their owners; a QEMU already started dies with the cgroup.
        if (qemu_running()) ::kill(qemu_pid_, SIGKILL);
        if (qemu_running()) ::waitpid(qemu_pid_, nullptr, 0);
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
