// The command line: subcommands and their options.
#pragma once

namespace launcher {

// Runs the command line; returns the process exit status.
int run_cli(int argc, char** argv);

}  // namespace launcher
