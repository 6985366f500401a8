// pod: the Kubernetes Pod (and ConfigMap) that runs the launcher for a VMI.
#include <iostream>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "launcher/exit_codes.hpp"
#include "launcher/input.hpp"
#include "launcher/overhead_options.hpp"
#include "launcher/plan_args.hpp"
#include "launcher/pod_commands.hpp"
#include "launcher/pod_render.hpp"
#include "launcher/pod_resources.hpp"
#include "vmi/limits.hpp"
#include "vmi/quantity.hpp"
#include "vmi/validate.hpp"

namespace launcher {
using json = nlohmann::ordered_json;

CLI::App* add_pod_command(CLI::App& app, PodCommandArgs& a) {
    auto* cmd = app.add_subcommand(
        "pod", "Print the Kubernetes Pod that runs the launcher for a VMI (and, with --with-configmap, the ConfigMap "
               "carrying the VMI): memory request and limit from the plan by KubeVirt's rules, CPU request from the "
               "topology, container disks copied in by init containers");
    a.plan.accel = "kvm";
    cmd->add_option("FILE", a.plan.file, "VirtualMachineInstance (or VirtualMachine) YAML; - reads standard input")
        ->required();
    cmd->add_option("--image", a.image, "the launcher's container image")->capture_default_str();
    cmd->add_option("-o,--output", a.output, "yaml or json")
        ->check(CLI::IsMember({"yaml", "json"}))
        ->capture_default_str();
    cmd->add_flag("--with-configmap", a.with_config_map,
                  "print the ConfigMap too (yaml: two documents; json: a v1 List)");
    cmd->add_option("--cgroup-mode", a.cgroup_mode,
                    "adopt: no privileges, the container's cgroup is the VM's; nested: a privileged container "
                    "whose writable cgroup the launcher splits")
        ->check(CLI::IsMember({"adopt", "nested"}))
        ->capture_default_str();
    cmd->add_option("--memory-limit", a.memory_limit,
                    "kubevirt: limits.memory only when the VMI has a limit (limit + overhead) or dedicated CPUs "
                    "(= the request), as KubeVirt; cgroup: always the cgroup limit the launcher enforces on a host; "
                    "ceiling: a ballooned VM's requests at its floor and limits at its ceiling, each + overhead "
                    "(without a balloon: as cgroup)")
        ->check(CLI::IsMember({"kubevirt", "cgroup", "ceiling"}))
        ->capture_default_str();
    add_overhead_options(*cmd, a.plan.overhead_model, a.plan.overhead_ratio);
    cmd->add_option("--balloon", a.plan.balloon,
                    "auto or off: whether the launcher in the pod balloons an overcommitted VM (the floor and "
                    "ceiling --memory-limit ceiling uses)")
        ->check(CLI::IsMember({"auto", "off"}))
        ->capture_default_str();
    cmd->add_option("--volume-mode", a.volume_modes,
                    "a claim's volumeMode, which the VMI does not carry: block attaches it as a device "
                    "(volumeDevices) that QEMU opens as a block device; filesystem (default) mounts it and uses "
                    "its disk.img; repeatable")
        ->type_name("NAME=block|filesystem");
    cmd->add_flag("--kubevirt-node-labels", a.kubevirt_node_labels,
                  "add the node selectors KubeVirt adds (kubevirt.io/schedulable, and kubevirt.io/cpumanager "
                  "with dedicated CPUs): only on clusters whose nodes KubeVirt's virt-handler labels");
    cmd->add_option("--accel", a.plan.accel,
                    "the accelerator the pod runs with (kvm asks for --kvm-resource; tcg counts TCG's cache)")
        ->check(CLI::IsMember({"kvm", "tcg"}))
        ->capture_default_str();
    cmd->add_option("--memory-overcommit", a.plan.memory_overcommit,
                    "KubeVirt's cluster memoryOvercommit percentage (requests of VMIs that give only memory.guest)")
        ->check(CLI::Range(10u, 1000u))
        ->type_name("PCT")
        ->capture_default_str();
    cmd->add_option("--kvm-resource", a.kvm_resource,
                    "the extended resource a device plugin hands /dev/kvm out as (empty: none)")
        ->capture_default_str();
    cmd->add_option("--cpu-allocation-ratio", a.cpu_allocation_ratio,
                    "KubeVirt's cpuAllocationRatio: a vCPU without a CPU request asks for 1/RATIO CPU")
        ->check(CLI::Range(1u, 1000u))
        ->type_name("RATIO")
        ->capture_default_str();
    cmd->add_option("--overlay-size", a.overlay_size,
                    "what one qcow2 overlay (a containerDisk's, an ephemeral claim's) may grow to: part of the state "
                    "emptyDir's sizeLimit")
        ->type_name("QUANTITY")
        ->capture_default_str();
    cmd->add_option("--image-size", a.image_size,
                    "what the files copied from one container image may take: the images emptyDir's sizeLimit per "
                    "image")
        ->type_name("QUANTITY")
        ->capture_default_str();
    return cmd;
}

namespace {

// A size option: a quantity of whole bytes, at most the disk capacity maximum.
vmi::Bytes size_option(const std::string& option, const std::string& text) {
    std::string why;
    const auto q = vmi::Quantity::try_parse(text, &why);
    if (!q) throw std::runtime_error(fmt::format("{}: \"{}\" is not a quantity: it {}", option, text, why));
    const auto b = q->bytes();
    if (!b || b->value == 0 || b->value > vmi::limits::disk_bytes) {
        throw std::runtime_error(fmt::format("{}: \"{}\" must be more than 0 and at most {}", option, text,
                                             vmi::to_string(vmi::Bytes{vmi::limits::disk_bytes})));
    }
    return *b;
}

// --volume-mode NAME=block|filesystem, each volume once: the block ones.
std::set<std::string> block_volumes(const std::vector<std::string>& modes) {
    std::set<std::string> seen;
    std::set<std::string> block;
    for (const auto& m : modes) {
        const auto eq = m.find('=');
        const std::string name = m.substr(0, eq);
        const std::string mode = eq == std::string::npos ? "" : m.substr(eq + 1);
        if (name.empty() || (mode != "block" && mode != "filesystem")) {
            throw std::runtime_error(fmt::format("--volume-mode: \"{}\" is not NAME=block or NAME=filesystem", m));
        }
        if (!seen.insert(name).second) {
            throw std::runtime_error(fmt::format("--volume-mode: volume \"{}\" is given more than once", name));
        }
        if (mode == "block") block.insert(name);
    }
    return block;
}

}  // namespace

int cmd_pod(const PodCommandArgs& args) {
    const std::string text = read_input(args.plan.file);
    const vmi::VmiSpec spec = vmi::load_vmi(text);
    print_warnings(spec);
    const vmi::Accel accel = args.plan.accel == "tcg" ? vmi::Accel::tcg : vmi::Accel::kvm;
    // The launcher shares the pod's memory with QEMU: its own term counts.
    const vmi::MemoryPlan plan = vmi::plan_memory(spec, plan_options(args.plan, accel, true));
    for (const auto& w : plan.warnings) fmt::print(stderr, "warning: {}\n", w);

    PodOptions options;
    options.image = args.image;
    options.cgroup_mode = args.cgroup_mode == "nested" ? PodCgroupMode::nested : PodCgroupMode::adopt;
    options.limit_rule = args.memory_limit == "cgroup"    ? PodLimitRule::cgroup
                         : args.memory_limit == "ceiling" ? PodLimitRule::ceiling
                                                          : PodLimitRule::kubevirt;
    options.block_volumes = block_volumes(args.volume_modes);
    options.kubevirt_node_labels = args.kubevirt_node_labels;
    options.kvm_resource = args.kvm_resource;
    options.cpu_allocation_ratio = args.cpu_allocation_ratio;
    options.overlay_size = size_option("--overlay-size", args.overlay_size);
    options.image_size = size_option("--image-size", args.image_size);
    const PodManifests m = render_pod(spec, plan, text, options);
    if (options.limit_rule == PodLimitRule::ceiling && !plan.balloon.enabled) {
        fmt::print(stderr,
                   "note: --memory-limit ceiling: the launcher will not balloon this VM ({}), so the pod's memory "
                   "limit is the cgroup limit the launcher enforces\n",
                   plan.balloon.why);
    }
    if (!pod_memory(spec, plan, options.limit_rule).limit) {
        fmt::print(stderr,
                   "note: the VMI has no memory limit, so the pod has none (as in KubeVirt); the launcher in the "
                   "pod cannot hold the VM to {} bytes in adopt mode (--memory-limit cgroup sets it)\n",
                   plan.cgroup_limit.value);
    }

    if (args.output == "json") {
        const json out = args.with_config_map
                             ? json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array({m.config_map, m.pod})}}
                             : m.pod;
        std::cout << out.dump(2) << "\n";
    } else {
        if (args.with_config_map) std::cout << manifest_to_yaml(m.config_map) << "---\n";
        std::cout << manifest_to_yaml(m.pod);
    }
    return exit_ok;
}

}  // namespace launcher
