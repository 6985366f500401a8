// The launcher's log: readable lines on a terminal, one JSON object per line
// in a pod. Every line names the VMI and an event; fields are structured.
// Every JSON record has time (iso_time), level, vmi, event and msg; a field
// that would take one of those names is written as field_NAME instead.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace spdlog {
class logger;
}

namespace launcher {

enum class LogFormat { text, json };

// The one time format of the log: 2026-12-02T13:42:37.541Z (UTC, milliseconds).
std::string iso_time(std::chrono::system_clock::time_point t);

// text when `fd` is a terminal, json otherwise.
LogFormat default_log_format(int fd);

class Log {
public:
    // Writes to `fd` (standard output by default).
    Log(LogFormat format, std::string vmi, int fd = 1);
    ~Log();

    void info(std::string_view event, std::string_view message, const nlohmann::json& fields = {});
    void warn(std::string_view event, std::string_view message, const nlohmann::json& fields = {});
    void error(std::string_view event, std::string_view message, const nlohmann::json& fields = {});

    // The line as it would be written (for tests).
    std::string format_line(std::string_view level, std::string_view event, std::string_view message,
                            const nlohmann::json& fields) const;

private:
    void write(std::string_view level, std::string_view event, std::string_view message, const nlohmann::json& fields);

    LogFormat format_;
    std::string vmi_;
    std::shared_ptr<spdlog::logger> out_;
};

}  // namespace launcher
