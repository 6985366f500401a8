// A stand-in for qemu-system-x86_64 that boots nothing: it reads the argv
// the launcher builds, speaks QMP on the listening descriptor the launcher
// passes (-chardev socket,id=qmp,fd=N), and misbehaves on request, so the
// supervisor's every outcome can be tested unprivileged and in milliseconds.
//
// FAKE_QEMU in the environment (the launcher passes its environment on)
// holds comma-separated words; with none it behaves like a healthy QEMU
// whose guest powers off on the ACPI power button:
//   exit=N              print an error on stderr and exit N before QMP
//   exit0               exit 0 at once, without a word of QMP
//   flood=BYTES         first write one stderr line of BYTES bytes
//   lines=N             then write N short stderr lines
//   hang                never accept the QMP connection
//   no-greeting         accept it, never send the greeting
//   crash=segv|abort    die from that signal right after the handshake
//   exit0-after-handshake   exit 0 after the handshake, no SHUTDOWN event
//   ignore-powerdown    POWERDOWN on system_powerdown, nothing else
//   powerdown-delay=MS  the guest takes this long to power off
//   shutdown-after=MS   the guest powers off by itself after the handshake
//   pidfile=PATH        write the pid here (tests signal it directly)
//   parent-hwm=PATH     on the guest's power-off, write the launcher's
//                       VmHWM (kB) here: its peak memory while QEMU ran
// SIGTERM does what QEMU does: SHUTDOWN reason host-signal, exit 0.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

std::map<std::string, std::string> parse_modes(const char* text) {
    std::map<std::string, std::string> modes;
    std::string s = text ? text : "";
    std::size_t start = 0;
    while (start < s.size()) {
        auto end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        const std::string word = s.substr(start, end - start);
        const auto eq = word.find('=');
        if (!word.empty()) modes[word.substr(0, eq)] = eq == std::string::npos ? "" : word.substr(eq + 1);
        start = end + 1;
    }
    return modes;
}

// A -chardev value's options; ",," is a literal comma, as in QEMU.
std::map<std::string, std::string> chardev_options(const std::string& value) {
    std::map<std::string, std::string> out;
    std::string item;
    auto flush = [&] {
        const auto eq = item.find('=');
        out[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
        item.clear();
    };
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == ',' && i + 1 < value.size() && value[i + 1] == ',') {
            item += ',';
            ++i;
        } else if (value[i] == ',') {
            flush();
        } else {
            item += value[i];
        }
    }
    flush();
    return out;
}

void write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

void send(int fd, const json& j) { write_all(fd, j.dump() + "\n"); }

void event(int fd, const std::string& name, const json& data = json::object()) {
    send(fd, {{"event", name}, {"data", data}, {"timestamp", {{"seconds", std::time(nullptr)}, {"microseconds", 0}}}});
}

// The parent's (the launcher's) VmHWM from /proc, in kB, written to `path`.
void write_parent_hwm(const std::string& path) {
    FILE* in = std::fopen(("/proc/" + std::to_string(::getppid()) + "/status").c_str(), "r");
    if (!in) return;
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, in)) {
        if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
    }
    std::fclose(in);
    FILE* out = std::fopen(path.c_str(), "w");
    if (!out) return;
    std::fprintf(out, "%ld\n", kb);
    std::fclose(out);
}

[[noreturn]] void crash(const std::string& how) {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::signal(SIGSEGV, SIG_DFL);
    ::signal(SIGABRT, SIG_DFL);
    if (how == "abort") std::abort();
    ::raise(SIGSEGV);
    ::_exit(99);
}

}  // namespace

int main(int argc, char** argv) {
    const auto modes = parse_modes(std::getenv("FAKE_QEMU"));
    auto has = [&](const char* m) { return modes.contains(m); };
    auto number = [&](const char* m) { return std::stol(modes.at(m)); };

    if (has("pidfile")) {
        FILE* f = std::fopen(modes.at("pidfile").c_str(), "w");
        if (f) {
            std::fprintf(f, "%d\n", ::getpid());
            std::fclose(f);
        }
    }

    int qmp_fd = -1;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "-chardev") != 0) continue;
        const auto opts = chardev_options(argv[i + 1]);
        if (opts.contains("socket") && opts.contains("id") && opts.at("id") == "qmp" && opts.contains("fd")) {
            qmp_fd = std::stoi(opts.at("fd"));
        }
    }
    if (qmp_fd < 0) {
        std::fprintf(stderr, "fake-qemu: no -chardev socket,id=qmp,fd=N in the arguments\n");
        return 1;
    }
    // The serial console (-chardev socket,id=serial0,fd=N) is the launcher's
    // socket pair: it stays open here until exit, as QEMU's would.

    if (has("flood")) {
        std::string line(static_cast<std::size_t>(number("flood")), 'x');
        line += '\n';
        write_all(2, line);
    }
    if (has("lines")) {
        std::string text;
        for (long i = 0; i < number("lines"); ++i) text += "fake-qemu: line " + std::to_string(i) + "\n";
        write_all(2, text);
    }
    if (has("exit")) {
        std::fprintf(stderr, "fake-qemu: told to exit %ld\n", number("exit"));
        return static_cast<int>(number("exit"));
    }
    if (has("exit0")) return 0;

    // SIGTERM and SIGINT through a signalfd, read in the loop below.
    sigset_t mask;
    ::sigemptyset(&mask);
    ::sigaddset(&mask, SIGTERM);
    ::sigaddset(&mask, SIGINT);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    const int sig_fd = ::signalfd(-1, &mask, SFD_CLOEXEC);

    int conn = -1;
    bool greeted = false;
    std::optional<clock_type::time_point> shutdown_at;
    std::string pending;
    for (;;) {
        std::vector<pollfd> fds{{sig_fd, POLLIN, 0}};
        if (conn < 0 && !has("hang")) fds.push_back({qmp_fd, POLLIN, 0});
        if (conn >= 0) fds.push_back({conn, POLLIN, 0});
        int timeout = -1;
        if (shutdown_at) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*shutdown_at - clock_type::now());
            timeout = static_cast<int>(std::max<long>(0, left.count()));
        }
        ::poll(fds.data(), fds.size(), timeout);
        if (shutdown_at && clock_type::now() >= *shutdown_at) {
            if (has("parent-hwm")) write_parent_hwm(modes.at("parent-hwm"));
            if (conn >= 0) event(conn, "SHUTDOWN", {{"guest", true}, {"reason", "guest-shutdown"}});
            return 0;
        }
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(sig_fd, &si, sizeof si) == sizeof si) {
                if (conn >= 0 && greeted) event(conn, "SHUTDOWN", {{"guest", false}, {"reason", "host-signal"}});
                return 0;
            }
        }
        if (conn < 0 && fds.size() > 1 && (fds[1].revents & POLLIN)) {
            conn = ::accept4(qmp_fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn >= 0 && !has("no-greeting")) {
                send(conn, {{"QMP",
                             {{"version", {{"qemu", {{"micro", 0}, {"minor", 2}, {"major", 7}}}, {"package", "fake"}}},
                              {"capabilities", json::array()}}}});
                greeted = true;
            }
            continue;
        }
        if (conn < 0 || fds.size() < 2 || !(fds[1].revents & (POLLIN | POLLHUP))) continue;
        char buf[4096];
        const ssize_t n = ::read(conn, buf, sizeof buf);
        if (n <= 0) {
            // The launcher hung up on the monitor: QEMU runs on.
            ::close(conn);
            conn = -1;
            continue;
        }
        pending.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
            const json cmd = json::parse(pending.substr(0, nl), nullptr, false);
            pending.erase(0, nl + 1);
            if (cmd.is_discarded() || !cmd.is_object()) continue;
            const std::string name = cmd.value("execute", "");
            json reply{{"return", json::object()}};
            if (cmd.contains("id")) reply["id"] = cmd["id"];
            if (name == "qmp_capabilities") {
                send(conn, reply);
                if (has("crash")) crash(modes.at("crash"));
                if (has("exit0-after-handshake")) return 0;
                if (has("shutdown-after"))
                    shutdown_at = clock_type::now() + std::chrono::milliseconds(number("shutdown-after"));
            } else if (name == "query-status") {
                reply["return"] = {{"status", "running"}, {"running", true}, {"singlestep", false}};
                send(conn, reply);
            } else if (name == "query-balloon") {
                reply["return"] = {{"actual", 64 << 20}};
                send(conn, reply);
            } else if (name == "qom-get") {
                reply["return"] = {{"stats", json::object()}, {"last-update", 0}};
                send(conn, reply);
            } else if (name == "system_powerdown") {
                send(conn, reply);
                event(conn, "POWERDOWN");
                if (!has("ignore-powerdown")) {
                    const long delay = has("powerdown-delay") ? number("powerdown-delay") : 0;
                    shutdown_at = clock_type::now() + std::chrono::milliseconds(delay);
                }
            } else {
                json error{{"error", {{"class", "CommandNotFound"}, {"desc", "The command " + name + " has not been found"}}}};
                if (cmd.contains("id")) error["id"] = cmd["id"];
                send(conn, error);
            }
        }
    }
}
