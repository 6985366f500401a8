#include "launcher/status_report.hpp"

#include <memory>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "cgroups/stats.hpp"

namespace launcher {
namespace asio = boost::asio;
using json = nlohmann::json;

json status_basics(const StatusFacts& f) {
    json s;
    s["vmi"] = f.vmi;
    s["launcher_pid"] = f.launcher_pid;
    s["qemu_pid"] = f.qemu_pid;
    s["uptime_seconds"] = f.uptime_seconds;
    s["guest_bytes"] = f.guest_bytes;
    s["accel"] = f.accel;
    if (f.cgroup) {
        json c;
        c["mode"] = std::string(to_string(f.cgroup->mode()));
        c["path"] = f.cgroup->path().string();
        try {
            const auto st = cgroups::read_stats(f.cgroup->version(), f.cgroup->path());
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
    if (!f.balloon_control.is_null()) s["balloon_control"] = f.balloon_control;
    return s;
}

namespace {

// One status being put together: whichever comes first, QEMU's last answer
// or the deadline, replies; what comes after is dropped.
struct PendingStatus {
    PendingStatus(asio::io_context& io, json s, ControlServer::Reply r)
        : status(std::move(s)), timer(io), reply(std::move(r)) {}
    json status;
    asio::steady_timer timer;
    ControlServer::Reply reply;
    bool done = false;

    void finish() {
        if (done) return;
        done = true;
        timer.cancel();
        reply(status);
    }
};

}  // namespace

void ask_qemu_status(asio::io_context& io, qmp::Client& qmp, json basics, bool balloon,
                     std::chrono::milliseconds timeout, ControlServer::Reply reply) {
    auto p = std::make_shared<PendingStatus>(io, std::move(basics), std::move(reply));
    p->timer.expires_after(timeout);
    p->timer.async_wait([p, timeout](boost::system::error_code ec) {
        if (ec || p->done) return;
        p->status["status"] = "not answering";
        p->status["qemu_error"] =
            fmt::format("QEMU does not answer (no QMP reply within {:g} s): it is stopped or hung",
                        static_cast<double>(timeout.count()) / 1000);
        p->finish();
    });
    qmp.execute("query-status", {}, [&qmp, p, balloon](const qmp::Reply& r) {
        if (p->done) return;
        p->status["status"] = r.ok ? r.value.value("status", "unknown") : "unknown (" + r.error_desc + ")";
        if (!balloon || !r.ok) {
            p->finish();
            return;
        }
        qmp.execute("qom-get", {{"path", "/machine/peripheral/balloon0"}, {"property", "guest-stats"}},
                    [&qmp, p](const qmp::Reply& b) {
                        if (p->done) return;
                        p->status["balloon"] = b.ok ? b.value : json({{"error", b.error_desc}});
                        qmp.execute("query-balloon", {}, [p](const qmp::Reply& q) {
                            if (p->done) return;
                            if (q.ok) p->status["balloon_actual_bytes"] = q.value.value("actual", 0);
                            if (q.ok && p->status.contains("balloon_control")) {
                                p->status["balloon_control"]["actual_bytes"] = q.value.value("actual", 0);
                            }
                            p->finish();
                        });
                    });
    });
}

}  // namespace launcher
