#include "launcher/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "launcher/commands.hpp"
#include "launcher/exit_codes.hpp"
#include "launcher/pod_commands.hpp"
#include "launcher/run_args.hpp"
#include "launcher/supervisor.hpp"
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
    cmd.add_option("--balloon", a.balloon,
                   "auto: balloon an overcommitted VM between its memory request (the floor) and its guest "
                   "memory (the ceiling) under memory pressure; off: never (also the VMI annotation "
                   "vmi-launcher/balloon: \"off\")")
        ->check(CLI::IsMember({"auto", "off"}))
        ->capture_default_str();
}

void add_launch_options(CLI::App& cmd, LaunchArgs& a) {
    cmd.add_option("--volume", a.volumes,
                   "a PVC's or host disk's file (or a directory holding disk.img) by volume name; repeatable")
        ->type_name("NAME=PATH");
    cmd.add_option("--image", a.images,
                   "the unpacked root of a container image (containerDisk, registryDisk, kernelBoot); repeatable")
        ->type_name("REF=DIR");
    cmd.add_option("--volumes-dir", a.volumes_dir, "volumes not given with --volume: DIR/NAME")->type_name("DIR");
    cmd.add_option("--images-dir", a.images_dir,
                   "images not given with --image: DIR/REF with every character but [A-Za-z0-9._-] as _")
        ->type_name("DIR");
    cmd.add_option("--state-dir", a.state_dir,
                   "sockets, console log, overlays and seed (default <state root>/NAMESPACE/NAME)")
        ->type_name("DIR");
    cmd.add_option("--state-root", a.state_root, "where state directories go")->capture_default_str();
    cmd.add_option("--tap-fd", a.tap_fds, "the open tap descriptor a bridge interface gets; repeatable")
        ->type_name("INTERFACE=FD");
    cmd.add_option("--qemu", a.qemu, "the QEMU binary (a path, or a name looked up on PATH)")
        ->type_name("PATH")
        ->capture_default_str();
}

void add_run_options(CLI::App& cmd, RunArgs& a) {
    add_plan_options(cmd, a.plan);
    add_launch_options(cmd, a.launch);
    cmd.add_option("--cgroup-mode", a.cgroup_mode,
                   "auto (chooses and says why), host (a cgroup of its own, the launcher outside), nested (inside a "
                   "delegated cgroup), adopt (the pod's own cgroup, never written), none")
        ->check(CLI::IsMember({"auto", "host", "nested", "adopt", "none"}))
        ->capture_default_str();
    cmd.add_option("--cgroup-parent", a.cgroup_parent,
                   "parent of the VM cgroup (host: relative to the memory root, default vmi-launcher)");
    cmd.add_option("--cgroup-root", a.cgroup_root, "where cgroup filesystems are mounted")->capture_default_str();
}

}  // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{
        "vmi-launcher: run a KubeVirt VirtualMachineInstance with QEMU in a memory cgroup, without libvirt.\n"
        "Exit status: 0 success, 1 unexpected failure, 2 bad usage, an invalid VMI or a setup failure;\n"
        "run also: 3 QEMU failed, 4 OOM-killed, 5 stopped after the grace period."};
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
    add_launch_options(*qemu_args, qemu_args_args.launch);

    RunArgs run_args;
    auto* run = app.add_subcommand(
        "run", "Run the VM: QEMU in a memory cgroup sized by the plan, supervised until it stops. Exit status: 0 the "
               "guest shut down, 3 QEMU failed, crashed, did not answer QMP or was stopped by someone else, "
               "4 OOM-killed, 5 stopped after the grace period, 2 invalid input or setup failure (nothing left "
               "behind)");
    add_run_options(*run, run_args);
    run->add_option("--grace-period", run_args.grace_period,
                    "seconds to wait for the guest after the power button (default: terminationGracePeriodSeconds)")
        ->check(CLI::Range(0L, 86400L));
    run->add_option("--qmp-timeout", run_args.qmp_timeout,
                    "seconds QEMU has to complete the QMP handshake after it starts; then it is killed (exit 3)")
        ->check(CLI::Range(1L, 3600L))
        ->capture_default_str();
    run->add_option("--log-format", run_args.log_format, "text or json (default: text on a terminal, else json)")
        ->check(CLI::IsMember({"text", "json"}));
    run->add_option("--termination-log", run_args.termination_log,
                    "where to write the Kubernetes termination message (default /dev/termination-log when it exists)");
    run->add_option("--console-log", run_args.console_log,
                    "keep the guest's serial console output in this file (default: in the state directory, removed "
                    "at exit); created 0600")
        ->type_name("FILE");
    run->add_option("--console-log-max", run_args.console_log_max,
                    "rotate the console log at this size: FILE becomes FILE.1 (replacing it) and a new FILE starts, "
                    "so at most 2 x SIZE is kept (a quantity, 4Ki to 64Gi; default 8Mi)")
        ->type_name("SIZE");
    run->add_option("--balloon-poll-interval", run_args.balloon_poll_interval,
                    "drive the balloon from a timer of this period only (e.g. 10s), with no pressure event; "
                    "default: pressure events, reacting in milliseconds")
        ->type_name("DURATION");
    // Shorter deflation timing, for tests that cannot wait half a minute.
    run->add_option("--balloon-quiet", run_args.balloon_quiet)->group("");
    run->add_option("--balloon-step-interval", run_args.balloon_step_interval)->group("");
    run->add_flag("--dry-run", run_args.dry_run, "print every step it would take; start and create nothing");

    VmRef status_ref;
    std::string status_output = "text";
    auto* status = app.add_subcommand("status", "Ask a running launcher: QEMU's state, cgroup usage, limit, peak, "
                                                "OOM kills, balloon statistics");
    status->add_option("NAME", status_ref.name, "NAMESPACE/NAME, or NAME in namespace default")->required();
    status->add_option("--state-root", status_ref.state_root, "where state directories are")->capture_default_str();
    status->add_option("--state-dir", status_ref.state_dir, "the VM's state directory");
    status->add_option("-o,--output", status_output, "text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();

    VmRef console_ref;
    auto* console = app.add_subcommand("console", "Attach this terminal to the VM's serial console; Ctrl-] detaches");
    console->add_option("NAME", console_ref.name, "NAMESPACE/NAME, or NAME in namespace default")->required();
    console->add_option("--state-root", console_ref.state_root, "where state directories are")->capture_default_str();
    console->add_option("--state-dir", console_ref.state_dir, "the VM's state directory");

    PodCommandArgs pod_args;
    auto* pod = add_pod_command(app, pod_args);
    CapacityCommandArgs capacity_args;
    auto* capacity = add_capacity_command(app, capacity_args);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_invalid;
    }

    const std::string& file = validate->parsed()    ? validate_file
                              : qemu_args->parsed() ? qemu_args_args.plan.file
                              : run->parsed()       ? run_args.plan.file
                              : pod->parsed()       ? pod_args.plan.file
                                                    : plan_args.plan.file;
    try {
        if (qemu_args->parsed()) return cmd_qemu_args(qemu_args_args);
        if (validate->parsed()) return cmd_validate(validate_file);
        if (plan->parsed()) return cmd_plan(plan_args);
        if (run->parsed()) return cmd_run(run_args);
        if (status->parsed()) return cmd_status(status_ref, status_output);
        if (console->parsed()) return cmd_console(console_ref);
        if (pod->parsed()) return cmd_pod(pod_args);
        if (capacity->parsed()) return cmd_capacity(capacity_args);
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
