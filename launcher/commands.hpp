// The subcommands. Each takes its parsed options and returns an exit status;
// errors are thrown and turned into one line by run_cli.
#pragma once

#include <string>

#include "vmi/memory_plan.hpp"

namespace launcher {

// Options shared by every command that plans a VMI.
struct PlanArgs {
    std::string file;
    std::string overhead_model = "launcher";
    std::string accel = "auto";
    unsigned memory_overcommit = 100;
};

struct PlanCommandArgs {
    PlanArgs plan;
    std::string output = "table";
};

int cmd_validate(const std::string& file);
int cmd_plan(const PlanCommandArgs& args);

}  // namespace launcher
