#include "launcher/cli.hpp"

#include <CLI/CLI.hpp>

namespace launcher {

int run_cli(int argc, char** argv) {
    CLI::App app{"vmi-launcher: run a KubeVirt VirtualMachineInstance without libvirt"};
    CLI11_PARSE(app, argc, argv);
    return 0;
}

}  // namespace launcher
