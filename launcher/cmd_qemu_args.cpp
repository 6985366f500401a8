// qemu-args: read a VMI, plan its memory, find its volumes, print QEMU's
// argv. Starts nothing and creates no file.
#include <fmt/format.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "launcher/commands.hpp"
#include "launcher/exit_codes.hpp"
#include "launcher/input.hpp"
#include "launcher/plan_args.hpp"
#include "qemu-args/accel.hpp"
#include "qemu-args/build_plan.hpp"
#include "qemu-args/quote.hpp"
#include "qemu-args/sources.hpp"
#include "vmi/validate.hpp"

namespace launcher {

int cmd_qemu_args(const QemuArgsCommandArgs& args) {
    const vmi::VmiSpec spec = vmi::load_vmi(read_input(args.plan.file));
    print_warnings(spec);
    const qemu_args::AccelChoice accel = accel_for(args.plan);
    const vmi::MemoryPlan memory = vmi::plan_memory(spec, plan_options(args.plan, accel.accel));
    const qemu_args::ResolvedSources resolved = qemu_args::resolve_sources(spec, source_options(args.launch));
    const qemu_args::LaunchPlan plan =
        qemu_args::build_launch_plan(spec, memory, resolved, launch_options(args.launch, spec, accel.accel));
    for (const auto& w : plan.warnings) fmt::print(stderr, "warning: {}\n", w);
    // -S: whoever runs this argv must send these before `cont`, as `run` does.
    for (const auto& c : plan.startup_commands) {
        fmt::print(stderr, "note: QEMU starts paused; send over QMP {{\"execute\": \"{}\", \"arguments\": {}}}, "
                           "then cont\n", c.execute, c.arguments);
    }

    if (args.output == "json") {
        std::cout << nlohmann::json(plan.argv).dump(2) << "\n";
    } else {
        std::cout << qemu_args::shell_quote(plan.argv) << "\n";
    }
    return exit_ok;
}

}  // namespace launcher
