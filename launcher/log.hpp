// The launcher's log: readable lines on a terminal, one JSON object per line
// in a pod. Every line names the VMI and an event; fields are structured.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace spdlog {
class logger;
}

namespace launcher {

enum class LogFormat { text, json };

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
