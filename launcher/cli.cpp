#include "launcher/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "launcher/commands.hpp"
#include "launcher/exit_codes.hpp"
#include "vmi/errors.hpp"

namespace launcher {
namespace {

void add_file(CLI::App& cmd, std::string& file) {
    cmd.add_option("FILE", file, "VirtualMachineInstance (or VirtualMachine) YAML; - reads standard input")
        ->required();
}

void add_plan_options(CLI::App& cmd, PlanArgs& a) {
    add_file(cmd, a.file);
    cmd.add_option("--overhead-model", a.overhead_model,
                   "launcher: this launcher's measured overhead (default); kubevirt: KubeVirt's formula")
        ->check(CLI::IsMember({"launcher", "kubevirt"}))
        ->capture_default_str();
    cmd.add_option("--accel", a.accel,
                   "auto: KVM where /dev/kvm opens and the CPU has vmx/svm, else TCG; or force kvm or tcg")
        ->check(CLI::IsMember({"auto", "kvm", "tcg"}))
        ->capture_default_str();
    cmd.add_option("--memory-overcommit", a.memory_overcommit,
                   "KubeVirt's cluster memoryOvercommit percentage: a VMI giving only memory.guest requests "
                   "guest x 100 / PCT (explicit requests are never scaled)")
        ->check(CLI::Range(10u, 1000u))
        ->type_name("PCT")
        ->capture_default_str();
}

}  // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{
        "vmi-launcher: run a KubeVirt VirtualMachineInstance with QEMU in a memory cgroup, without libvirt.\n"
        "Exit status: 0 success, 1 unexpected failure, 2 bad usage or an invalid VMI."};
    app.set_version_flag("--version", std::string("vmi-launcher ") + VMI_LAUNCHER_VERSION);
    app.require_subcommand(1);

    std::string validate_file;
    auto* validate = app.add_subcommand("validate", "Check a VMI: parse it, apply KubeVirt's defaults and admission "
                                                    "rules, report fields the launcher does not act on");
    add_file(*validate, validate_file);

    PlanCommandArgs plan_args;
    auto* plan = app.add_subcommand(
        "plan", "Print the memory plan: guest memory (-m), request, limit, overhead terms, pod request and limit, "
                "and the cgroup limit the launcher enforces");
    add_plan_options(*plan, plan_args.plan);
    plan->add_option("-o,--output", plan_args.output, "table, json or yaml")
        ->check(CLI::IsMember({"table", "json", "yaml"}))
        ->capture_default_str();

    QemuArgsCommandArgs qemu_args_args;
    auto* qemu_args = app.add_subcommand(
        "qemu-args", "Print the QEMU command line for a VMI (its disks found through --volume, --image and the "
                     "volumes and images directories); starts nothing and creates no file");
    add_plan_options(*qemu_args, qemu_args_args.plan);
    qemu_args->add_option("-o,--output", qemu_args_args.output, "shell: one shell-quoted line; json: an array")
        ->check(CLI::IsMember({"shell", "json"}))
        ->capture_default_str();
    qemu_args->add_option("--volume", qemu_args_args.volumes,
                          "a PVC's or host disk's file (or a directory holding disk.img) by volume name")
        ->type_name("NAME=PATH");
    qemu_args->add_option("--image", qemu_args_args.images,
                          "the unpacked root of a container image (containerDisk, registryDisk, kernelBoot)")
        ->type_name("REF=DIR");
    qemu_args->add_option("--volumes-dir", qemu_args_args.volumes_dir, "volumes not given with --volume: DIR/NAME")
        ->type_name("DIR");
    qemu_args->add_option("--images-dir", qemu_args_args.images_dir,
                          "images not given with --image: DIR/REF with every character but [A-Za-z0-9._-] as _")
        ->type_name("DIR");
    qemu_args->add_option("--state-dir", qemu_args_args.state_dir,
                          "sockets, console log, overlays and seed (default /run/vmi-launcher/NAMESPACE/NAME)")
        ->type_name("DIR");
    qemu_args->add_option("--tap-fd", qemu_args_args.tap_fds, "the tap descriptor a bridge interface gets")
        ->type_name("INTERFACE=FD");
    qemu_args->add_option("--qemu", qemu_args_args.qemu, "the QEMU binary (argv[0])")
        ->type_name("PATH")
        ->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_invalid;
    }

    const std::string& file = validate->parsed()    ? validate_file
                              : qemu_args->parsed() ? qemu_args_args.plan.file
                                                    : plan_args.plan.file;
    try {
        if (validate->parsed()) return cmd_validate(validate_file);
        if (plan->parsed()) return cmd_plan(plan_args);
        if (qemu_args->parsed()) return cmd_qemu_args(qemu_args_args);
    } catch (const vmi::SpecError& e) {
        fmt::print(stderr, "error: {}: {}\n", file == "-" ? "<stdin>" : file, e.what());
        return exit_invalid;
    } catch (const std::runtime_error& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return exit_invalid;
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: unexpected failure: {}\n", e.what());
        return exit_failure;
    }
    return exit_invalid;
}

}  // namespace launcher
