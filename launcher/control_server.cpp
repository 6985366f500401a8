#include "launcher/control_server.hpp"

#include <poll.h>
#include <unistd.h>

#include <istream>
#include <stdexcept>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "launcher/unix_socket.hpp"

namespace launcher {
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

ControlServer::ControlServer(asio::io_context& io, Fd listener, Handler handler)
    : acceptor_(io), handler_(std::move(handler)) {
    acceptor_.assign(stream(), listener.release());
    accept_next();
}

void ControlServer::close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

void ControlServer::accept_next() {
    acceptor_.async_accept([this](boost::system::error_code ec, stream::socket socket) {
        if (ec) return;  // closed
        auto conn = std::make_shared<stream::socket>(std::move(socket));
        auto buf = std::make_shared<asio::streambuf>(4096);
        asio::async_read_until(*conn, *buf, '\n', [this, conn, buf](boost::system::error_code rec, std::size_t) {
            if (rec) return;
            std::istream in(buf.get());
            std::string request;
            std::getline(in, request);
            handler_(request, [conn](const nlohmann::json& answer) {
                auto text = std::make_shared<std::string>(answer.dump() + "\n");
                asio::async_write(*conn, asio::buffer(*text), [conn, text](boost::system::error_code, std::size_t) {});
            });
        });
        accept_next();
    });
}

nlohmann::json control_request(const std::string& socket_path, const std::string& request) {
    Fd fd = connect_unix(socket_path);
    const std::string line = request + "\n";
    if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
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
    }
    auto j = nlohmann::json::parse(reply, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error("the launcher's answer is not JSON: " + reply);
    return j;
}

}  // namespace launcher
