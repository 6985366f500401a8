#include "vm_harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "qemu-args/prepare.hpp"

namespace qemu_test {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// The launcher's side of QMP: a listening socket QEMU accepts on.
int listen_at(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno("socket");
    const sockaddr_un addr = unix_address(path);
    ::unlink(path.c_str());
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fail_errno("bind " + path);
    if (::listen(fd, 4) != 0) fail_errno("listen " + path);
    return fd;
}

// The descriptor moved to 100 or above.
int high(int fd) {
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 100);
    if (moved < 0) fail_errno("fcntl F_DUPFD_CLOEXEC");
    ::close(fd);
    return moved;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string without_cr(std::string text) {
    std::erase(text, '\r');
    return text;
}

// Places `fd` at `number` for exec.
void place(int fd, int number) {
    if (fd == number) {
        ::fcntl(fd, F_SETFD, 0);  // dup2 onto itself would keep close-on-exec
    } else if (::dup2(fd, number) < 0) {
        ::_exit(126);
    }
}

// Child side: the QMP listener and the console's end at their numbers
// (both made at 100 and above, so placing one never overwrites the other),
// output to a file, then exec.
[[noreturn]] void exec_qemu(const std::vector<std::string>& argv, int qmp_fd, int qmp_number, int console_fd,
                            int console_number, int out_fd) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) ::_exit(126);
    place(qmp_fd, qmp_number);
    if (console_fd >= 0) place(console_fd, console_number);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
}

}  // namespace

QmpClient::QmpClient(const std::string& socket_path, std::chrono::seconds timeout) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail_errno("socket");
    const sockaddr_un addr = unix_address(socket_path);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd_);
        fail_errno("connect " + socket_path);
    }
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const nlohmann::json greeting = read_message();
    if (!greeting.contains("QMP")) throw std::runtime_error("QMP: no greeting: " + greeting.dump());
    execute("qmp_capabilities");
}

QmpClient::~QmpClient() {
    if (fd_ >= 0) ::close(fd_);
}

nlohmann::json QmpClient::read_message() {
    for (;;) {
        const auto newline = buffer_.find('\n');
        if (newline != std::string::npos) {
            const std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            return nlohmann::json::parse(line);
        }
        char buf[4096];
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail_errno("QMP read");
        if (n == 0) throw std::runtime_error("QMP: connection closed");
        buffer_.append(buf, static_cast<std::size_t>(n));
    }
}

nlohmann::json QmpClient::execute(const std::string& command, const nlohmann::json& arguments) {
    nlohmann::json request{{"execute", command}};
    if (!arguments.is_null()) request["arguments"] = arguments;
    const std::string line = request.dump() + "\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) fail_errno("QMP write");
    for (;;) {
        const nlohmann::json reply = read_message();
        if (reply.contains("return")) return reply["return"];
        if (reply.contains("error")) throw std::runtime_error("QMP " + command + ": " + reply["error"].dump());
    }
}

VmResult run_vm(const qemu_args::LaunchPlan& plan, const VmRun& run) {
    struct RemoveState {
        std::string dir;
        ~RemoveState() {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    } remove_state{plan.state_dir};

    qemu_args::prepare_files(plan);
    int qmp_number = -1;
    int console_number = -1;
    for (const auto& slot : plan.fds) {
        if (slot.kind == qemu_args::FdSlot::Kind::qmp_listener) qmp_number = slot.number;
        if (slot.kind == qemu_args::FdSlot::Kind::console) console_number = slot.number;
        if (slot.kind == qemu_args::FdSlot::Kind::tap) throw std::runtime_error("the harness passes no tap devices");
    }
    if (qmp_number < 0) throw std::runtime_error("the plan has no QMP listener");
    const int qmp_fd = high(listen_at(plan.qmp_socket));
    // The serial console as the launcher has it: QEMU gets one end of a
    // socket pair, a thread here copies the other into the console log.
    int console_pair[2] = {-1, -1};
    if (console_number >= 0) {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console_pair) != 0) fail_errno("socketpair");
        console_pair[1] = high(console_pair[1]);
    }
    const std::string output_path = plan.state_dir + "/qemu.out";
    const int out_fd = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out_fd < 0) fail_errno("open " + output_path);

    std::vector<std::string> argv = plan.argv;
    argv.insert(argv.end(), run.extra_args.begin(), run.extra_args.end());
    const auto started = Clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) fail_errno("fork");
    if (pid == 0) exec_qemu(argv, qmp_fd, qmp_number, console_pair[1], console_number, out_fd);
    ::close(qmp_fd);  // QEMU holds it now
    if (console_pair[1] >= 0) ::close(console_pair[1]);  // EOF for the copier once QEMU is gone
    std::thread console_copier;
    if (console_number >= 0) {
        console_copier = std::thread([fd = console_pair[0], path = plan.console_log] {
            std::ofstream log(path, std::ios::binary);
            char buf[16384];
            for (;;) {
                const ssize_t n = ::read(fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                log.write(buf, n);
                log.flush();
            }
            ::close(fd);
        });
    }
    struct JoinCopier {
        std::thread& t;
        ~JoinCopier() {
            if (t.joinable()) t.join();
        }
    } join_copier{console_copier};
    ::close(out_fd);

    VmResult result;
    auto reap = [&](bool block) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
        if (r != pid) return false;
        result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
    };
    bool done = false;
    try {
        if (run.with_qmp) {
            QmpClient qmp(plan.qmp_socket, run.timeout);
            run.with_qmp(qmp);
        }
    } catch (...) {
        ::kill(pid, SIGKILL);
        reap(true);
        throw;
    }
    while (!done) {
        done = reap(false);
        if (!done && Clock::now() - started > run.timeout) {
            ::kill(pid, SIGKILL);
            reap(true);
            result.timed_out = true;
            done = true;
        }
        if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (console_copier.joinable()) console_copier.join();
    result.console_log_existed = !plan.console_log.empty() && std::filesystem::exists(plan.console_log);
    if (result.console_log_existed) result.console = without_cr(read_all(plan.console_log));
    result.qemu_output = read_all(output_path);
    return result;
}

std::string console_section(const std::string& console, const std::string& what) {
    const std::string begin = "VMIL: " + what + " begin\n";
    const std::string end = "VMIL: " + what + " end\n";
    const auto b = console.find(begin);
    if (b == std::string::npos) return "";
    const auto e = console.find(end, b + begin.size());
    if (e == std::string::npos) return "";
    return console.substr(b + begin.size(), e - b - begin.size());
}

std::uint64_t mem_total_kb(const std::string& console) {
    const std::string section = console_section(console, "meminfo");
    std::istringstream in(section);
    std::string key;
    std::uint64_t kb = 0;
    in >> key >> kb;
    return key == "MemTotal:" ? kb : 0;
}

bool has_line(const std::string& console, const std::string& line) {
    std::istringstream in(console);
    for (std::string l; std::getline(in, l);) {
        if (l == line) return true;
    }
    return false;
}

}  // namespace qemu_test
