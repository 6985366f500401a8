#include "cgroups/mode.hpp"

namespace cgroups {

Mode parse_mode(std::string_view text) {
    if (text == "auto") return Mode::automatic;
    if (text == "host") return Mode::host;
    if (text == "nested") return Mode::nested;
    if (text == "adopt") return Mode::adopt;
    if (text == "none") return Mode::none;
    throw std::invalid_argument("--cgroup-mode: \"" + std::string(text) +
                                "\" is not one of auto, host, nested, adopt, none");
}

std::string_view to_string(Mode mode) {
    switch (mode) {
    case Mode::automatic: return "auto";
    case Mode::host: return "host";
    case Mode::nested: return "nested";
    case Mode::adopt: return "adopt";
    case Mode::none: return "none";
    }
    return "?";
}

namespace {

std::string hierarchy(const Detection& d) {
    return "the cgroup " + std::string(to_string(d.version)) + " memory hierarchy at " + d.memory_root.string();
}

std::string own(const Detection& d) {
    return "the launcher's cgroup " + (d.own_cgroup.empty() ? std::string("(unknown)") : d.own_cgroup);
}

std::string not_writable_why(const Detection& d) {
    return hierarchy(d) + (d.read_only ? " is mounted read-only" : " is not writable");
}

std::string confinement(const Detection& d) {
    return d.mount_root != "/" ? "only the sub-tree " + d.mount_root + " of the hierarchy is mounted"
                               : "it sees a cgroup namespace, not the hierarchy's root";
}

void require_own_dir(const Detection& d, Mode mode) {
    if (!d.own_dir)
        throw ModeError("cgroup mode " + std::string(to_string(mode)) + ": " + own(d) +
                        " is not visible under " + d.memory_root.string());
}

ModeChoice choose_automatically(const Detection& d) {
    if (!d.confined && d.writable)
        return {Mode::host, "auto chose host: " + hierarchy(d) + " is writable and the launcher sees all of it (" +
                                own(d) + ")"};
    if (d.delegated)
        return {Mode::nested, "auto chose nested: " + confinement(d) + ", and " + own(d) +
                                  " is writable and delegated"};
    require_own_dir(d, Mode::adopt);
    if (d.writable || !d.read_only)
        return {Mode::adopt, "auto chose adopt: " + confinement(d) + ", and " + own(d) +
                                 " is not delegated, so it is the VM's cgroup and is left as it is"};
    return {Mode::adopt, "auto chose adopt: " + not_writable_why(d) + ", so " + own(d) +
                             " is the VM's cgroup and is left as it is"};
}

}  // namespace

ModeChoice choose_mode(const Detection& d, Mode requested) {
    if (requested == Mode::none)
        return {Mode::none, "--cgroup-mode none: no memory cgroup, the VM runs without a memory limit"};
    if (!d.memory_available)
        throw ModeError("no memory cgroup controller: " + d.why_no_memory +
                        " (--cgroup-mode none runs the VM without a memory limit)");
    const std::string asked = "requested with --cgroup-mode " + std::string(to_string(requested));
    switch (requested) {
    case Mode::automatic:
        return choose_automatically(d);
    case Mode::host:
        if (!d.writable)
            throw ModeError("cgroup mode host: " + not_writable_why(d) +
                            ", so no cgroup can be created there (a pod's cgroupfs wants --cgroup-mode adopt)");
        return {Mode::host, asked};
    case Mode::nested:
        require_own_dir(d, Mode::nested);
        if (!d.delegated)
            throw ModeError("cgroup mode nested: " + own(d) +
                            (d.read_only ? " is on a read-only mount"
                                         : d.version == Version::v2
                                               ? " is not delegated (not writable, or memory is missing from its cgroup.controllers)"
                                               : " is not writable"));
        return {Mode::nested, asked};
    case Mode::adopt:
        require_own_dir(d, Mode::adopt);
        return {Mode::adopt, asked};
    case Mode::none:
        break;
    }
    return {Mode::none, asked};
}

}  // namespace cgroups
