#include "launcher/signals.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace launcher {
namespace asio = boost::asio;

namespace {

constexpr int shutdown_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP};
constexpr int ignored_signals[] = {SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGXCPU};

bool ignored_at_start(int signo) {
    struct sigaction current {};
    return ::sigaction(signo, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

}  // namespace

SignalAction signal_action(int signo) {
    if (signo == SIGCHLD) return SignalAction::reap;
    for (int s : shutdown_signals) {
        if (s == signo) return SignalAction::shutdown;
    }
    return SignalAction::ignore;
}

bool ShutdownRequests::is_new(pid_t sender, std::chrono::steady_clock::time_point at) {
    const bool same = last_sender_ == sender && at - last_at_ < window_;
    if (!same) {
        last_sender_ = sender;
        last_at_ = at;
    }
    return !same;
}

SignalReader::SignalReader(asio::io_context& io) : fd_(io) {
    ::sigemptyset(&blocked_);
    ::sigaddset(&blocked_, SIGCHLD);
    for (int s : shutdown_signals) {
        // nohup: a launcher started ignoring hang-ups keeps ignoring them.
        if (s == SIGHUP && ignored_at_start(s)) continue;
        ::sigaddset(&blocked_, s);
    }
    for (int s : ignored_signals) ::sigaddset(&blocked_, s);
    for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) ::sigaddset(&blocked_, s);
    if (::sigprocmask(SIG_BLOCK, &blocked_, &previous_) != 0)
        throw std::system_error(errno, std::generic_category(), "sigprocmask");
    const int fd = ::signalfd(-1, &blocked_, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        const int error = errno;
        ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
        throw std::system_error(error, std::generic_category(), "signalfd");
    }
    fd_.assign(fd);
}

SignalReader::~SignalReader() {
    close();
    ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
}

void SignalReader::start(Handler handler) {
    handler_ = std::move(handler);
    read_next();
}

void SignalReader::close() {
    boost::system::error_code ignored;
    fd_.close(ignored);
}

void SignalReader::read_next() {
    fd_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec) return;
        signalfd_siginfo info{};
        // Every pending signal, one record each; standard signals pending
        // twice are one record (the kernel merges them).
        while (::read(fd_.native_handle(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            handler_({static_cast<int>(info.ssi_signo), static_cast<pid_t>(info.ssi_pid)});
            if (!fd_.is_open()) return;
        }
        read_next();
    });
}

}  // namespace launcher
