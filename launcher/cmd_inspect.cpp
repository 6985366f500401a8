// validate and plan: read a VMI, decide, print; start nothing.
#include <fmt/format.h>

#include <iostream>

#include "launcher/commands.hpp"
#include "launcher/exit_codes.hpp"
#include "launcher/input.hpp"
#include "launcher/plan_args.hpp"
#include "vmi/plan_output.hpp"
#include "vmi/validate.hpp"

namespace launcher {

int cmd_validate(const std::string& file) {
    const vmi::VmiSpec spec = vmi::load_vmi(read_input(file));
    print_warnings(spec);
    fmt::print("{}: valid {} {}/{} ({} vCPU{}, {} disk{}, {} warning{})\n", file,
               spec.from_virtual_machine ? "VirtualMachine" : "VirtualMachineInstance", spec.metadata.namespace_name,
               spec.metadata.name, spec.vcpus(), spec.vcpus() == 1 ? "" : "s", spec.domain.devices.disks.size(),
               spec.domain.devices.disks.size() == 1 ? "" : "s", spec.warnings.size(),
               spec.warnings.size() == 1 ? "" : "s");
    return exit_ok;
}

int cmd_plan(const PlanCommandArgs& args) {
    const vmi::VmiSpec spec = vmi::load_vmi(read_input(args.plan.file));
    print_warnings(spec);
    const vmi::MemoryPlan plan = vmi::plan_memory(spec, plan_options(args.plan, accel_for(args.plan).accel));
    if (args.output == "json") {
        std::cout << vmi::plan_to_json(spec, plan).dump(2) << "\n";
    } else if (args.output == "yaml") {
        std::cout << vmi::plan_to_yaml(spec, plan);
    } else {
        std::cout << vmi::plan_to_table(spec, plan);
    }
    return exit_ok;
}

}  // namespace launcher
