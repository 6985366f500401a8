// qemu-args: read a VMI, plan its memory, find its volumes, print QEMU's
// argv. Starts nothing and creates no file.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "launcher/commands.hpp"
#include "launcher/exit_codes.hpp"
#include "launcher/input.hpp"
#include "qemu-args/accel.hpp"
#include "qemu-args/build_plan.hpp"
#include "qemu-args/quote.hpp"
#include "qemu-args/sources.hpp"
#include "vmi/validate.hpp"

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

}  // namespace

int cmd_qemu_args(const QemuArgsCommandArgs& args) {
    const vmi::VmiSpec spec = vmi::load_vmi(read_input(args.plan.file));
    for (const auto& w : spec.warnings) fmt::print(stderr, "warning: {}\n", w.text());

    const auto request = qemu_args::parse_accel_request(args.plan.accel);
    const auto host = request == qemu_args::AccelRequest::auto_ ? qemu_args::probe_host() : qemu_args::HostProbe{};
    const qemu_args::AccelChoice accel = qemu_args::choose_accel(request, host);
    vmi::PlanOptions plan_options;
    plan_options.model =
        args.plan.overhead_model == "kubevirt" ? vmi::OverheadModel::kubevirt : vmi::OverheadModel::launcher;
    plan_options.accel = accel.accel;
    plan_options.memory_overcommit_percent = args.plan.memory_overcommit;
    const vmi::MemoryPlan memory = vmi::plan_memory(spec, plan_options);

    qemu_args::SourceOptions sources;
    sources.volumes = mappings(args.volumes, "--volume");
    sources.images = mappings(args.images, "--image");
    sources.volumes_dir = args.volumes_dir;
    sources.images_dir = args.images_dir;
    const qemu_args::ResolvedSources resolved = qemu_args::resolve_sources(spec, sources);

    qemu_args::LaunchOptions options;
    options.qemu_binary = args.qemu;
    options.accel = accel.accel;
    options.state_dir = args.state_dir.empty() ? qemu_args::default_state_dir(spec)
                                               : std::filesystem::absolute(args.state_dir).lexically_normal().string();
    options.tap_fds = tap_fds(args.tap_fds);
    const qemu_args::LaunchPlan plan = qemu_args::build_launch_plan(spec, memory, resolved, options);
    for (const auto& w : plan.warnings) fmt::print(stderr, "warning: {}\n", w);

    if (args.output == "json") {
        std::cout << nlohmann::json(plan.argv).dump(2) << "\n";
    } else {
        std::cout << qemu_args::shell_quote(plan.argv) << "\n";
    }
    return exit_ok;
}

}  // namespace launcher
