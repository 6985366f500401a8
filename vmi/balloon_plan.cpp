#include "vmi/balloon_plan.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace vmi {
namespace {

// An annotation value is the user's text: quote at most this much of it.
constexpr std::size_t shown_value = 64;

std::string quoted(const std::string& text) {
    if (text.size() <= shown_value) return fmt::format("\"{}\"", text);
    return fmt::format("\"{}...\" ({} bytes)", text.substr(0, shown_value), text.size());
}

}  // namespace

std::string to_string(BalloonMode m) { return m == BalloonMode::off ? "off" : "auto"; }

BalloonMode parse_balloon_mode(const std::string& text) {
    if (text == "auto") return BalloonMode::auto_;
    if (text == "off") return BalloonMode::off;
    throw std::invalid_argument(fmt::format("{} is not auto or off", quoted(text)));
}

std::chrono::milliseconds parse_balloon_interval(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && digits < 8 && text[digits] >= '0' && text[digits] <= '9') ++digits;
    const std::string unit = text.substr(digits);
    if (digits == 0 || (unit != "ms" && unit != "s" && unit != "m")) {
        throw std::invalid_argument(fmt::format("{} is not a duration such as 500ms, 10s or 1m", quoted(text)));
    }
    const long long n = std::stoll(text.substr(0, digits));
    const long long ms = unit == "ms" ? n : unit == "s" ? n * 1000 : n * 60'000;
    if (ms < 100 || ms > 3'600'000) {
        throw std::invalid_argument(fmt::format("{} is outside 100ms to 1h", quoted(text)));
    }
    return std::chrono::milliseconds(ms);
}

BalloonPlan plan_balloon(const VmiSpec& spec, BalloonMode mode, Bytes request, Bytes guest, bool hugepages) {
    BalloonPlan p;
    const auto& annotations = spec.metadata.annotations;
    const auto annotation = annotations.find(balloon_annotation);
    bool annotated_off = false;
    if (annotation != annotations.end()) {
        if (annotation->second == "off") {
            annotated_off = true;
        } else if (annotation->second != "auto") {
            p.warnings.push_back(fmt::format("metadata.annotations.{}: {} is not auto or off; ignored",
                                             balloon_annotation, quoted(annotation->second)));
        }
    }
    const Bytes floor = std::min(std::max(request, balloon_minimum_floor), guest);
    if (mode == BalloonMode::off) {
        p.why = "--balloon off";
    } else if (annotated_off) {
        p.why = fmt::format("annotation {}: \"off\"", balloon_annotation);
    } else if (!spec.domain.devices.autoattach_mem_balloon) {
        p.why = "no balloon device (autoattachMemBalloon: false)";
    } else if (hugepages) {
        p.why = "guest memory comes from huge pages, which a balloon cannot return to the VM's cgroup";
    } else if (floor >= guest) {
        p.why = request >= guest ? "no overcommit: the request covers the guest memory"
                                 : "the guest memory is not above the minimum floor";
    } else {
        p.enabled = true;
        p.why = request >= balloon_minimum_floor ? "overcommit: the floor is the memory request"
                                                 : "overcommit: the floor is the minimum for a guest";
        p.floor = floor;
        p.ceiling = guest;
    }
    return p;
}

}  // namespace vmi
