#include "launcher/accept_loop.hpp"

#include <sys/socket.h>

#include <boost/asio/error.hpp>

namespace launcher {
namespace asio = boost::asio;

AcceptLoop::AcceptLoop(asio::io_context& io, Fd listener, OnAccept on_accept, std::chrono::milliseconds retry)
    : acceptor_(io), retry_timer_(io), on_accept_(std::move(on_accept)), retry_(retry) {
    acceptor_.assign(asio::local::stream_protocol(), listener.release());
    accept_next();
}

void AcceptLoop::close() {
    closed_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
}

void AcceptLoop::accept_next() {
    acceptor_.async_accept([this](boost::system::error_code ec, Socket socket) {
        if (closed_ || ec == asio::error::operation_aborted) return;
        if (ec) {
            // Out of descriptors or buffers: the pending connection stays
            // queued; try again once others may have closed.
            ++failures_;
            retry_timer_.expires_after(retry_);
            retry_timer_.async_wait([this](boost::system::error_code tec) {
                if (!tec && !closed_) accept_next();
            });
            return;
        }
        on_accept_(std::move(socket));
        accept_next();
    });
}

void refuse(AcceptLoop::Socket& socket, const std::string& line) {
    // MSG_DONTWAIT: never block the event loop; MSG_NOSIGNAL: a client that
    // already left must not raise SIGPIPE.
    (void)::send(socket.native_handle(), line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    boost::system::error_code ignored;
    socket.close(ignored);
}

}  // namespace launcher
