#include "launcher/qmp_message.hpp"

#include <stdexcept>

namespace launcher::qmp {

Message parse_message(std::string_view line) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        throw std::runtime_error("QMP sent something that is not a JSON object: " + std::string(line.substr(0, 200)));
    }
    if (j.contains("QMP")) {
        Greeting g;
        const auto& q = j["QMP"]["version"]["qemu"];
        if (q.is_object()) {
            g.version = std::to_string(q.value("major", 0)) + "." + std::to_string(q.value("minor", 0)) + "." +
                        std::to_string(q.value("micro", 0));
        }
        return g;
    }
    if (j.contains("event")) {
        Event e;
        e.name = j["event"].is_string() ? j["event"].get<std::string>() : "";
        e.data = j.value("data", nlohmann::json::object());
        if (j.contains("timestamp") && j["timestamp"].is_object()) {
            e.timestamp = j["timestamp"].value("seconds", 0.0) + j["timestamp"].value("microseconds", 0.0) / 1e6;
        }
        return e;
    }
    if (j.contains("return") || j.contains("error")) {
        Reply r;
        if (j.contains("id") && j["id"].is_number_integer()) r.id = j["id"].get<std::int64_t>();
        if (j.contains("error")) {
            r.ok = false;
            r.error_class = j["error"].value("class", "");
            r.error_desc = j["error"].value("desc", "");
        } else {
            r.value = j["return"];
        }
        return r;
    }
    throw std::runtime_error("QMP sent an unknown message: " + std::string(line.substr(0, 200)));
}

std::string command_text(std::string_view name, const nlohmann::json& arguments, std::int64_t id) {
    nlohmann::json j;
    j["execute"] = name;
    if (!arguments.is_null() && !arguments.empty()) j["arguments"] = arguments;
    j["id"] = id;
    return j.dump() + "\n";
}

}  // namespace launcher::qmp
