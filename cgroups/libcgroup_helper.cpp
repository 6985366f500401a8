#include "cgroups/libcgroup_helper.hpp"

#include "cgroups/libcgroup_backend.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace cgroups {

namespace fs = std::filesystem;

// Messages, one per SOCK_SEQPACKET record, fields separated by NUL bytes:
//   requests: "c" DIR            create
//             "s" DIR FILE VALUE set
//   replies:  "ok"
//             "e" ERRNO WHAT     std::system_error(ERRNO, WHAT)
//             "r" WHAT           std::runtime_error(WHAT)
// The helper's first reply, after cgroup_init(), is "ok" or "r".
namespace {

constexpr std::size_t max_message = 3 * 4096 + 64;

// A request: its letter, then its fields separated by NUL. Built by
// appending to one string: g++ 12 at -O2 and above takes `"c" + str` for an
// overlapping memcpy and warns (-Wrestrict, a false positive: GCC bug
// 105651), which stops a -Werror release build.
std::string request(char kind, std::initializer_list<std::string_view> fields) {
    std::string r(1, kind);
    bool first = true;
    for (const auto field : fields) {
        if (!first) r.push_back('\0');
        r.append(field);
        first = false;
    }
    return r;
}

void send_message(int socket, const std::string& message) {
    for (;;) {
        if (::send(socket, message.data(), message.size(), MSG_NOSIGNAL) >= 0) return;
        if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "libcgroup helper: send");
    }
}

// An empty optional at end of stream (the other side has gone).
std::optional<std::string> receive_message(int socket) {
    std::vector<char> buffer(max_message);
    for (;;) {
        const ssize_t n = ::recv(socket, buffer.data(), buffer.size(), 0);
        if (n > 0) return std::string(buffer.data(), static_cast<std::size_t>(n));
        if (n == 0) return std::nullopt;
        if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "libcgroup helper: receive");
    }
}

std::vector<std::string> fields(const std::string& message) {
    std::vector<std::string> out;
    std::size_t start = 1;  // after the tag
    while (start <= message.size()) {
        const auto end = message.find('\0', start);
        out.push_back(message.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

std::string error_reply(const std::system_error& e) {
    // what() is "WHAT: strerror"; the launcher side rebuilds the same text.
    std::string what = e.what();
    const std::string suffix = ": " + e.code().message();
    if (what.size() > suffix.size() && what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0)
        what.resize(what.size() - suffix.size());
    return "e" + std::to_string(e.code().value()) + '\0' + what;
}

[[noreturn]] void serve(int socket, const fs::path& memory_root, pid_t parent) {
    // Signals are the launcher's business (its handlers would act for it).
    // It dies with the launcher, and ends at end of stream.
    sigset_t all;
    ::sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(0);
    // Only the socket: a copy of an ownership lock (a state directory's, a
    // cgroup's) must not outlive the launcher in this process.
    const auto fd = static_cast<unsigned>(socket);
    if (fd > 3) ::syscall(SYS_close_range, 3u, fd - 1, 0u);
    ::syscall(SYS_close_range, fd + 1, ~0u, 0u);
    try {
        std::optional<LibcgroupBackend> backend;
        try {
            backend.emplace(memory_root);
            send_message(socket, "ok");
        } catch (const std::exception& e) {
            send_message(socket, std::string("r") + e.what());
            ::_exit(0);
        }
        while (const auto request = receive_message(socket)) {
            const auto f = fields(*request);
            try {
                if (request->front() == 'c' && f.size() == 1) {
                    backend->create(f[0]);
                } else if (request->front() == 's' && f.size() == 3) {
                    backend->set(f[0], f[1], f[2]);
                } else {
                    throw std::runtime_error("libcgroup helper: malformed request");
                }
                send_message(socket, "ok");
            } catch (const std::system_error& e) {
                send_message(socket, error_reply(e));
            } catch (const std::exception& e) {
                send_message(socket, std::string("r") + e.what());
            }
        }
    } catch (...) {
        // A broken socket: the launcher sees end of stream.
    }
    ::_exit(0);
}

// Turns a reply into nothing ("ok") or the exception it carries.
void check_reply(const std::optional<std::string>& reply) {
    if (!reply) throw std::runtime_error("libcgroup helper: exited before answering");
    if (*reply == "ok") return;
    const auto f = fields(*reply);
    if (reply->front() == 'e' && f.size() == 2)
        throw std::system_error(std::stoi(f[0]), std::generic_category(), f[1]);
    if (reply->front() == 'r' && f.size() == 1) throw std::runtime_error(f[0]);
    throw std::runtime_error("libcgroup helper: malformed reply");
}

}  // namespace

LibcgroupHelperBackend::LibcgroupHelperBackend(fs::path memory_root) : memory_root_(std::move(memory_root)) {
    start();
}

void LibcgroupHelperBackend::start() {
    // A helper released earlier and not reaped since: it has ended or will.
    if (exiting_ > 0) {
        while (::waitpid(exiting_, nullptr, 0) < 0 && errno == EINTR) {
        }
        exiting_ = -1;
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        throw std::system_error(errno, std::generic_category(), "libcgroup helper: socketpair");
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int error = errno;
        ::close(pair[0]);
        ::close(pair[1]);
        throw std::system_error(error, std::generic_category(), "libcgroup helper: fork");
    }
    if (pid == 0) {
        ::close(pair[0]);
        serve(pair[1], memory_root_, parent);
    }
    ::close(pair[1]);
    socket_ = pair[0];
    pid_ = pid;
    ready_ = false;
}

void LibcgroupHelperBackend::wait_ready() {
    if (pid_ < 0) start();
    if (ready_) return;
    try {
        check_reply(receive_message(socket_));
    } catch (...) {
        release();
        throw;
    }
    ready_ = true;
}

void LibcgroupHelperBackend::call(const std::string& request) {
    wait_ready();
    send_message(socket_, request);
    check_reply(receive_message(socket_));
}

void LibcgroupHelperBackend::create(const fs::path& dir) { call(request('c', {dir.native()})); }

void LibcgroupHelperBackend::set(const fs::path& dir, std::string_view file, std::string_view value) {
    call(request('s', {dir.native(), file, value}));
}

void LibcgroupHelperBackend::release() {
    if (socket_ >= 0) ::close(socket_);
    socket_ = -1;
    if (pid_ < 0) return;
    // End of stream ends the helper. Not waited for here, where it would
    // delay QEMU's start: a launcher reaps every child (waitpid(-1)), and the
    // destructor reaps it otherwise.
    if (::waitpid(pid_, nullptr, WNOHANG) == 0) exiting_ = pid_;
    pid_ = -1;
}

LibcgroupHelperBackend::~LibcgroupHelperBackend() {
    release();
    // ECHILD when the launcher's reaper took it.
    if (exiting_ > 0) {
        while (::waitpid(exiting_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
}

}  // namespace cgroups
