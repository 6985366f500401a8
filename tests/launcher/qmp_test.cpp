// QMP: parsing what QEMU says, and the client against a scripted monitor.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "launcher/log.hpp"
#include "launcher/qmp_client.hpp"

using namespace launcher::qmp;

TEST_CASE("QMP messages parse into greeting, replies and events") {
    auto g = parse_message(R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}})");
    CHECK(std::get<Greeting>(g).version == "7.2.22");

    auto ok = std::get<Reply>(parse_message(R"({"return": {"status": "running", "running": true}, "id": 7})"));
    CHECK(ok.ok);
    CHECK(ok.id == 7);
    CHECK(ok.value["status"] == "running");

    auto err = std::get<Reply>(parse_message(R"({"id": 8, "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}})"));
    CHECK_FALSE(err.ok);
    CHECK(err.error_class == "CommandNotFound");

    auto ev = std::get<Event>(parse_message(
        R"({"timestamp": {"seconds": 1700000000, "microseconds": 500000}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}})"));
    CHECK(ev.name == "SHUTDOWN");
    CHECK(ev.data["reason"] == "guest-shutdown");
    CHECK(ev.timestamp == Approx(1700000000.5));

    CHECK_THROWS_WITH(parse_message("not json"), Catch::Contains("not a JSON object"));
    CHECK_THROWS_WITH(parse_message("[1,2]"), Catch::Contains("not a JSON object"));
    CHECK_THROWS_WITH(parse_message(R"({"hello": 1})"), Catch::Contains("unknown message"));
}

TEST_CASE("QMP commands carry their id and only non-empty arguments") {
    CHECK(command_text("system_powerdown", {}, 3) == "{\"execute\":\"system_powerdown\",\"id\":3}\n");
    CHECK(nlohmann::json::parse(command_text("qom-get", {{"path", "/machine"}, {"property", "type"}}, 4))["arguments"]["path"] ==
          "/machine");
}

TEST_CASE("the client negotiates, matches replies by id and passes events on") {
    const std::string path = (std::filesystem::temp_directory_path() / ("qmp-test-" + std::to_string(getpid()))).string();
    ::unlink(path.c_str());
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 1) == 0);

    // A scripted monitor: greeting, then replies out of order, an event between.
    std::thread monitor([listener] {
        int c = ::accept(listener, nullptr, nullptr);
        auto say = [c](const std::string& s) { (void)!::write(c, s.data(), s.size()); };
        auto hear = [c] {
            std::string line;
            char ch;
            while (::read(c, &ch, 1) == 1 && ch != '\n') line += ch;
            return nlohmann::json::parse(line);
        };
        say(R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}})" "\r\n");
        auto caps = hear();
        say(R"({"return": {}, "id": )" + caps["id"].dump() + "}\r\n");
        auto first = hear();
        auto second = hear();
        say(R"({"event": "POWERDOWN", "data": {}, "timestamp": {"seconds": 1, "microseconds": 0}})" "\r\n");
        say(R"({"return": {"second": true}, "id": )" + second["id"].dump() + "}\r\n");
        say(R"({"return": {"first": true}, "id": )" + first["id"].dump() + "}\r\n");
        ::close(c);
    });

    boost::asio::io_context io;
    Client client(io);
    std::vector<std::string> seen;
    std::string closed_why;
    client.on_event([&](const Event& e) { seen.push_back("event " + e.name); });
    client.on_closed([&](const std::string& why) { closed_why = why; });
    client.connect(path, [&](const std::string& error) {
        REQUIRE(error.empty());
        client.execute("query-status", {}, [&](const Reply& r) { seen.push_back(r.value.contains("first") ? "first" : "?"); });
        client.execute("query-version", {}, [&](const Reply& r) { seen.push_back(r.value.contains("second") ? "second" : "?"); });
    });
    io.run_for(std::chrono::seconds(5));
    monitor.join();
    ::close(listener);
    ::unlink(path.c_str());
    CHECK(client.qemu_version() == "7.2.0");
    CHECK(seen == std::vector<std::string>{"event POWERDOWN", "second", "first"});
    CHECK_THAT(closed_why, Catch::Contains("closed the QMP connection"));
}

TEST_CASE("a command sent after the connection closed fails at once") {
    boost::asio::io_context io;
    Client client(io);
    std::string error;
    client.connect("/nonexistent/qmp.sock", [&](const std::string& e) { error = e; });
    io.run_for(std::chrono::seconds(2));
    CHECK_THAT(error, Catch::Contains("cannot connect to QMP"));
    bool failed = false;
    client.execute("query-status", {}, [&](const Reply& r) { failed = !r.ok; });
    CHECK(failed);
}

TEST_CASE("log lines: JSON objects that stay valid whatever the message holds") {
    launcher::Log json(launcher::LogFormat::json, "default/tiny");
    const std::string line = json.format_line("info", "oom_killed", "quote \" newline \n tab \t \x01",
                                              {{"limit_bytes", 397410304}, {"peak_bytes", 397000000}});
    const auto j = nlohmann::json::parse(line);
    CHECK(j["vmi"] == "default/tiny");
    CHECK(j["event"] == "oom_killed");
    CHECK(j["limit_bytes"] == 397410304);
    CHECK(j["msg"] == "quote \" newline \n tab \t \x01");
    CHECK(line.find('\n') == std::string::npos);

    launcher::Log text(launcher::LogFormat::text, "default/tiny");
    const std::string t = text.format_line("warn", "x", "hello", {{"a", 1}, {"b", "two"}});
    CHECK_THAT(t, Catch::Contains("warn  default/tiny hello a=1 b=two"));
}
