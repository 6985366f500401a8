// The one read loop for the byte streams the launcher does not control
// (QEMU's standard error, its QMP socket): lines split at '\n', each kept up
// to a bound, the rest of a longer line counted and dropped. Memory stays
// the 4 KiB chunk plus one bounded line, whatever the other side writes.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <functional>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

namespace launcher {

struct Line {
    std::string text;          // at most the reader's max_line bytes, without '\n' (and a '\r' before it)
    std::size_t dropped = 0;   // bytes of the line beyond max_line, not kept
    bool complete = true;      // false: the stream ended before the newline
};

// Reads from `Stream` (any Asio stream: a socket, an async_pipe) until it
// ends. on_line returns false to stop reading; on_end gets eof or the error
// (not called after on_line said stop). The reader and the stream must
// outlive the reading.
template <typename Stream>
class LineReader {
public:
    using LineHandler = std::function<bool(Line&&)>;
    using EndHandler = std::function<void(const boost::system::error_code&)>;

    LineReader(Stream& stream, std::size_t max_line) : stream_(stream), max_line_(max_line) {}

    void start(LineHandler on_line, EndHandler on_end) {
        on_line_ = std::move(on_line);
        on_end_ = std::move(on_end);
        read_more();
    }

private:
    void read_more() {
        stream_.async_read_some(boost::asio::buffer(chunk_),
                                [this](const boost::system::error_code& ec, std::size_t n) {
                                    if (!consume(n)) return;
                                    if (!ec) {
                                        read_more();
                                        return;
                                    }
                                    // QEMU's last words may lack a newline.
                                    if (!line_.text.empty() || line_.dropped > 0) {
                                        line_.complete = false;
                                        if (!deliver()) return;
                                    }
                                    on_end_(ec);
                                });
    }

    // Splits the chunk's n bytes into lines; false when on_line said stop.
    bool consume(std::size_t n) {
        const char* p = chunk_.data();
        const char* end = p + n;
        while (p < end) {
            const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
            const char* stop = nl ? nl : end;
            const auto size = static_cast<std::size_t>(stop - p);
            const std::size_t keep = std::min(size, max_line_ - line_.text.size());
            line_.text.append(p, keep);
            line_.dropped += size - keep;
            p = stop;
            if (!nl) break;
            ++p;
            if (!line_.text.empty() && line_.text.back() == '\r' && line_.dropped == 0) line_.text.pop_back();
            if (!deliver()) return false;
        }
        return true;
    }

    bool deliver() {
        Line done = std::move(line_);
        line_ = Line{};
        return on_line_(std::move(done));
    }

    Stream& stream_;
    const std::size_t max_line_;
    std::array<char, 4096> chunk_{};
    Line line_;
    LineHandler on_line_;
    EndHandler on_end_;
};

}  // namespace launcher
