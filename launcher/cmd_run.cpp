// run: plan everything (pure), then hand it to the supervisor.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cgroups/detect.hpp"
#include "cgroups/limits.hpp"
#include "cgroups/mode.hpp"
#include "cgroups/vm_cgroup.hpp"
#include "launcher/exit_codes.hpp"
#include "launcher/input.hpp"
#include "launcher/log.hpp"
#include "launcher/plan_args.hpp"
#include "launcher/rotating_log.hpp"
#include "launcher/run_args.hpp"
#include "launcher/state_dir.hpp"
#include "launcher/supervisor.hpp"
#include "qemu-args/accel.hpp"
#include "qemu-args/build_plan.hpp"
#include "qemu-args/prepare.hpp"
#include "qemu-args/quote.hpp"
#include "qemu-args/sources.hpp"
#include "vmi/validate.hpp"

namespace launcher {
namespace fs = std::filesystem;

namespace {

// The QEMU binary as a path: given with a '/', or found on PATH.
std::string find_qemu(const std::string& name) {
    if (name.find('/') == std::string::npos) {
        const auto found = qemu_args::find_program(name);
        if (!found)
            throw SetupError(fmt::format(
                "QEMU binary {} was not found on PATH (install qemu-system-x86, or give --qemu PATH)", name));
        return *found;
    }
    if (::access(name.c_str(), X_OK) != 0 || fs::is_directory(name))
        throw SetupError(fmt::format("QEMU binary {} is not an executable file", name));
    return name;
}

std::string describe_steps(const VmRun& r, const qemu_args::AccelChoice& accel, const cgroups::VmCgroupSpec& cg) {
    std::string out = "dry run: nothing is started or created\n";
    int n = 0;
    auto step = [&](const std::string& text) { out += fmt::format("{:>2}. {}\n", ++n, text); };
    step(fmt::format("VMI {}/{}: {} vCPU(s), guest {} bytes, {} warning(s)", r.spec.metadata.namespace_name,
                     r.spec.metadata.name, r.spec.vcpus(), r.memory.guest.value, r.spec.warnings.size()));
    step(fmt::format("accelerator {}: {}", vmi::to_string(accel.accel), accel.reason));
    step("cgroups: " + cgroups::describe(r.detection));
    step(fmt::format("cgroup mode {}: {}", cgroups::to_string(r.cgroup_mode.mode), r.cgroup_mode.reason));
    if (r.cgroup_mode.mode == cgroups::Mode::host || r.cgroup_mode.mode == cgroups::Mode::nested) {
        const auto path = cgroups::vm_cgroup_path(r.detection, r.cgroup_mode.mode, cg);
        std::string writes;
        for (const auto& w : cgroups::limit_writes(r.detection.version, cg.limits, true)) {
            writes += fmt::format(" {}={}", w.file, w.value);
        }
        step(fmt::format("create {} (or find it) and lock it; refuse if another launcher holds it; one whose lock is "
                         "free was left by a launcher that is gone: kill what is in it and reuse it; write{}",
                         path.string(), writes));
    } else if (r.cgroup_mode.mode == cgroups::Mode::adopt) {
        step(fmt::format("adopt the launcher's own cgroup; compare its limit with {} bytes; write nothing",
                         cg.limits.max_bytes));
    }
    step(fmt::format("state directory {}: made with its ownership record {}, locked; an existing one is refused "
                     "unless its record names this VMI and its lock is free (then it is emptied and reused)",
                     r.state_dir.string(), state_lock_name));
    for (const auto& p : r.launch.prepare) {
        switch (p.kind) {
            case qemu_args::PrepareStep::Kind::overlay:
                step(fmt::format("qcow2 overlay {} over {} (the base is never written)", p.path, p.source));
                break;
            case qemu_args::PrepareStep::Kind::sparse_file:
                step(fmt::format("sparse file {} of {} bytes (kept if it exists)", p.path, p.size.value));
                break;
            case qemu_args::PrepareStep::Kind::copy_file:
                step(fmt::format("private copy {} of {}", p.path, p.source));
                break;
            case qemu_args::PrepareStep::Kind::cloud_init:
                step(fmt::format("cloud-init seed {} (label cidata) with {} file(s)", p.path, p.files.size()));
                break;
        }
    }
    step(fmt::format("QMP: listen on {} and pass it to QEMU", r.launch.qmp_socket));
    if (!r.launch.console_socket.empty()) {
        step(fmt::format("serial console: a socket pair, QEMU's end passed; the launcher logs to {} (rotated at {} "
                         "bytes) and serves console clients on {}",
                         r.launch.console_log, r.launch.console_log_max_bytes, r.launch.console_socket));
    }
    step("exec, inside the cgroup before its first instruction: " + qemu_args::shell_quote(r.launch.argv));
    step(fmt::format("kill QEMU unless it completes the QMP handshake within {} s", r.qmp_timeout.count()));
    step(fmt::format("watch OOM kills and pressure; on SIGTERM, SIGINT, SIGQUIT or SIGHUP press the power button, "
                     "wait {} s, then SIGTERM and SIGKILL",
                     r.grace_period.count()));
    step("remove the cgroup and the state directory when QEMU is gone");
    return out;
}

}  // namespace

int cmd_run(const RunArgs& args) {
    // The cgroup tree first: where libcgroup serves it, its helper starts now
    // and sets libcgroup up while the VMI is read and planned. A mode that
    // cannot be had is reported after the VMI's own errors.
    VmRun run{};
    // The options first: a bad one is refused before anything is read or made.
    auto interval = [](const std::string& option, const std::string& text) {
        try {
            return vmi::parse_balloon_interval(text);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(option + ": " + e.what());
        }
    };
    if (!args.balloon_poll_interval.empty())
        run.balloon_poll_interval = interval("--balloon-poll-interval", args.balloon_poll_interval);
    if (!args.balloon_quiet.empty()) run.balloon_tuning.quiet = interval("--balloon-quiet", args.balloon_quiet);
    if (!args.balloon_step_interval.empty())
        run.balloon_tuning.step_interval = interval("--balloon-step-interval", args.balloon_step_interval);
    run.detection = cgroups::detect(cgroups::system_inputs(args.cgroup_root));
    std::optional<cgroups::ModeChoice> mode;
    std::string mode_error;
    try {
        mode = cgroups::choose_mode(run.detection, cgroups::parse_mode(args.cgroup_mode));
    } catch (const std::exception& e) {
        mode_error = e.what();
    }
    if (!args.dry_run && mode && mode->mode != cgroups::Mode::none)
        run.backend = std::make_shared<cgroups::PendingBackend>(cgroups::begin_backend(run.detection, mode->mode));

    const vmi::VmiSpec spec = vmi::load_vmi(read_input(args.plan.file));
    const std::string vmi_name = spec.metadata.namespace_name + "/" + spec.metadata.name;
    const LogFormat format = args.log_format.empty()   ? default_log_format(STDOUT_FILENO)
                             : args.log_format == "json" ? LogFormat::json
                                                         : LogFormat::text;
    Log log(format, vmi_name);
    for (const auto& w : spec.warnings) log.warn("vmi_field_ignored", w.text(), {{"field", w.path}});

    // Everything below is decided before anything is made.
    const auto accel = accel_for(args.plan);
    run.spec = spec;
    if (!mode) throw SetupError("cgroup: " + mode_error);
    run.cgroup_mode = *mode;

    run.memory = vmi::plan_memory(
        spec, plan_options(args.plan, accel.accel, run.cgroup_mode.mode == cgroups::Mode::adopt));

    qemu_args::LaunchOptions options = launch_options(args.launch, spec, accel.accel);
    if (!args.dry_run) options.qemu_binary = find_qemu(args.launch.qemu);
    options.console_log = args.console_log.empty() ? "" : fs::absolute(args.console_log).string();
    if (!args.console_log_max.empty()) options.console_log_max_bytes = parse_console_log_max(args.console_log_max);
    run.state_dir = options.state_dir;
    run.launch = qemu_args::build_launch_plan(spec, run.memory, qemu_args::resolve_sources(spec, source_options(args.launch)),
                                              options);

    run.cgroup.vm_namespace = spec.metadata.namespace_name;
    run.cgroup.vm_name = spec.metadata.name;
    if (!args.cgroup_parent.empty()) run.cgroup.parent = args.cgroup_parent;
    run.cgroup.limits.max_bytes = run.memory.cgroup_limit.value;
    run.grace_period = std::chrono::seconds(args.grace_period.value_or(spec.termination_grace_period_seconds.value_or(30)));
    run.qmp_timeout = std::chrono::seconds(args.qmp_timeout);
    if (!args.termination_log.empty()) {
        run.termination_log = args.termination_log;
    } else if (fs::exists("/dev/termination-log")) {
        run.termination_log = "/dev/termination-log";
    }

    if (args.dry_run) {
        std::cout << describe_steps(run, accel, run.cgroup);
        return exit_ok;
    }
    log.info("accel", fmt::format("accelerator {}: {}", vmi::to_string(accel.accel), accel.reason),
             {{"accel", vmi::to_string(accel.accel)}});
    log.info("cgroup_mode", fmt::format("cgroup mode {}: {}", cgroups::to_string(run.cgroup_mode.mode), run.cgroup_mode.reason),
             {{"mode", std::string(cgroups::to_string(run.cgroup_mode.mode))}, {"detection", cgroups::describe(run.detection)}});
    log.info("memory_plan",
             fmt::format("guest {} bytes, cgroup limit {} bytes ({} overhead model)", run.memory.guest.value,
                         run.memory.cgroup_limit.value, vmi::to_string(run.memory.options.model)),
             {{"guest_bytes", run.memory.guest.value},
              {"request_bytes", run.memory.request.value},
              {"overhead_bytes", run.memory.overhead.value},
              {"cgroup_limit_bytes", run.memory.cgroup_limit.value},
              {"pod_request_bytes", run.memory.pod_request.value}});
    for (const auto& w : run.memory.warnings) log.warn("memory_plan_warning", w);
    try {
        return run_vm(log, run);
    } catch (const SetupError& e) {
        log.error("setup_failed", e.what());
        throw;
    }
}

}  // namespace launcher
