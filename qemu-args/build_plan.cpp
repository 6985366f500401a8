// build_launch_plan: the pieces in the order QEMU reads them.
#include "qemu-args/build_plan.hpp"

#include <fmt/format.h>

#include <cctype>
#include <stdexcept>

#include "qemu-args/plan_parts.hpp"

namespace qemu_args {

namespace detail {

std::string qemu_id(const std::string& prefix, const std::string& name, const std::string& fallback) {
    const std::string id = prefix + name;
    bool ok = !id.empty() && std::isalpha(static_cast<unsigned char>(id.front()));
    for (char ch : id) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == '_');
    return ok ? id : fallback;
}

}  // namespace detail

LaunchPlan build_launch_plan(const vmi::VmiSpec& spec, const vmi::MemoryPlan& memory, const ResolvedSources& sources,
                             const LaunchOptions& options) {
    if (options.state_dir.empty() || options.state_dir.front() != '/') {
        throw std::invalid_argument(fmt::format("the state directory must be an absolute path, not \"{}\"",
                                                options.state_dir));
    }
    LaunchPlan plan;
    plan.state_dir = options.state_dir;
    while (plan.state_dir.size() > 1 && plan.state_dir.back() == '/') plan.state_dir.pop_back();
    detail::PlanContext c{spec, memory, sources, options, plan};
    c.arg(options.qemu_binary);
    detail::add_machine(c);
    detail::add_boot(c);
    detail::add_control(c);
    detail::add_clock(c);
    detail::add_disks(c);
    detail::add_devices(c);
    detail::add_network(c);
    detail::add_balloon(c);
    return plan;
}

std::string default_state_dir(const vmi::VmiSpec& spec) {
    return fmt::format("/run/vmi-launcher/{}/{}", spec.metadata.namespace_name, spec.metadata.name);
}

}  // namespace qemu_args
