// The launcher's JSON log: one key, one format, whatever the fields say.
#include <catch2/catch.hpp>

#include <regex>

#include <nlohmann/json.hpp>

#include "launcher/log.hpp"

using namespace launcher;

namespace {

bool is_iso_time(const nlohmann::json& v) {
    static const std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
    return v.is_string() && std::regex_match(v.get<std::string>(), iso);
}

}  // namespace

TEST_CASE("every JSON record's time is the ISO timestamp, even when a field is called time") {
    Log log(LogFormat::json, "ns/vm");
    const auto plain = nlohmann::json::parse(log.format_line("info", "qemu_started", "QEMU started", {{"pid", 1}}));
    CHECK(is_iso_time(plain["time"]));
    const auto clash = nlohmann::json::parse(
        log.format_line("error", "oom_killed", "killed", {{"time", 1764683000.25}, {"event", "x"}, {"limit_bytes", 1}}));
    CHECK(is_iso_time(clash["time"]));
    CHECK(clash["event"] == "oom_killed");
    CHECK(clash["field_time"] == 1764683000.25);
    CHECK(clash["field_event"] == "x");
    CHECK(clash["limit_bytes"] == 1);
}

TEST_CASE("iso_time: UTC with milliseconds") {
    const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764683000250));
    CHECK(iso_time(t) == "2025-12-02T13:43:20.250Z");
}
