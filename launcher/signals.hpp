// The launcher's signals while it supervises a VM, read in its event loop
// from a signalfd (no logic in signal handlers, and the sender of each is
// known):
//   SIGTERM, SIGINT, SIGQUIT, SIGHUP  a request to shut the VM down (SIGHUP
//       stays ignored when the launcher was started ignoring it, as nohup does)
//   SIGCHLD                          a child exited: reap
//   SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGXCPU and
//   the real-time signals            logged and ignored: their default action
//       would end the launcher and, with it, the VM
// SIGPIPE and SIGXFSZ are ignored for the whole process (main.cpp): a write
// to a closed log reader or past a file size limit fails instead.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace launcher {

enum class SignalAction { shutdown, reap, ignore };

// What the supervisor does with `signo` (one of those blocked by SignalReader).
SignalAction signal_action(int signo);

struct ReceivedSignal {
    int signo = 0;
    pid_t sender = 0;  // 0 for the kernel (a terminal's Ctrl-C)
};

// Tells a second shutdown request from the same one delivered twice:
// timeout(1) and a shell's job control signal the launcher and then its
// process group, so one request arrives as two signals from one sender
// within microseconds. A signal from the sender of the last request within
// `window` is the same request. Pure: the caller gives the time.
class ShutdownRequests {
public:
    explicit ShutdownRequests(std::chrono::milliseconds window) : window_(window) {}
    // True when this signal is a new request (the first, or a second one).
    bool is_new(pid_t sender, std::chrono::steady_clock::time_point at);

private:
    std::chrono::milliseconds window_;
    std::optional<pid_t> last_sender_;
    std::chrono::steady_clock::time_point last_at_{};
};

// Blocks the signals above (all threads are started later and inherit the
// mask; a child's is cleared before exec in spawn.cpp) and reads them from a
// signalfd. The destructor unblocks them again.
class SignalReader {
public:
    using Handler = std::function<void(const ReceivedSignal&)>;

    explicit SignalReader(boost::asio::io_context& io);
    ~SignalReader();
    SignalReader(const SignalReader&) = delete;
    SignalReader& operator=(const SignalReader&) = delete;

    // Calls `handler` for every signal until close().
    void start(Handler handler);
    void close();

private:
    void read_next();

    boost::asio::posix::stream_descriptor fd_;
    sigset_t blocked_{};
    sigset_t previous_{};
    Handler handler_;
};

}  // namespace launcher
