#include "launcher/plan_args.hpp"

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "launcher/state_dir.hpp"
#include "qemu-args/sources.hpp"

namespace launcher {
namespace {

std::map<std::string, std::string> mappings(const std::vector<std::string>& items, const std::string& option) {
    std::map<std::string, std::string> out;
    for (const auto& item : items) {
        try {
            auto [name, value] = qemu_args::split_mapping(item);
            if (!out.emplace(name, value).second) {
                throw std::invalid_argument(fmt::format("\"{}\" is given more than once", name));
            }
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(fmt::format("{}: {}", option, e.what()));
        }
    }
    return out;
}

std::map<std::string, int> tap_fds(const std::vector<std::string>& items) {
    std::map<std::string, int> out;
    for (const auto& [name, value] : mappings(items, "--tap-fd")) {
        std::size_t used = 0;
        int fd = -1;
        try {
            fd = std::stoi(value, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != value.size() || fd < 0) {
            throw std::runtime_error(fmt::format("--tap-fd: \"{}\" is not a descriptor number", value));
        }
        out[name] = fd;
    }
    return out;
}

std::uint16_t port_number(const std::string& text, const std::string& item) {
    std::size_t used = 0;
    int port = 0;
    try {
        port = std::stoi(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (text.empty() || used != text.size() || port < 1 || port > 65535 || text.front() == '+' ||
        text.front() == '-') {
        throw std::runtime_error(fmt::format("--host-port {}: \"{}\" is not a port number (1-65535)", item, text));
    }
    return static_cast<std::uint16_t>(port);
}

std::map<std::uint16_t, std::uint16_t> host_ports(const std::vector<std::string>& items) {
    std::map<std::uint16_t, std::uint16_t> out;
    for (const auto& [port, host_port] : mappings(items, "--host-port")) {
        const std::string item = port + "=" + host_port;
        if (!out.emplace(port_number(port, item), port_number(host_port, item)).second) {
            throw std::runtime_error(fmt::format("--host-port: port {} is given more than once", port));
        }
    }
    return out;
}

}  // namespace

qemu_args::AccelChoice accel_for(const PlanArgs& args) {
    const auto request = qemu_args::parse_accel_request(args.accel);
    const auto host = request == qemu_args::AccelRequest::auto_ ? qemu_args::probe_host() : qemu_args::HostProbe{};
    return qemu_args::choose_accel(request, host);
}

vmi::PlanOptions plan_options(const PlanArgs& args, vmi::Accel accel, bool launcher_in_cgroup) {
    vmi::PlanOptions o;
    const auto model = vmi::parse_overhead_model(args.overhead_model);
    if (!model) throw std::runtime_error(fmt::format("--overhead-model: \"{}\" is not a model", args.overhead_model));
    o.model = *model;
    const auto ratio = vmi::parse_overhead_ratio(args.overhead_ratio);
    if (!ratio) {
        throw std::runtime_error(fmt::format("--overhead-ratio: \"{}\" is not a ratio from 1 to 10 with at most 6 decimals",
                                             args.overhead_ratio));
    }
    o.overhead_ratio = *ratio;
    o.accel = accel;
    o.memory_overcommit_percent = args.memory_overcommit;
    o.launcher_in_cgroup = launcher_in_cgroup;
    o.balloon = vmi::parse_balloon_mode(args.balloon);
    return o;
}

qemu_args::SourceOptions source_options(const LaunchArgs& args) {
    qemu_args::SourceOptions s;
    s.volumes = mappings(args.volumes, "--volume");
    s.images = mappings(args.images, "--image");
    s.volumes_dir = args.volumes_dir;
    s.images_dir = args.images_dir;
    return s;
}

qemu_args::LaunchOptions launch_options(const LaunchArgs& args, const vmi::VmiSpec& spec, vmi::Accel accel) {
    qemu_args::LaunchOptions o;
    o.qemu_binary = args.qemu;
    o.accel = accel;
    o.state_dir = args.state_dir.empty()
                      ? default_state_dir(args.state_root, spec.metadata.namespace_name, spec.metadata.name).string()
                      : std::filesystem::absolute(args.state_dir).lexically_normal().string();
    o.tap_fds = tap_fds(args.tap_fds);
    // clock.utc.offsetSeconds starts the guest's RTC at now + offset.
    o.wall_clock_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    o.forward_address = args.forward_address;
    o.host_ports = host_ports(args.host_ports);
    return o;
}

void print_warnings(const vmi::VmiSpec& spec) {
    for (const auto& w : spec.warnings) fmt::print(stderr, "warning: {}\n", w.text());
}

}  // namespace launcher
