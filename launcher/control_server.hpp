// The launcher's control socket (<state dir>/control.sock): one request per
// connection, a line of text in ("status"), a line of JSON out. This is how
// `vmi-launcher status` reaches a running launcher: QEMU's QMP socket is the
// launcher's own.
//
// Nothing a client sends can end the launcher or the VM: a request line is
// read with a bound, bytes that are not a known request get an error reply
// (never echoed raw), an exception from a handler becomes an error reply, a
// client that says nothing is dropped after a few seconds, and at most a
// fixed number of clients are served at once (the rest are told so and
// closed), so clients cannot use up the launcher's descriptors.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "launcher/accept_loop.hpp"
#include "launcher/unique_fd.hpp"

namespace launcher {

class ControlServer {
public:
    // Answers a request; may be called later (after QMP answered), at most once.
    using Reply = std::function<void(const nlohmann::json&)>;
    using Handler = std::function<void(Reply reply)>;
    using Requests = std::map<std::string, Handler>;  // request line -> handler

    struct Limits {
        std::size_t max_request_bytes = 4096;               // the request line with its newline
        std::size_t max_clients = 16;                       // served at once
        std::chrono::milliseconds request_timeout{5000};    // to send the request line
        std::chrono::milliseconds answer_timeout{10000};    // to answer, and for the client to take the answer
        std::chrono::milliseconds accept_retry = AcceptLoop::default_retry;
    };

    ControlServer(boost::asio::io_context& io, Fd listener, Requests requests, Limits limits);
    ControlServer(boost::asio::io_context& io, Fd listener, Requests requests)
        : ControlServer(io, std::move(listener), std::move(requests), Limits{}) {}
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Stops accepting and drops every client.
    void close();
    std::size_t clients() const { return connections_.size(); }
    const AcceptLoop& accept_loop() const { return accept_; }

    struct Connection;

private:
    void serve(AcceptLoop::Socket socket);
    void dispatch(const std::shared_ptr<Connection>& c, const std::string& request);
    void forget(const std::shared_ptr<Connection>& c);

    boost::asio::io_context& io_;
    Requests requests_;
    Limits limits_;
    std::set<std::shared_ptr<Connection>> connections_;
    AcceptLoop accept_;
};

// A request as it may be shown back to the user: printable ASCII, other
// bytes as \xNN, at most `max` characters.
std::string printable(std::string_view text, std::size_t max = 64);

// Client side: sends `request` to the socket and returns the reply line.
// Throws std::system_error when the socket cannot be reached (the code says
// why), std::runtime_error when the answer is missing or not JSON.
nlohmann::json control_request(const std::string& socket_path, const std::string& request);

}  // namespace launcher
