#include "launcher/control_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <istream>
#include <stdexcept>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "launcher/unix_socket.hpp"

namespace launcher {
namespace asio = boost::asio;
using json = nlohmann::json;

struct ControlServer::Connection {
    Connection(asio::io_context& io, AcceptLoop::Socket s, std::size_t max_request)
        : socket(std::move(s)), timer(io), buffer(max_request) {}
    AcceptLoop::Socket socket;
    asio::steady_timer timer;
    asio::streambuf buffer;
    std::string answer;
    bool answered = false;
    bool closed = false;
};

namespace {

// The answer as one line; never throws (bytes that are not UTF-8 are replaced).
std::string answer_line(const json& j) {
    try {
        return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    } catch (const std::exception&) {
        return "{\"error\":\"internal error: the answer cannot be written as JSON\"}\n";
    }
}

std::string seconds(std::chrono::milliseconds d) { return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000); }

}  // namespace

std::string printable(std::string_view text, std::size_t max) {
    std::string out;
    for (const unsigned char ch : text) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            out += static_cast<char>(ch);
        } else {
            out += fmt::format("\\x{:02x}", ch);
        }
    }
    return out;
}

ControlServer::ControlServer(asio::io_context& io, Fd listener, Requests requests, Limits limits)
    : io_(io),
      requests_(std::move(requests)),
      limits_(limits),
      accept_(io, std::move(listener), [this](AcceptLoop::Socket s) { serve(std::move(s)); }, limits.accept_retry) {}

ControlServer::~ControlServer() { close(); }

void ControlServer::close() {
    accept_.close();
    for (const auto& c : connections_) {
        c->closed = true;
        boost::system::error_code ignored;
        c->socket.close(ignored);
        c->timer.cancel();
    }
    connections_.clear();
}

void ControlServer::forget(const std::shared_ptr<Connection>& c) {
    if (c->closed) return;
    c->closed = true;
    boost::system::error_code ignored;
    c->socket.close(ignored);
    c->timer.cancel();
    connections_.erase(c);
}

void ControlServer::serve(AcceptLoop::Socket socket) {
    if (connections_.size() >= limits_.max_clients) {
        refuse(socket, answer_line({{"error", fmt::format("busy: {} control clients are connected already; try again",
                                                          limits_.max_clients)}}));
        return;
    }
    auto c = std::make_shared<Connection>(io_, std::move(socket), limits_.max_request_bytes);
    connections_.insert(c);

    c->timer.expires_after(limits_.request_timeout);
    c->timer.async_wait([this, c](boost::system::error_code ec) {
        if (ec || c->closed || c->answered) return;
        refuse(c->socket, answer_line({{"error", "no request line within " + seconds(limits_.request_timeout)}}));
        forget(c);
    });
    asio::async_read_until(c->socket, c->buffer, '\n', [this, c](boost::system::error_code ec, std::size_t n) {
        if (c->closed) return;
        if (ec == asio::error::not_found) {
            refuse(c->socket, answer_line({{"error", fmt::format("request line longer than {} bytes",
                                                                 limits_.max_request_bytes)}}));
            forget(c);
            return;
        }
        if (ec) {  // the client left before a whole line
            forget(c);
            return;
        }
        std::string line(asio::buffers_begin(c->buffer.data()), asio::buffers_begin(c->buffer.data()) + n - 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        dispatch(c, line);
    });
}

void ControlServer::dispatch(const std::shared_ptr<Connection>& c, const std::string& request) {
    // One answer per connection, written with a deadline; the client may
    // have gone, or the server closed, by the time it comes.
    Reply reply = [this, c](const json& answer) {
        if (c->closed || c->answered) return;
        c->answered = true;
        c->answer = answer_line(answer);
        c->timer.expires_after(limits_.answer_timeout);
        c->timer.async_wait([this, c](boost::system::error_code ec) {
            if (!ec) forget(c);
        });
        asio::async_write(c->socket, asio::buffer(c->answer), [this, c](boost::system::error_code, std::size_t) {
            forget(c);
        });
    };

    const auto it = requests_.find(request);
    if (it == requests_.end()) {
        std::string known;
        for (const auto& [name, handler] : requests_) known += (known.empty() ? "" : ", ") + name;
        reply({{"error", fmt::format("unknown request \"{}\" (known: {})", printable(request), known)}});
        return;
    }
    c->timer.cancel();
    c->timer.expires_after(limits_.answer_timeout);
    c->timer.async_wait([c, reply](boost::system::error_code ec) {
        if (!ec && !c->answered) reply({{"error", "the launcher did not answer in time"}});
    });
    try {
        it->second(reply);
    } catch (const std::exception& e) {
        reply({{"error", std::string("internal error: ") + e.what()}});
    } catch (...) {
        reply({{"error", "internal error"}});
    }
}

nlohmann::json control_request(const std::string& socket_path, const std::string& request) {
    Fd fd = connect_unix(socket_path);
    const std::string line = request + "\n";
    if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
        throw std::runtime_error("write to " + socket_path + " failed");
    }
    std::string reply;
    char buf[4096];
    for (;;) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 10000) <= 0) throw std::runtime_error("no answer from " + socket_path + " within 10 s");
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n <= 0) break;
        reply.append(buf, static_cast<std::size_t>(n));
        if (reply.back() == '\n') break;
        if (reply.size() > (16u << 20)) throw std::runtime_error("the answer from " + socket_path + " is too long");
    }
    auto j = nlohmann::json::parse(reply, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error("the launcher's answer is not JSON: " + printable(reply, 200));
    return j;
}

}  // namespace launcher
