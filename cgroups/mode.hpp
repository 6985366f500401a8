// --cgroup-mode: which way the VM gets its memory cgroup, and why.
#pragma once

#include "cgroups/detect.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace cgroups {

enum class Mode {
    automatic,  // "auto": pick one of the others from the detection
    host,       // create <parent>/<namespace>-<name>; the launcher stays outside
    nested,     // inside a delegated cgroup: launcher to a leaf, VM in a sibling
    adopt,      // the launcher's own (read-only) cgroup is the VM's: never write
    none,       // no cgroup at all; only when asked
};

// "auto", "host", ...; throws std::invalid_argument naming --cgroup-mode.
Mode parse_mode(std::string_view text);
std::string_view to_string(Mode mode);

struct ModeChoice {
    Mode mode = Mode::none;
    std::string reason;  // for the log: why this mode

    bool operator==(const ModeChoice&) const = default;
};

// A mode that cannot work here, with the reason.
struct ModeError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Resolves `requested` against the detection; throws ModeError when the
// requested mode cannot work (no memory controller, host on a read-only
// cgroupfs, nested without delegation, ...).
ModeChoice choose_mode(const Detection& detection, Mode requested);

}  // namespace cgroups
