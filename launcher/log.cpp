#include "launcher/log.hpp"

#include <unistd.h>

#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace launcher {
namespace {

bool reserved(const std::string& key) {
    return key == "time" || key == "level" || key == "vmi" || key == "event" || key == "msg";
}

}  // namespace

std::string iso_time(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(t)), ms);
}

LogFormat default_log_format(int fd) { return ::isatty(fd) ? LogFormat::text : LogFormat::json; }

Log::Log(LogFormat format, std::string vmi, int fd) : format_(format), vmi_(std::move(vmi)) {
    // spdlog writes the lines (whole lines, flushed, thread-safe); the
    // formatting is ours so JSON stays valid whatever the message holds.
    std::shared_ptr<spdlog::sinks::sink> sink;
    if (fd == 2) {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
        sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    }
    sink->set_pattern("%v");
    out_ = std::make_shared<spdlog::logger>("vmi-launcher", sink);
    out_->flush_on(spdlog::level::trace);
}

Log::~Log() = default;

std::string Log::format_line(std::string_view level, std::string_view event, std::string_view message,
                             const nlohmann::json& fields) const {
    if (format_ == LogFormat::json) {
        nlohmann::ordered_json j;
        j["time"] = iso_time(std::chrono::system_clock::now());
        j["level"] = level;
        j["vmi"] = vmi_;
        j["event"] = event;
        j["msg"] = message;
        if (fields.is_object()) {
            // The record's own keys keep their one meaning and format: a
            // field of the same name goes under field_NAME.
            for (const auto& [k, v] : fields.items()) j[reserved(k) ? "field_" + k : k] = v;
        }
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    std::string line = fmt::format("{} {:<5} {} {}", iso_time(std::chrono::system_clock::now()), level, vmi_, message);
    if (fields.is_object()) {
        for (const auto& [k, v] : fields.items()) {
            line += fmt::format(" {}={}", k, v.is_string() ? v.get<std::string>() : v.dump());
        }
    }
    return line;
}

void Log::write(std::string_view level, std::string_view event, std::string_view message,
                const nlohmann::json& fields) {
    out_->info(format_line(level, event, message, fields));
}

void Log::info(std::string_view event, std::string_view message, const nlohmann::json& fields) {
    write("info", event, message, fields);
}
void Log::warn(std::string_view event, std::string_view message, const nlohmann::json& fields) {
    write("warn", event, message, fields);
}
void Log::error(std::string_view event, std::string_view message, const nlohmann::json& fields) {
    write("error", event, message, fields);
}

}  // namespace launcher
