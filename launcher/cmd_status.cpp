// status: ask a running launcher; console: attach a terminal to the VM's
// serial console.
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "launcher/commands.hpp"
#include "launcher/console_relay.hpp"
#include "launcher/control_server.hpp"
#include "launcher/exit_codes.hpp"
#include "launcher/state_dir.hpp"
#include "launcher/unix_socket.hpp"

namespace launcher {
namespace fs = std::filesystem;

namespace {

fs::path state_dir_of(const VmRef& ref) {
    if (!ref.state_dir.empty()) return ref.state_dir;
    const auto slash = ref.name.find('/');
    const std::string ns = slash == std::string::npos ? "default" : ref.name.substr(0, slash);
    const std::string name = slash == std::string::npos ? ref.name : ref.name.substr(slash + 1);
    return default_state_dir(ref.state_root, ns, name);
}

std::string show_bytes(const nlohmann::json& v) {
    if (!v.is_number()) return "-";
    return fmt::format("{} bytes ({:.1f} MiB)", v.get<std::uint64_t>(), v.get<double>() / (1 << 20));
}

// Restores the terminal's mode when the console detaches.
class RawTerminal {
public:
    RawTerminal() {
        if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    ~RawTerminal() { restore(); }
    void restore() {
        if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
        active_ = false;
    }

private:
    termios saved_{};
    bool active_ = false;
};

// A socket file nobody listens on: its launcher was killed (SIGKILL, a
// crash) and could not clean up. Say that, not "Connection refused".
std::string not_running(const VmRef& ref, const fs::path& dir, const fs::path& socket, const std::system_error& e) {
    if (e.code().value() == ECONNREFUSED) {
        return fmt::format("{} is not running: no launcher listens on {} (it was killed without cleaning up); the "
                           "stale state directory {} is left, and the next `vmi-launcher run` of this VM removes it",
                           ref.name, socket.string(), dir.string());
    }
    if (e.code().value() == ENOENT) return fmt::format("{} is not running (no {})", ref.name, socket.string());
    return fmt::format("cannot reach the launcher of {}: {}", ref.name, e.what());
}

}  // namespace

int cmd_status(const VmRef& ref, const std::string& output) {
    const fs::path dir = state_dir_of(ref);
    const fs::path socket = dir / "control.sock";
    if (!fs::exists(socket)) throw std::runtime_error(fmt::format("{} is not running (no {})", ref.name, socket.string()));
    nlohmann::json s;
    try {
        s = control_request(socket.string(), "status");
    } catch (const std::system_error& e) {
        throw std::runtime_error(not_running(ref, dir, socket, e));
    }
    if (s.contains("error")) {
        const auto& e = s["error"];
        throw std::runtime_error(
            fmt::format("the launcher of {} answered: {}", ref.name, e.is_string() ? e.get<std::string>() : e.dump()));
    }
    if (output == "json") {
        std::cout << s.dump(2) << "\n";
        return exit_ok;
    }
    fmt::print("vmi:        {}\n", s.value("vmi", "?"));
    fmt::print("status:     {}\n", s.value("status", "?"));
    if (s.contains("qemu_error")) fmt::print("            {}\n", s.value("qemu_error", ""));
    fmt::print("pids:       launcher {}, qemu {}\n", s.value("launcher_pid", 0), s.value("qemu_pid", 0));
    fmt::print("uptime:     {:.1f} s\n", s.value("uptime_seconds", 0.0));
    fmt::print("guest:      {} ({})\n", show_bytes(s["guest_bytes"]), s.value("accel", "?"));
    if (s.contains("cgroup")) {
        const auto& c = s["cgroup"];
        fmt::print("cgroup:     {} ({} mode)\n", c.value("path", "?"), c.value("mode", "?"));
        fmt::print("  usage:    {}\n", show_bytes(c.value("usage_bytes", nlohmann::json())));
        fmt::print("  peak:     {}\n", show_bytes(c.value("peak_bytes", nlohmann::json())));
        fmt::print("  limit:    {}\n", show_bytes(c.value("limit_bytes", nlohmann::json())));
        fmt::print("  oom kills {}, high events {}, max events {}\n", c.value("oom_kills", 0), c.value("high_events", 0),
                   c.value("max_events", 0));
    }
    if (s.contains("balloon_control")) {
        // The launcher drives the balloon: its bounds, its target and why.
        const auto& b = s["balloon_control"];
        fmt::print("balloon:    target {}, actual {}\n", show_bytes(b.value("target_bytes", nlohmann::json())),
                   show_bytes(b.value("actual_bytes", nlohmann::json())));
        fmt::print("  floor:    {}\n", show_bytes(b.value("floor_bytes", nlohmann::json())));
        fmt::print("  ceiling:  {}\n", show_bytes(b.value("ceiling_bytes", nlohmann::json())));
        const auto reason = b.value("last_reason", nlohmann::json());
        fmt::print("  last:     {}{}\n", reason.is_string() ? reason.get<std::string>() : std::string("none yet"),
                   b.value("last_detail", nlohmann::json()).is_string()
                       ? " (" + b["last_detail"].get<std::string>() + ")"
                       : std::string());
        fmt::print("  changes:  {} inflations, {} deflations; watching: {}\n", b.value("inflations", 0),
                   b.value("deflations", 0), b.value("watch", std::string("?")));
    } else if (s.contains("balloon_actual_bytes")) {
        fmt::print("balloon:    {}\n", show_bytes(s["balloon_actual_bytes"]));
    }
    if (s.contains("balloon") && s["balloon"].contains("stats")) {
        // QEMU reports a statistic the guest has not sent as 2^64-1.
        for (const auto& [k, v] : s["balloon"]["stats"].items()) {
            if (v.is_number_unsigned() && v.get<std::uint64_t>() != UINT64_MAX) fmt::print("  {}: {}\n", k, v.dump());
        }
    }
    return exit_ok;
}

int cmd_console(const VmRef& ref) {
    const fs::path dir = state_dir_of(ref);
    const fs::path socket = dir / "console.sock";
    if (!fs::exists(socket)) throw std::runtime_error(fmt::format("{} has no serial console at {}", ref.name, socket.string()));
    Fd conn;
    try {
        conn = connect_unix(socket);
    } catch (const std::system_error& e) {
        throw std::runtime_error(not_running(ref, dir, socket, e));
    }
    if (::isatty(STDERR_FILENO)) fmt::print(stderr, "connected to {} (detach with Ctrl-])\r\n", ref.name);
    RawTerminal raw;
    constexpr char detach_key = 0x1d;  // Ctrl-]
    char buf[4096];
    bool first = true;
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {conn.get(), POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 2, -1) < 0) continue;
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = ::read(conn.get(), buf, sizeof buf);
            if (n <= 0) break;  // the VM is gone
            const std::string_view got(buf, static_cast<std::size_t>(n));
            if (first && got.starts_with(console_busy_prefix)) {
                // Another client has the console: say so plainly, not as guest output.
                raw.restore();
                std::string line(got.substr(0, got.find('\r')));
                throw std::runtime_error(fmt::format("{}: {}", ref.name, line.substr(std::string_view("vmi-launcher: ").size())));
            }
            first = false;
            if (::write(STDOUT_FILENO, buf, static_cast<std::size_t>(n)) < 0) break;
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
            if (n <= 0) {
                fds[0].fd = -1;  // input ended: keep showing output
                continue;
            }
            std::string_view in(buf, static_cast<std::size_t>(n));
            const auto key = in.find(detach_key);
            if (::write(conn.get(), in.data(), key == std::string_view::npos ? in.size() : key) < 0) break;
            if (key != std::string_view::npos) break;
        }
    }
    return exit_ok;
}

}  // namespace launcher
