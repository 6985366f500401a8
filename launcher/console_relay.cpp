#include "launcher/console_relay.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace launcher {
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

struct ConsoleRelay::Client {
    explicit Client(AcceptLoop::Socket s) : socket(std::move(s)) {}
    AcceptLoop::Socket socket;
    std::string pending;  // output not yet handed to the socket
    std::string writing;  // output being written
    bool writing_now = false;
    bool reading = false;
    std::array<char, 4096> input{};
};

ConsolePair make_console_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        throw std::system_error(errno, std::generic_category(), "socketpair for the serial console");
    }
    return {Fd(fds[0]), Fd(fds[1])};
}

ConsoleRelay::ConsoleRelay(asio::io_context& io, Fd guest, RotatingLog log, Fd listener, Notify notify, Limits limits)
    : guest_(io),
      log_(std::move(log)),
      notify_(std::move(notify)),
      limits_(limits),
      accept_(io, std::move(listener), [this](AcceptLoop::Socket s) { serve(std::move(s)); }, limits.accept_retry) {
    guest_.assign(stream(), guest.release());
    read_guest();
}

ConsoleRelay::~ConsoleRelay() { close(); }

void ConsoleRelay::read_guest() {
    guest_.async_read_some(asio::buffer(buffer_), [this](boost::system::error_code ec, std::size_t n) {
        if (closed_) return;
        if (n > 0) output(std::string_view(buffer_.data(), n));
        if (ec) return;  // QEMU closed its end: it is exiting
        read_guest();
    });
}

void ConsoleRelay::output(std::string_view data) {
    const std::string error = log_.write(data);
    if (!error.empty() && !log_failing_) {
        notify_("console_log_failed", "the console log lost output: " + error);
    } else if (error.empty() && log_failing_) {
        notify_("console_log_resumed", "the console log is written again: " + log_.path().string());
    }
    log_failing_ = !error.empty();

    if (!client_) return;
    if (client_->pending.size() + data.size() > limits_.client_backlog) {
        drop_client(fmt::format("the console client did not read {} bytes of output: detached", limits_.client_backlog));
        return;
    }
    client_->pending.append(data);
    if (!client_->writing_now) write_client(client_);
}

void ConsoleRelay::write_client(const std::shared_ptr<Client>& c) {
    c->writing.clear();
    std::swap(c->writing, c->pending);
    c->writing_now = true;
    asio::async_write(c->socket, asio::buffer(c->writing), [this, c](boost::system::error_code ec, std::size_t) {
        c->writing_now = false;
        if (closed_ || c != client_) return;
        if (ec) {
            drop_client("the console client went away");
            return;
        }
        if (!c->pending.empty()) write_client(c);
    });
}

void ConsoleRelay::serve(AcceptLoop::Socket socket) {
    if (closed_) return;
    if (client_) {
        refuse(socket, std::string(console_busy_prefix) + ": another client is attached to this VM's serial console\r\n");
        notify_("console_busy", "a second console client was turned away");
        return;
    }
    client_ = std::make_shared<Client>(std::move(socket));
    notify_("console_attached", "a console client attached");
    pump_input();
}

// Input flows one chunk at a time: read from the client, write all of it to
// the guest, read again. A client typing faster than the guest takes it
// waits in its own socket; one write to the guest is in flight at most,
// even across a detach and a new attach.
void ConsoleRelay::pump_input() {
    if (closed_ || !client_ || client_->reading || guest_writing_) return;
    auto c = client_;
    c->reading = true;
    c->socket.async_read_some(asio::buffer(c->input), [this, c](boost::system::error_code ec, std::size_t n) {
        c->reading = false;
        if (closed_ || c != client_) return;
        if (ec) {
            drop_client("");
            return;
        }
        guest_writing_ = true;
        asio::async_write(guest_, asio::buffer(c->input.data(), n), [this](boost::system::error_code, std::size_t) {
            guest_writing_ = false;
            // A failed write means QEMU is gone; close() follows.
            pump_input();
        });
    });
}

void ConsoleRelay::drop_client(const std::string& why) {
    if (!client_) return;
    boost::system::error_code ignored;
    client_->socket.close(ignored);
    client_.reset();
    notify_("console_detached", why.empty() ? "the console client detached" : why);
}

void ConsoleRelay::close() {
    if (closed_) return;
    closed_ = true;
    accept_.close();
    // What QEMU wrote before it exited is in the socket: read it all now.
    boost::system::error_code ec;
    guest_.cancel(ec);
    guest_.non_blocking(true, ec);
    for (;;) {
        const std::size_t n = guest_.read_some(asio::buffer(buffer_), ec);
        if (n > 0) {
            (void)log_.write(std::string_view(buffer_.data(), n));
            if (client_) client_->pending.append(buffer_.data(), n);
        }
        if (ec || n == 0) break;
    }
    guest_.close(ec);
    if (client_) {
        // The last words, if the client takes them now; it is not waited for.
        const std::string& rest = client_->pending;
        if (!client_->writing_now && !rest.empty()) {
            (void)::send(client_->socket.native_handle(), rest.data(), rest.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        client_->socket.close(ec);
        client_.reset();
    }
}

}  // namespace launcher
