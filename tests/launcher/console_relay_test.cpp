// The serial console held by the launcher: the log is the guest's bytes,
// bounded by rotation; one client at a time, a second told it is busy; a
// client that stops reading never holds the guest; QEMU's last words are
// kept when it exits.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "launcher/console_relay.hpp"
#include "launcher/rotating_log.hpp"
#include "launcher/unix_socket.hpp"
#include "socket_test_support.hpp"

using namespace std::chrono_literals;
using namespace socket_test;
using launcher::ConsoleRelay;
using launcher::Fd;
using launcher::RotatingLog;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The relay over a socket pair, with the test holding QEMU's end.
struct Console {
    explicit Console(const TempDir& dir, std::uint64_t log_max = 1u << 20, ConsoleRelay::Limits limits = {})
        : pair(launcher::make_console_pair()),
          relay(io, std::move(pair.launcher_end), RotatingLog(dir / "console.log", log_max),
                launcher::listen_unix(dir / "console.sock"),
                [this](const std::string& event, const std::string&) { events.push_back(event); }, limits) {}
    boost::asio::io_context io;
    launcher::ConsolePair pair;
    std::vector<std::string> events;
    ConsoleRelay relay;
    int qemu() const { return pair.qemu_end.get(); }
};

std::string pattern(std::size_t from, std::size_t n) {
    std::string s;
    for (std::size_t i = from; i < from + n; ++i) s += static_cast<char>('a' + i % 26);
    return s;
}

}  // namespace

TEST_CASE("the guest's output goes to the log byte for byte, with nobody attached") {
    TempDir dir;
    Console c(dir);
    const std::string bytes = std::string("VMIL: boot ok\r\n\xff\xfe\0binary\r\n", 24) + "VMIL: waiting\r\n";
    send_all(c.qemu(), bytes);
    REQUIRE(run_until(c.io, [&] { return c.relay.log().size() == bytes.size(); }));
    CHECK(slurp(dir / "console.log") == bytes);
    struct stat st{};
    REQUIRE(::stat((dir / "console.log").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("the log rotates at its size: FILE.1 and FILE, each at most SIZE, the newest in FILE") {
    TempDir dir;
    {
        RotatingLog log(dir / "l", 1000);
        for (std::size_t at = 0; at < 2500; at += 300) CHECK(log.write(pattern(at, std::min<std::size_t>(300, 2500 - at))).empty());
    }
    CHECK(slurp(dir / "l.1") == pattern(1000, 1000));
    CHECK(slurp(dir / "l") == pattern(2000, 500));
    // An existing file is appended to and counts toward the size.
    {
        RotatingLog log(dir / "l", 1000);
        CHECK(log.size() == 500);
        CHECK(log.write(pattern(2500, 600)).empty());
    }
    CHECK(slurp(dir / "l.1") == pattern(2000, 1000));
    CHECK(slurp(dir / "l") == pattern(3000, 100));
    // One write larger than two files keeps only what fits.
    {
        RotatingLog log(dir / "big", 100);
        CHECK(log.write(pattern(0, 1050)).empty());
    }
    CHECK(slurp(dir / "big.1") == pattern(900, 100));
    CHECK(slurp(dir / "big") == pattern(1000, 50));
}

TEST_CASE("--console-log-max takes a quantity within bounds") {
    CHECK(launcher::parse_console_log_max("8Mi") == 8u << 20);
    CHECK(launcher::parse_console_log_max("64Ki") == 64u << 10);
    CHECK_THROWS_WITH(launcher::parse_console_log_max("lots"), Catch::Contains("--console-log-max: \"lots\""));
    CHECK_THROWS_WITH(launcher::parse_console_log_max("1k"), Catch::Contains("outside"));
    CHECK_THROWS_WITH(launcher::parse_console_log_max("1Ti"), Catch::Contains("outside"));
    CHECK_THROWS_WITH(launcher::parse_console_log_max("-1Mi"), Catch::Contains("outside"));
}

TEST_CASE("one console client at a time: a second is told the console is busy; input reaches the guest") {
    TempDir dir;
    Console c(dir);
    Fd a = connect_to(dir / "console.sock");
    REQUIRE(run_until(c.io, [&] { return c.relay.attached(); }));

    Fd b = connect_to(dir / "console.sock");
    REQUIRE(b);
    std::string busy;
    const bool told = run_until(c.io, [&] {
        busy += read_reply(b.get(), 1ms, false);
        return busy.find('\n') != std::string::npos;
    });
    INFO("busy: [" << busy << "] events " << c.events.size() << " attached " << c.relay.attached());
    REQUIRE(told);
    CHECK_THAT(busy, Catch::StartsWith(std::string(launcher::console_busy_prefix)));
    CHECK(closed_within(b.get(), 1s));
    CHECK(c.relay.attached());  // the first client keeps the console

    send_all(c.qemu(), "login: ");
    std::string seen;
    REQUIRE(run_until(c.io, [&] {
        seen += read_reply(a.get(), 1ms, false);
        return seen == "login: ";
    }));
    send_all(a.get(), "root\r");
    std::string typed;
    REQUIRE(run_until(c.io, [&] {
        typed += read_reply(c.qemu(), 1ms, false);
        return typed == "root\r";
    }));

    // Detached, the console is free for the next client.
    a.reset();
    REQUIRE(run_until(c.io, [&] { return !c.relay.attached(); }));
    Fd next = connect_to(dir / "console.sock");
    REQUIRE(run_until(c.io, [&] { return c.relay.attached(); }));
    CHECK(std::count(c.events.begin(), c.events.end(), "console_busy") == 1);
}

TEST_CASE("a client that stops reading never holds the guest: it is dropped, the log has everything") {
    TempDir dir;
    ConsoleRelay::Limits limits;
    limits.client_backlog = 64u << 10;
    Console c(dir, 64u << 20, limits);
    Fd sleeper = connect_to(dir / "console.sock");
    REQUIRE(run_until(c.io, [&] { return c.relay.attached(); }));

    const std::size_t total = 8u << 20;
    std::atomic<bool> written{false};
    std::thread guest([&] {
        send_all(c.qemu(), pattern(0, total));
        written = true;
    });
    const bool done = run_until(c.io, [&] { return written && c.relay.log().size() == total; }, 20s);
    if (!done) ::shutdown(c.qemu(), SHUT_RDWR);
    guest.join();
    REQUIRE(done);
    CHECK_FALSE(c.relay.attached());
    CHECK(std::count(c.events.begin(), c.events.end(), "console_detached") == 1);
    CHECK(slurp(dir / "console.log") == pattern(0, total));
}

TEST_CASE("when QEMU exits, close() keeps its last output without running the loop again") {
    TempDir dir;
    Console c(dir);
    send_all(c.qemu(), "VMIL: poweroff\r\n[    5.35] reboot: Power down\r\n");
    c.pair.qemu_end.reset();
    c.relay.close();
    CHECK(slurp(dir / "console.log") == "VMIL: poweroff\r\n[    5.35] reboot: Power down\r\n");
    // The socket is gone with it: a client now is refused.
    CHECK_FALSE(connect_to(dir / "console.sock"));
}
