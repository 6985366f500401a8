// Accepts connections on a listening unix socket for as long as it is open.
// A failed accept (EMFILE and ENFILE when descriptors run out, ENOBUFS,
// ECONNABORTED) never ends the loop: it tries again after a short pause,
// so a flood of clients cannot leave a socket deaf once they are gone.
#pragma once

#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include "launcher/unique_fd.hpp"

namespace launcher {

class AcceptLoop {
public:
    using Socket = boost::asio::local::stream_protocol::socket;
    using OnAccept = std::function<void(Socket)>;

    static constexpr std::chrono::milliseconds default_retry{100};

    // Takes the listener and starts accepting; each connection goes to `on_accept`.
    AcceptLoop(boost::asio::io_context& io, Fd listener, OnAccept on_accept,
               std::chrono::milliseconds retry = default_retry);
    AcceptLoop(const AcceptLoop&) = delete;
    AcceptLoop& operator=(const AcceptLoop&) = delete;

    void close();
    // How many accepts failed since the start (for tests and diagnostics).
    unsigned long failures() const { return failures_; }

private:
    void accept_next();

    boost::asio::local::stream_protocol::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    OnAccept on_accept_;
    std::chrono::milliseconds retry_;
    unsigned long failures_ = 0;
    bool closed_ = false;
};

// Writes a short line on a freshly accepted socket without waiting (its send
// buffer is empty, so it fits) and closes it: for clients that are turned away.
void refuse(AcceptLoop::Socket& socket, const std::string& line);

}  // namespace launcher
