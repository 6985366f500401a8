// The one read loop: lines bounded, the rest counted, the end reported.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "launcher/line_reader.hpp"

using namespace launcher;
namespace asio = boost::asio;

namespace {

// Everything `input` gives, read by a LineReader with lines of at most `max_line` bytes.
std::vector<Line> read_lines(const std::string& input, std::size_t max_line, bool stop_after_first = false) {
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    asio::io_context io;
    asio::local::stream_protocol::socket socket(io);
    socket.assign(asio::local::stream_protocol(), pair[0]);
    std::thread writer([&] {
        std::size_t done = 0;
        while (done < input.size()) {
            const ssize_t n = ::write(pair[1], input.data() + done, input.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        ::close(pair[1]);
    });
    std::vector<Line> lines;
    bool ended = false;
    LineReader<asio::local::stream_protocol::socket> reader(socket, max_line);
    reader.start(
        [&](Line&& l) {
            lines.push_back(std::move(l));
            return !stop_after_first;
        },
        [&](const boost::system::error_code& ec) {
            CHECK(ec == asio::error::eof);
            ended = true;
        });
    io.run();
    if (stop_after_first) socket.close();
    writer.join();
    CHECK(ended != stop_after_first);
    return lines;
}

}  // namespace

TEST_CASE("lines split at newlines, CR LF taken, a last line without newline kept") {
    const auto lines = read_lines("one\r\ntwo\n\nlast words", 100);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].text == "one");
    CHECK(lines[1].text == "two");
    CHECK(lines[2].text.empty());
    CHECK(lines[3].text == "last words");
    CHECK_FALSE(lines[3].complete);
    CHECK(lines[0].complete);
}

TEST_CASE("a line longer than the bound: its start kept, the rest counted") {
    const std::string huge(5 << 20, 'x');
    const auto lines = read_lines(huge + "\nnext\n", 4096);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].text == std::string(4096, 'x'));
    CHECK(lines[0].dropped == huge.size() - 4096);
    CHECK(lines[1].text == "next");
    CHECK(lines[1].dropped == 0);
}

TEST_CASE("the handler stops the reading") {
    const auto lines = read_lines("a\nb\nc\n", 10, true);
    CHECK(lines.size() == 1);
}
