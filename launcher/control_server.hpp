// The launcher's control socket (<state dir>/control.sock): one request per
// connection, a line of text in ("status"), a line of JSON out. This is how
// `vmi-launcher status` reaches a running launcher: QEMU's QMP socket is the
// launcher's own.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include "launcher/unique_fd.hpp"

namespace launcher {

class ControlServer {
public:
    using Reply = std::function<void(const nlohmann::json&)>;
    using Handler = std::function<void(const std::string& request, Reply reply)>;

    ControlServer(boost::asio::io_context& io, Fd listener, Handler handler);
    void close();

private:
    void accept_next();

    boost::asio::local::stream_protocol::acceptor acceptor_;
    Handler handler_;
};

// Client side: sends `request` to the socket and returns the reply line.
nlohmann::json control_request(const std::string& socket_path, const std::string& request);

}  // namespace launcher
