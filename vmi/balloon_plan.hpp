// Whether the launcher balloons a VM, and between which bounds: decided from
// the spec and --balloon in the plan layer, so `plan` can print it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "vmi/bytes.hpp"
#include "vmi/spec.hpp"

namespace vmi {

enum class BalloonMode { auto_, off };
std::string to_string(BalloonMode m);
// "auto" or "off"; throws std::invalid_argument otherwise.
BalloonMode parse_balloon_mode(const std::string& text);

// A balloon interval: a whole number with ms, s or m ("500ms", "10s",
// "1m"), from 100 ms to 1 hour; throws std::invalid_argument saying why.
std::chrono::milliseconds parse_balloon_interval(const std::string& text);

// The VMI annotation that opts a VM out: vmi-launcher/balloon: "off".
inline constexpr const char* balloon_annotation = "vmi-launcher/balloon";

// A Linux guest squeezed below this stops being useful (the test guest's
// kernel and initramfs alone take about 60 MiB), so the floor is never lower.
inline constexpr Bytes balloon_minimum_floor = mib(128);

struct BalloonPlan {
    bool enabled = false;
    std::string why;  // why it is on or off, for the plan's reader
    Bytes floor;      // enabled: the VMI's memory request, at least balloon_minimum_floor
    Bytes ceiling;    // enabled: the guest memory (-m)
    std::vector<std::string> warnings;
    bool operator==(const BalloonPlan&) const = default;
};

// `request` is the VMI's memory request after KubeVirt's defaults, `guest`
// what -m gets; `hugepages`: guest RAM comes from huge pages, which a balloon
// cannot hand back to the VM's memory cgroup.
BalloonPlan plan_balloon(const VmiSpec& spec, BalloonMode mode, Bytes request, Bytes guest, bool hugepages);

}  // namespace vmi
