#include "launcher/balloon_controller.hpp"

#include <fcntl.h>

#include <algorithm>

#include <fmt/format.h>

#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"
#include "qemu-args/balloon_stats.hpp"

namespace launcher {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::uint64_t in_mib(std::uint64_t b) { return b >> 20; }

vmi::BalloonTime policy_now(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<vmi::BalloonTime>(t.time_since_epoch());
}

bool pressure_reason(vmi::BalloonReason r) {
    using R = vmi::BalloonReason;
    return r == R::inflate || r == R::floor_reached || r == R::nothing_to_give || r == R::no_stats ||
           r == R::stale_stats;
}

std::vector<std::uint64_t> ancestor_marks(std::uint64_t limit) {
    std::vector<std::uint64_t> out;
    for (const auto b : vmi::balloon_thresholds(vmi::Bytes{limit}).v1_usage) out.push_back(b.value);
    return out;
}

}  // namespace

std::string balloon_oom_note(const std::optional<vmi::BalloonDecision>& d, vmi::Bytes floor) {
    using R = vmi::BalloonReason;
    if (!d) return "the balloon could not help: no pressure signal reached it before the kill";
    switch (d->reason) {
        case R::floor_reached:
            return fmt::format("the balloon could not help: it was at its floor of {} MiB (the memory request), so "
                               "the guest's working set does not fit the limit",
                               in_mib(floor.value));
        case R::nothing_to_give:
            return "the balloon could not help: the guest had nothing to give (" + d->detail + ")";
        case R::no_stats: return "the balloon could not help: the guest sent no balloon statistics";
        case R::stale_stats:
            return "the balloon could not help: the guest's statistics were not fresh yet after its last inflation";
        default: break;
    }
    if (d->state.target <= floor) {
        return fmt::format("the balloon could not help: it was at its floor of {} MiB (the memory request)",
                           in_mib(floor.value));
    }
    return fmt::format("the balloon could not help in time: it was inflating towards {} MiB when the kernel killed QEMU",
                       in_mib(d->state.target.value));
}

BalloonController::BalloonController(asio::io_context& io, Log& log, qmp::Client& qmp, BalloonControl control,
                                     const cgroups::VmCgroup& cgroup, cgroups::Backend& backend, fs::path cgroup_root)
    : io_(io),
      log_(log),
      qmp_(qmp),
      control_(std::move(control)),
      cgroup_(cgroup),
      backend_(backend),
      cgroup_root_(std::move(cgroup_root)),
      timer_(io),
      state_(vmi::balloon_start(control_.plan.ceiling)) {
    const bool v1 = cgroup_.version() == cgroups::Version::v1;
    usage_path_ = cgroup_.path() / (v1 ? "memory.usage_in_bytes" : "memory.current");
    limit_path_ = cgroup_.path() / (v1 ? "memory.limit_in_bytes" : "memory.max");
    usage_fd_ = cgroups::open_file(usage_path_, O_RDONLY);
    limit_fd_ = cgroups::open_file(limit_path_, O_RDONLY);
}

BalloonController::~BalloonController() { stop(); }

void BalloonController::start() {
    running_ = true;
    qmp_.execute("qom-set",
                 {{"path", balloon_qom_path},
                  {"property", "guest-stats-polling-interval"},
                  {"value", control_.stats_interval_seconds}},
                 [this](const qmp::Reply& r) {
                     if (!r.ok) {
                         log_.warn("balloon_stats_unavailable",
                                   "cannot turn on the guest's balloon statistics: " + r.error_desc);
                     }
                 });
    if (control_.poll_interval) {
        method_ = fmt::format("polling every {} ms (--balloon-poll-interval), no event source",
                              control_.poll_interval->count());
        log_.info("balloon_watch", "balloon: " + method_,
                  {{"floor_bytes", control_.plan.floor.value},
                   {"ceiling_bytes", control_.plan.ceiling.value},
                   {"methods", json::array({method_})}});
    } else {
        arm_sources();
    }
    schedule_tick();
}

void BalloonController::arm_sources() {
    cgroups::PressureOptions o;
    std::optional<std::uint64_t> limit = read_number(limit_fd_, limit_path_);
    if (limit) {
        const auto t = vmi::balloon_thresholds(vmi::Bytes{*limit});
        for (const auto b : t.v1_usage) o.v1_thresholds.push_back(b.value);
        o.v2_memory_high = t.v2_memory_high.value;
    }
    o.cgroup_root = cgroup_root_;
    o.ancestor_thresholds = &ancestor_marks;
    o.poll_interval = control_.tick;
    cgroups::PressureWatch w = cgroups::open_pressure_watch(cgroup_.version(), cgroup_.path(), backend_, o);
    std::vector<std::string> methods;
    for (const auto& s : w.sources) methods.push_back(s.method());
    for (const auto& f : w.fallbacks) log_.info("balloon_watch_fallback", "balloon: " + f);
    method_ = w.polling ? "polling (no event could be registered)" : "events";
    log_.info("balloon_watch",
              fmt::format("balloon between {} and {} MiB, pressure from: {}", in_mib(control_.plan.floor.value),
                          in_mib(control_.plan.ceiling.value), fmt::join(methods, "; ")),
              {{"floor_bytes", control_.plan.floor.value},
               {"ceiling_bytes", control_.plan.ceiling.value},
               {"methods", methods},
               {"polling", w.polling}});
    sources_ = std::move(w.sources);
    for (auto& s : sources_) {
        auto d = std::make_unique<asio::posix::stream_descriptor>(io_);
        d->assign(s.fd());
        descs_.push_back(std::move(d));
    }
    for (std::size_t i = 0; i < sources_.size(); ++i) wait_source(i);
}

void BalloonController::wait_source(std::size_t i) {
    const auto how = sources_[i].priority() ? asio::posix::stream_descriptor::wait_error
                                            : asio::posix::stream_descriptor::wait_read;
    descs_[i]->async_wait(how, [this, i](boost::system::error_code ec) {
        if (ec || !running_) return;
        const auto at = Clock::now();
        auto& s = sources_[i];
        if (s.consume()) {
            using K = cgroups::PressureKind;
            const auto signal = s.kind() == K::timer ? vmi::BalloonSignal::polled
                                : s.scope() == cgroups::PressureScope::node ? vmi::BalloonSignal::node_pressure
                                                                            : vmi::BalloonSignal::cgroup_near_limit;
            evaluate(signal, at, s.kind() == K::v1_threshold);
        }
        wait_source(i);
    });
}

void BalloonController::schedule_tick() {
    timer_.expires_after(control_.poll_interval.value_or(control_.tick));
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || !running_) return;
        evaluate(control_.poll_interval ? vmi::BalloonSignal::polled : vmi::BalloonSignal::none, Clock::now(), false);
        schedule_tick();
    });
}

void BalloonController::stop() {
    running_ = false;
    timer_.cancel();
    // The sources own the fds: the descriptors only borrowed them.
    for (auto& d : descs_) {
        if (d->is_open()) {
            d->cancel();
            d->release();
        }
    }
    descs_.clear();
    sources_.clear();
    usage_fd_.reset();
    limit_fd_.reset();
}

void BalloonController::on_actual(std::uint64_t actual) {
    actual_ = actual;
    if (actual < control_.plan.ceiling.value) {
        counts_.returned_bytes = std::max(counts_.returned_bytes, control_.plan.ceiling.value - actual);
    }
}

std::optional<std::uint64_t> BalloonController::read_number(const cgroups::UniqueFd& fd, const fs::path& path) const {
    try {
        return cgroups::parse_limit(cgroups::read_text_at(fd.get(), path));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// One decision in flight at a time; a signal meanwhile is kept (an event
// outranks a tick) and decided right after, on fresh numbers.
void BalloonController::evaluate(vmi::BalloonSignal signal, Clock::time_point at, bool v1_threshold) {
    if (!running_ || !qmp_.ready()) return;
    if (busy_) {
        if (!pending_ || (pending_->signal == vmi::BalloonSignal::none && signal != vmi::BalloonSignal::none)) {
            pending_ = Pending{signal, at, v1_threshold};
        }
        return;
    }
    busy_ = true;
    qmp_.execute("qom-get", {{"path", balloon_qom_path}, {"property", "guest-stats"}},
                 [this, signal, at, v1_threshold](const qmp::Reply& stats) {
                     if (!running_) return;
                     // The balloon's size now: what it has yet to take is not the guest's.
                     qmp_.execute("query-balloon", {}, [this, stats, signal, at, v1_threshold](const qmp::Reply& q) {
                         busy_ = false;
                         if (!running_) return;
                         if (q.ok && q.value.contains("actual") && q.value["actual"].is_number_unsigned()) {
                             on_actual(q.value["actual"].get<std::uint64_t>());
                         }
                         decide(stats.value, stats.ok, signal, at, v1_threshold);
                         if (pending_) {
                             const Pending p = *pending_;
                             pending_.reset();
                             evaluate(p.signal, p.at, p.v1_threshold);
                         }
                     });
                 });
}

void BalloonController::decide(const json& reply, bool ok, vmi::BalloonSignal signal, Clock::time_point at,
                               bool v1_threshold) {
    const auto now = Clock::now();
    qemu_args::GuestStats gs = ok ? qemu_args::parse_guest_stats(reply) : qemu_args::GuestStats{};
    if (gs.last_update) {
        // QEMU stamps statistics with wall-clock seconds; the policy runs on
        // the monotonic clock.
        const auto wall_now = std::chrono::system_clock::now();
        const auto age = wall_now - std::chrono::system_clock::time_point(std::chrono::seconds(*gs.last_update));
        gs.stats.updated = policy_now(now) - std::chrono::duration_cast<vmi::BalloonTime>(age);
    }
    vmi::BalloonInput in;
    in.stats = gs.stats;
    const auto usage = read_number(usage_fd_, usage_path_);
    in.usage = vmi::Bytes{usage.value_or(0)};
    if (const auto limit = read_number(limit_fd_, limit_path_)) in.limit = vmi::Bytes{*limit};
    in.floor = control_.plan.floor;
    in.ceiling = control_.plan.ceiling;
    in.now = policy_now(now);
    in.signal = signal;
    if (actual_) in.actual = vmi::Bytes{*actual_};
    // A v1 threshold fires on the way down as well: usage back under the low
    // mark is pressure gone, not pressure.
    if (v1_threshold && in.limit && in.usage < vmi::balloon_marks(*in.limit).low) in.signal = vmi::BalloonSignal::none;

    const vmi::Bytes old = state_.target;
    const vmi::BalloonDecision d = vmi::decide_balloon(state_, in, control_.tuning);
    state_ = d.state;
    const bool reason_changed = !last_ || last_->reason != d.reason;
    last_ = d;
    if (pressure_reason(d.reason)) last_under_pressure_ = d;
    if (!d.target) {
        if (reason_changed && pressure_reason(d.reason)) {
            log_.info("balloon_hold", "balloon: " + d.detail,
                      {{"reason", vmi::to_string(d.reason)}, {"signal", vmi::to_string(in.signal)}});
        }
        return;
    }
    qmp_.execute("balloon", {{"value", d.target->value}}, [this](const qmp::Reply& r) {
        if (!r.ok) log_.warn("balloon_failed", "QMP balloon failed: " + r.error_desc);
    });
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - at).count();
    if (*d.target < old) ++counts_.inflations;
    if (*d.target > old) ++counts_.deflations;
    counts_.returned_bytes = std::max(counts_.returned_bytes, control_.plan.ceiling.value - d.target->value);
    log_.info("balloon_target", "balloon: " + d.detail,
              {{"reason", vmi::to_string(d.reason)},
               {"signal", vmi::to_string(in.signal)},
               {"usage_bytes", in.usage.value},
               {"limit_bytes", in.limit ? json(in.limit->value) : json(nullptr)},
               {"guest_available_bytes", in.stats.available ? json(in.stats.available->value) : json(nullptr)},
               {"old_target_bytes", old.value},
               {"new_target_bytes", d.target->value},
               {"signal_to_command_ms", ms}});
}

json BalloonController::status() const {
    json s{{"floor_bytes", control_.plan.floor.value},
           {"ceiling_bytes", control_.plan.ceiling.value},
           {"target_bytes", state_.target.value},
           {"actual_bytes", actual_ ? json(*actual_) : json(nullptr)},
           {"last_reason", last_ ? json(vmi::to_string(last_->reason)) : json(nullptr)},
           {"last_detail", last_ ? json(last_->detail) : json(nullptr)},
           {"watch", method_},
           {"inflations", counts_.inflations},
           {"deflations", counts_.deflations},
           {"returned_bytes", counts_.returned_bytes}};
    return s;
}

std::string BalloonController::oom_note() const { return balloon_oom_note(last_under_pressure_, control_.plan.floor); }

}  // namespace launcher
