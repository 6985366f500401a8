// QMP messages: what QEMU's monitor sends, parsed from one line of text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

namespace launcher::qmp {

struct Greeting {
    std::string version;  // "7.2.22"
};

struct Reply {
    std::optional<std::int64_t> id;
    bool ok = true;
    nlohmann::json value;     // "return" on success
    std::string error_class;  // "error" on failure
    std::string error_desc;
};

struct Event {
    std::string name;  // SHUTDOWN, POWERDOWN, GUEST_PANICKED, BALLOON_CHANGE, ...
    nlohmann::json data;
    double timestamp = 0;  // seconds since the epoch, as QEMU stamped it
};

using Message = std::variant<Greeting, Reply, Event>;

// Parses one QMP line. Throws std::runtime_error on anything else.
Message parse_message(std::string_view line);

// The text of a command with its id, newline-terminated.
std::string command_text(std::string_view name, const nlohmann::json& arguments, std::int64_t id);

}  // namespace launcher::qmp
