// A QMP client on Boost.Asio: connects to QEMU's monitor socket, negotiates
// capabilities, matches replies to commands by id, and hands out events.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <system_error>

// Single headers: boost/asio.hpp pulls awaitable.hpp, which misses <utility>
// in Boost 1.74 under C++20.
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "launcher/line_reader.hpp"
#include "launcher/qmp_message.hpp"

namespace launcher::qmp {

// The longest QMP line taken (QEMU's replies to the launcher's commands are
// a few KiB); a longer one ends the connection as a protocol error.
inline constexpr std::size_t max_line_bytes = 1 << 20;

class Client {
public:
    using ReplyHandler = std::function<void(const Reply&)>;
    using EventHandler = std::function<void(const Event&)>;
    // Called once: with no error when capabilities are negotiated, or with
    // the error that ended the connection.
    using ReadyHandler = std::function<void(const std::string& error)>;
    using ClosedHandler = std::function<void(const std::string& why)>;

    explicit Client(boost::asio::io_context& io);

    void on_event(EventHandler h) { on_event_ = std::move(h); }
    void on_closed(ClosedHandler h) { on_closed_ = std::move(h); }

    // Connects to `socket_path`, reads the greeting, sends qmp_capabilities.
    void connect(const std::string& socket_path, ReadyHandler ready);
    // The same over a socket already connected (blocking connect of a long
    // path, see unix_socket.hpp); takes ownership of `fd`.
    void adopt(int fd, ReadyHandler ready);

    // Sends a command; `done` gets its reply (or a failed Reply when the
    // connection closes first).
    void execute(std::string_view command, const nlohmann::json& arguments = {}, ReplyHandler done = {});

    bool ready() const { return ready_; }
    const std::string& qemu_version() const { return version_; }
    void close();

private:
    void read_lines();
    void handle_line(const std::string& line);
    void fail_all(const std::string& why);

    boost::asio::local::stream_protocol::socket socket_;
    LineReader<boost::asio::local::stream_protocol::socket> reader_;
    std::map<std::int64_t, ReplyHandler> pending_;
    std::int64_t next_id_ = 1;
    bool ready_ = false;
    bool closed_ = false;
    std::string version_;
    ReadyHandler on_ready_;
    EventHandler on_event_;
    ClosedHandler on_closed_;
};

}  // namespace launcher::qmp
