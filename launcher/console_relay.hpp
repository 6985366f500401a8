// The VM's serial console, held by the launcher. QEMU's serial chardev is
// one end of a socket pair made before QEMU starts; the launcher keeps the
// other end for the VM's whole life and:
// - reads the guest's output at once, always (the guest never waits for a
//   slow reader), and appends it byte for byte to the console log, which
//   rotates at a bounded size (rotating_log.hpp);
// - serves `vmi-launcher console` on <state dir>/console.sock, one client at
//   a time: it gets the output from the moment it attaches, and what it
//   types goes to the guest. A second client is told "console busy" and
//   closed. A client that stops reading is dropped once a bounded backlog
//   of output is waiting for it, rather than holding the guest or memory.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "launcher/accept_loop.hpp"
#include "launcher/rotating_log.hpp"
#include "launcher/unique_fd.hpp"

namespace launcher {

// The first bytes a turned-away console client reads.
inline constexpr std::string_view console_busy_prefix = "vmi-launcher: console busy";

// Both ends of the serial console's socket pair (close-on-exec).
struct ConsolePair {
    Fd launcher_end;
    Fd qemu_end;
};
ConsolePair make_console_pair();

class ConsoleRelay {
public:
    struct Limits {
        std::size_t client_backlog = 1u << 20;  // output waiting for an attached client
        std::chrono::milliseconds accept_retry = AcceptLoop::default_retry;
    };
    // Called for what is worth a log line: event, message.
    using Notify = std::function<void(const std::string& event, const std::string& message)>;

    ConsoleRelay(boost::asio::io_context& io, Fd guest, RotatingLog log, Fd listener, Notify notify, Limits limits);
    ConsoleRelay(boost::asio::io_context& io, Fd guest, RotatingLog log, Fd listener, Notify notify)
        : ConsoleRelay(io, std::move(guest), std::move(log), std::move(listener), std::move(notify), Limits{}) {}
    ~ConsoleRelay();
    ConsoleRelay(const ConsoleRelay&) = delete;
    ConsoleRelay& operator=(const ConsoleRelay&) = delete;

    // QEMU is gone: takes what it wrote last into the log (without waiting),
    // lets the client go and stops accepting.
    void close();
    bool attached() const { return client_ != nullptr; }
    const RotatingLog& log() const { return log_; }

    struct Client;

private:
    void read_guest();
    void output(std::string_view data);
    void serve(AcceptLoop::Socket socket);
    void pump_input();
    void write_client(const std::shared_ptr<Client>& c);
    void drop_client(const std::string& why);

    boost::asio::local::stream_protocol::socket guest_;
    RotatingLog log_;
    Notify notify_;
    Limits limits_;
    std::array<char, 16384> buffer_{};
    std::shared_ptr<Client> client_;
    bool guest_writing_ = false;
    bool log_failing_ = false;
    bool closed_ = false;
    AcceptLoop accept_;
};

}  // namespace launcher
