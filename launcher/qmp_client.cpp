#include "launcher/qmp_client.hpp"

#include <memory>

#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace launcher::qmp {

namespace asio = boost::asio;

Client::Client(asio::io_context& io) : socket_(io), reader_(socket_, max_line_bytes) {}

void Client::connect(const std::string& socket_path, ReadyHandler ready) {
    on_ready_ = std::move(ready);
    socket_.async_connect(asio::local::stream_protocol::endpoint(socket_path), [this](boost::system::error_code ec) {
        if (ec) {
            fail_all("cannot connect to QMP: " + ec.message());
            return;
        }
        read_lines();
    });
}

void Client::adopt(int fd, ReadyHandler ready) {
    on_ready_ = std::move(ready);
    boost::system::error_code ec;
    socket_.assign(asio::local::stream_protocol(), fd, ec);
    if (ec) {
        fail_all("cannot use the QMP socket: " + ec.message());
        return;
    }
    read_lines();
}

void Client::read_lines() {
    reader_.start(
        [this](Line&& line) {
            if (closed_) return false;
            if (line.dropped > 0) {
                fail_all(fmt::format("QMP sent a line longer than {} bytes", max_line_bytes));
                return false;
            }
            if (line.text.empty()) return true;
            try {
                handle_line(line.text);
            } catch (const std::exception& e) {
                fail_all(e.what());
                return false;
            }
            return !closed_;
        },
        [this](const boost::system::error_code& ec) {
            fail_all(ec == asio::error::eof ? "QEMU closed the QMP connection" : "QMP read failed: " + ec.message());
        });
}

void Client::handle_line(const std::string& line) {
    Message m = parse_message(line);
    if (auto* g = std::get_if<Greeting>(&m)) {
        version_ = g->version;
        execute("qmp_capabilities", {}, [this](const Reply& r) {
            ready_ = r.ok;
            if (on_ready_) {
                auto ready = std::move(on_ready_);
                on_ready_ = nullptr;
                ready(r.ok ? "" : "qmp_capabilities failed: " + r.error_desc);
            }
        });
    } else if (auto* r = std::get_if<Reply>(&m)) {
        if (!r->id) return;
        auto it = pending_.find(*r->id);
        if (it == pending_.end()) return;
        auto done = std::move(it->second);
        pending_.erase(it);
        if (done) done(*r);
    } else if (auto* e = std::get_if<Event>(&m)) {
        if (on_event_) on_event_(*e);
    }
}

void Client::execute(std::string_view command, const nlohmann::json& arguments, ReplyHandler done) {
    if (closed_) {
        if (done) {
            Reply r;
            r.ok = false;
            r.error_class = "Disconnected";
            r.error_desc = "the QMP connection is closed";
            done(r);
        }
        return;
    }
    const std::int64_t id = next_id_++;
    pending_[id] = std::move(done);
    auto text = std::make_shared<std::string>(command_text(command, arguments, id));
    asio::async_write(socket_, asio::buffer(*text), [this, text](boost::system::error_code ec, std::size_t) {
        if (ec) fail_all("QMP write failed: " + ec.message());
    });
}

void Client::fail_all(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    ready_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
    if (on_ready_) {
        auto ready = std::move(on_ready_);
        on_ready_ = nullptr;
        ready(why);
    }
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, done] : pending) {
        if (!done) continue;
        Reply r;
        r.id = id;
        r.ok = false;
        r.error_class = "Disconnected";
        r.error_desc = why;
        done(r);
    }
    if (on_closed_) on_closed_(why);
}

void Client::close() { fail_all("closed by the launcher"); }

}  // namespace launcher::qmp
