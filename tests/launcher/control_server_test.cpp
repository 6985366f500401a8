// The control socket against hostile and careless clients: bad bytes, bad
// lines, endless lines, silent clients, too many clients, descriptors
// running out. After each, a good `status` request is still answered.
// Also what `status` and `console` say when the launcher is gone, and a
// status while QEMU does not answer.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <nlohmann/json.hpp>

#include "launcher/commands.hpp"
#include "launcher/control_server.hpp"
#include "launcher/qmp_client.hpp"
#include "launcher/status_report.hpp"
#include "launcher/unix_socket.hpp"
#include "socket_test_support.hpp"

using namespace std::chrono_literals;
using namespace socket_test;
using json = nlohmann::json;
using launcher::ControlServer;
using launcher::Fd;

namespace {

ControlServer::Requests requests() {
    return {{"status", [](ControlServer::Reply reply) { reply({{"status", "running"}}); }},
            {"boom", [](ControlServer::Reply) -> void { throw std::runtime_error("kaboom"); }}};
}

// The server's io_context on its own thread, stopped and joined on the way out.
class Running {
public:
    explicit Running(boost::asio::io_context& io) : io_(io), guard_(io.get_executor()), thread_([&io] { io.run(); }) {}
    ~Running() {
        io_.stop();
        thread_.join();
    }

private:
    boost::asio::io_context& io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    std::thread thread_;
};

json ask(const std::filesystem::path& socket, std::string_view bytes) {
    Fd c = connect_to(socket);
    REQUIRE(c);
    send_all(c.get(), bytes);
    const std::string reply = read_reply(c.get(), 5s);
    INFO("reply: " << reply);
    REQUIRE_FALSE(reply.empty());
    CHECK(reply.back() == '\n');
    const json j = json::parse(reply, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

// A control server on <temp dir>/control.sock, running on its own thread.
struct ServedControl {
    explicit ServedControl(ControlServer::Limits limits = {}, int backlog = 4)
        : server(io, launcher::listen_unix(sock, backlog), requests(), limits) {}

    TempDir dir;
    boost::asio::io_context io;
    const std::filesystem::path sock = dir / "control.sock";
    ControlServer server;
    Running running{io};
};

void check_status_answered(const std::filesystem::path& socket) {
    CHECK(ask(socket, "status\n") == json{{"status", "running"}});
}

}  // namespace

TEST_CASE("bad bytes, unknown requests and a failing handler get an error reply; status still works") {
    const ServedControl served;
    const auto& sock = served.sock;

    // Invalid UTF-8 once made the reply (which echoed it) throw in the event loop.
    const json bad = ask(sock, "\xff\n");
    CHECK_THAT(bad["error"].get<std::string>(), Catch::Contains("unknown request \"\\xff\"") && Catch::Contains("status"));
    CHECK_THAT(ask(sock, "{\"execute\": \"quit\"\n")["error"].get<std::string>(), Catch::Contains("unknown request"));
    CHECK_THAT(ask(sock, "\n")["error"].get<std::string>(), Catch::Contains("unknown request \"\""));
    CHECK_THAT(ask(sock, std::string("stat\0us\n", 8))["error"].get<std::string>(), Catch::Contains("stat\\x00us"));
    CHECK_THAT(ask(sock, "boom\n")["error"].get<std::string>(), Catch::Contains("internal error: kaboom"));
    // A CR LF line ending is a line ending.
    CHECK(ask(sock, "status\r\n") == json{{"status", "running"}});
    // A client that leaves halfway through a line.
    {
        Fd c = connect_to(sock);
        send_all(c.get(), "sta");
    }
    check_status_answered(sock);
}

TEST_CASE("a request line over 4 KiB is refused without reading the rest; status still works") {
    const ServedControl served;
    const auto& sock = served.sock;

    Fd c = connect_to(sock);
    REQUIRE(c);
    std::thread writer([fd = c.get()] { send_all(fd, std::string(1 << 20, 'a')); });
    const std::string reply = read_reply(c.get(), 5s);
    ::shutdown(c.get(), SHUT_RDWR);
    writer.join();
    INFO(reply);
    CHECK_THAT(reply, Catch::Contains("request line longer than 4096 bytes"));
    // 4095 bytes and the newline are still a request (an unknown one).
    CHECK_THAT(ask(sock, std::string(4095, 'b') + "\n")["error"].get<std::string>(), Catch::Contains("unknown request"));
    check_status_answered(sock);
}

TEST_CASE("silent clients are dropped after the request timeout; beyond the client limit, clients are told so") {
    ControlServer::Limits limits;
    limits.max_clients = 4;
    limits.request_timeout = 300ms;
    const ServedControl served(limits, 64);
    const auto& sock = served.sock;

    std::vector<Fd> idle;
    for (int i = 0; i < 4; ++i) idle.push_back(connect_to(sock));
    std::this_thread::sleep_for(100ms);
    // The fifth is answered at once, and closed.
    Fd extra = connect_to(sock);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string busy = read_reply(extra.get(), 2s);
    CHECK(std::chrono::steady_clock::now() - t0 < 250ms);
    CHECK_THAT(busy, Catch::Contains("busy") && Catch::Contains("4 control clients"));
    CHECK(closed_within(extra.get(), 1s));
    // The silent ones are told why and closed.
    for (auto& c : idle) {
        CHECK_THAT(read_reply(c.get(), 2s), Catch::Contains("no request line within 0.3 s"));
        CHECK(closed_within(c.get(), 1s));
    }
    check_status_answered(sock);
}

TEST_CASE("running out of descriptors (EMFILE) does not stop the accept loop for good") {
    TempDir dir;
    const auto sock = dir / "control.sock";
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The server, in a process whose descriptor limit leaves room for two clients.
        ::close(ready[0]);
        boost::asio::io_context io;
        ControlServer::Limits limits;
        limits.request_timeout = 60s;  // the clients' own closing frees the descriptors
        limits.accept_retry = 50ms;
        ControlServer server(io, launcher::listen_unix(sock, 64), requests(), limits);
        const int lowest_free = ::dup(0);
        ::close(lowest_free);
        const rlimit r{static_cast<rlim_t>(lowest_free + 2), static_cast<rlim_t>(lowest_free + 2)};
        if (::setrlimit(RLIMIT_NOFILE, &r) != 0) ::_exit(3);
        (void)!::write(ready[1], "r", 1);
        io.run();
        ::_exit(0);
    }
    ::close(ready[1]);
    struct Reap {
        pid_t pid;
        ~Reap() {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    } reap{child};
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);

    // Ten clients: two are accepted, then accept fails with EMFILE.
    std::vector<Fd> clients;
    for (int i = 0; i < 10; ++i) clients.push_back(connect_to(sock, true));
    std::this_thread::sleep_for(300ms);
    clients.clear();
    // Once they are gone, a new client is answered.
    Fd s = connect_to(sock);
    REQUIRE(s);
    send_all(s.get(), "status\n");
    const std::string reply = read_reply(s.get(), 3s);
    CHECK(reply == "{\"status\":\"running\"}\n");
}

TEST_CASE("status answers with the launcher's own figures when QEMU does not answer QMP") {
    boost::asio::io_context io;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    Fd qemu_side(fds[1]);  // a QEMU that is stopped: it never reads or answers
    launcher::qmp::Client qmp(io);
    qmp.adopt(fds[0], {});

    launcher::StatusFacts facts;
    facts.vmi = "ns/vm";
    facts.qemu_pid = 1234;
    facts.guest_bytes = 256u << 20;
    std::optional<json> answer;
    const auto t0 = std::chrono::steady_clock::now();
    launcher::ask_qemu_status(io, qmp, launcher::status_basics(facts), true, 200ms,
                              [&](const json& j) { answer = j; });
    REQUIRE(run_until(io, [&] { return answer.has_value(); }, 3s));
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 200ms);
    CHECK(took < 1s);
    CHECK((*answer)["status"] == "not answering");
    CHECK_THAT((*answer)["qemu_error"].get<std::string>(), Catch::Contains("QEMU does not answer"));
    CHECK((*answer)["qemu_pid"] == 1234);
    CHECK((*answer)["guest_bytes"] == 256u << 20);
}

TEST_CASE("status takes QEMU's answer when it comes in time") {
    boost::asio::io_context io;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    Fd qemu_side(fds[1]);
    launcher::qmp::Client qmp(io);
    qmp.adopt(fds[0], {});
    std::thread monitor([fd = qemu_side.get()] {
        std::string line;
        char ch;
        while (::read(fd, &ch, 1) == 1 && ch != '\n') line += ch;
        const auto id = json::parse(line)["id"];
        const std::string reply = "{\"return\": {\"status\": \"running\"}, \"id\": " + id.dump() + "}\r\n";
        (void)!::write(fd, reply.data(), reply.size());
    });
    std::optional<json> answer;
    launcher::ask_qemu_status(io, qmp, launcher::status_basics({}), false, 2s, [&](const json& j) { answer = j; });
    const bool got = run_until(io, [&] { return answer.has_value(); }, 3s);
    monitor.join();
    REQUIRE(got);
    CHECK((*answer)["status"] == "running");
    CHECK_FALSE(answer->contains("qemu_error"));
}

TEST_CASE("status and console after the launcher was killed say the VM is not running and the state is stale") {
    TempDir dir;
    // A socket file nobody listens on, as a SIGKILLed launcher leaves it.
    for (const std::string name : {"control.sock", "console.sock"}) {
        Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, (dir / name).c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    }
    launcher::VmRef ref;
    ref.name = "ns/vm";
    ref.state_dir = dir.path().string();
    // (Catch's combined matchers refer to their parts: each is built in place.)
    const std::string stale_dir = "stale state directory " + dir.path().string();
    CHECK_THROWS_WITH(launcher::cmd_status(ref, "text"),
                      Catch::Contains("ns/vm is not running") && Catch::Contains(stale_dir) &&
                          Catch::Contains("next `vmi-launcher run`") && !Catch::Contains("Connection refused"));
    CHECK_THROWS_WITH(launcher::cmd_console(ref),
                      Catch::Contains("ns/vm is not running") && Catch::Contains(stale_dir) &&
                          Catch::Contains("next `vmi-launcher run`") && !Catch::Contains("Connection refused"));
}

TEST_CASE("status shows the launcher's error answer in plain words") {
    ControlServer::Limits limits;
    limits.max_clients = 0;  // every client is told the server is busy
    const ServedControl served(limits);
    launcher::VmRef ref;
    ref.name = "ns/vm";
    ref.state_dir = served.dir.path().string();
    CHECK_THROWS_WITH(launcher::cmd_status(ref, "text"),
                      Catch::StartsWith("the launcher of ns/vm answered: busy: 0 control clients"));
}
