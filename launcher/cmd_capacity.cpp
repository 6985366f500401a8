// capacity: how many of these VMIs a node holds, by requests and by what
// they may really touch, under the launcher's overhead model and one of KubeVirt's.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "launcher/exit_codes.hpp"
#include "launcher/input.hpp"
#include "launcher/overhead_options.hpp"
#include "launcher/plan_args.hpp"
#include "launcher/pod_commands.hpp"
#include "vmi/capacity.hpp"
#include "vmi/quantity.hpp"
#include "vmi/validate.hpp"

namespace launcher {
namespace {

using json = nlohmann::ordered_json;

vmi::Bytes quantity_bytes(const std::string& option, const std::string& text) {
    std::string why;
    const auto q = vmi::Quantity::try_parse(text, &why);
    if (!q) throw std::runtime_error(fmt::format("{}: \"{}\" is not a quantity: {}", option, text, why));
    const auto b = q->bytes();
    if (!b) throw std::runtime_error(fmt::format("{}: \"{}\" is not a byte count", option, text));
    return *b;
}

std::string gib(std::int64_t bytes) {
    return fmt::format("{:.2f}", static_cast<double>(bytes) / static_cast<double>(std::int64_t{1} << 30));
}
std::string gib(vmi::Bytes b) { return gib(static_cast<std::int64_t>(b.value)); }

std::string table(const vmi::NodeMemory& node, const std::vector<vmi::CapacityRow>& rows) {
    std::string out = fmt::format(
        "node {} GiB - reserved {} GiB - system pods {} GiB = {} GiB allocatable to VMIs ({} bytes)\n\n",
        gib(node.node), gib(node.reserved), gib(node.system), gib(node.allocatable()), node.allocatable().value);
    const char* head = "{:<26} {:<9} {:>6} {:>8} {:>8}  {:>3} {:>5} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6}\n";
    out += fmt::format(fmt::runtime(head), "VMI", "overhead", "guest", "overhead", "request", "fit", "sched",
                       "requested", "guests", "free", "touch", "free", "ratio");
    out += fmt::format(fmt::runtime(head), "", "model", "GiB", "GiB", "GiB", "", "", "GiB", "GiB", "guests", "GiB",
                       "touch", "");
    bool rounding_differs = false;
    for (const auto& r : rows) {
        rounding_differs |= r.fit != r.scheduler_fit;
        out += fmt::format("{:<26} {:<9} {:>6} {:>8} {:>8}{} {:>3} {:>5} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6.3f}\n",
                           r.vmi, vmi::to_string(r.model), gib(r.guest), gib(r.overhead), gib(r.pod_request),
                           r.overhead_requested ? " " : "*", r.fit, r.scheduler_fit, gib(r.requested), gib(r.guests),
                           gib(r.free_after_guests), gib(r.touch), gib(r.free_after_touch), r.overcommit_ratio);
    }
    out += "\n"
           "request    what each pod asks the scheduler for: request + overhead, or the request alone (*) with\n"
           "           overcommitGuestOverhead\n"
           "fit        floor(allocatable / request), the request exact as written (9.7Gi = 10415295692.8 bytes)\n"
           "sched      the same as kube-scheduler adds requests up: each rounded up to whole bytes\n"
           "requested  fit x request; guests: fit x guest memory (-m)\n"
           "free       allocatable - guests (the node's memory no guest can use), and allocatable - touch\n"
           "touch      fit x (guest + overhead): what the VMs may really touch when every guest uses all its memory\n"
           "ratio      touch / allocatable: above 1 the node is overcommitted\n";
    if (rounding_differs) {
        out += "\nfit and sched differ where a request is no whole number of bytes: rounded up, the last pod's\n"
               "request exceeds what is left by a few bytes, and a real scheduler leaves it pending.\n";
    }
    return out;
}

json row_json(const vmi::CapacityRow& r) {
    return {{"vmi", r.vmi},
            {"overhead_model", vmi::to_string(r.model)},
            {"guest_bytes", r.guest.value},
            {"overhead_bytes", r.overhead.value},
            {"pod_request_bytes", r.pod_request.value},
            {"overhead_requested", r.overhead_requested},
            {"fit", r.fit},
            {"scheduler_fit", r.scheduler_fit},
            {"requested_bytes", r.requested.value},
            {"unrequested_bytes", r.unrequested},
            {"guests_bytes", r.guests.value},
            {"free_after_guests_bytes", r.free_after_guests},
            {"touch_bytes", r.touch.value},
            {"free_after_touch_bytes", r.free_after_touch},
            {"overcommit_ratio", r.overcommit_ratio},
            {"guest_to_request", r.guest_to_request}};
}

}  // namespace

CLI::App* add_capacity_command(CLI::App& app, CapacityCommandArgs& a) {
    auto* cmd = app.add_subcommand(
        "capacity", "How many of these VMIs a node holds by requests, how much memory they may really touch, and the "
                    "overcommit ratio, under the launcher's overhead model and one of KubeVirt's (--overhead-model)");
    cmd->add_option("FILE", a.files, "VMI YAML files (each is counted on its own)")->required();
    cmd->add_option("--node-memory", a.node_memory, "the node's memory (a quantity: 100Gi)")->required();
    cmd->add_option("--reserved", a.reserved, "kube-reserved + system-reserved + eviction threshold")
        ->capture_default_str();
    cmd->add_option("--system", a.system, "memory requested by system pods on the node")->capture_default_str();
    cmd->add_option("--accel", a.accel, "the accelerator the pods run with")
        ->check(CLI::IsMember({"kvm", "tcg"}))
        ->capture_default_str();
    cmd->add_option("--memory-overcommit", a.memory_overcommit, "KubeVirt's cluster memoryOvercommit percentage")
        ->check(CLI::Range(10u, 1000u))
        ->type_name("PCT")
        ->capture_default_str();
    add_overhead_options(*cmd, a.overhead_model, a.overhead_ratio, true);
    cmd->add_option("-o,--output", a.output, "table or json")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
    return cmd;
}

int cmd_capacity(const CapacityCommandArgs& args) {
    vmi::NodeMemory node{quantity_bytes("--node-memory", args.node_memory), quantity_bytes("--reserved", args.reserved),
                         quantity_bytes("--system", args.system)};
    try {
        (void)node.allocatable();
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(e.what());
    }
    std::vector<vmi::CapacityRow> rows;
    for (const auto& file : args.files) {
        const vmi::VmiSpec spec = vmi::load_vmi(read_input(file));
        for (const auto& model : {std::string("launcher"), args.overhead_model}) {
            PlanArgs plan;
            plan.overhead_model = model;
            plan.overhead_ratio = args.overhead_ratio;
            plan.memory_overcommit = args.memory_overcommit;
            // Each VM runs in a pod with its launcher, as `pod` renders it.
            const auto p = vmi::plan_memory(
                spec, plan_options(plan, args.accel == "tcg" ? vmi::Accel::tcg : vmi::Accel::kvm, true));
            rows.push_back(vmi::capacity_for(spec, p, node));
        }
    }
    if (args.output == "json") {
        json out;
        out["node"] = {{"node_bytes", node.node.value},
                       {"reserved_bytes", node.reserved.value},
                       {"system_bytes", node.system.value},
                       {"allocatable_bytes", node.allocatable().value}};
        out["accel"] = args.accel;
        out["memory_overcommit_percent"] = args.memory_overcommit;
        out["overhead_ratio"] = args.overhead_ratio;
        out["rows"] = json::array();
        for (const auto& r : rows) out["rows"].push_back(row_json(r));
        std::cout << out.dump(2) << "\n";
    } else {
        std::cout << table(node, rows);
    }
    return exit_ok;
}

}  // namespace launcher
