// A VirtualMachine: its own fields (runStrategy, running, dataVolumeTemplates,
// instancetype, preference) and its template, which is read exactly as the
// VirtualMachineInstance KubeVirt would create from it: KubeVirt's VM
// controller gives that VMI the template's metadata with the VM's name and
// namespace, and the template's spec.
#include <fmt/format.h>

#include "vmi/field_policy.hpp"
#include "vmi/parse_parts.hpp"

namespace vmi::detail {
namespace {

constexpr std::string_view template_prefix = "spec.template.";

// The template's fields keep the user's path for messages and are looked up
// in the VMI's field policy as if the template were the document.
Node as_vmi_root(const Node& node) {
    FieldRef where = node.where();
    where.scope = PolicyScope::vmi;
    where.policy_offset = template_prefix.size();
    return Node(node.yaml(), where);
}

Node as_vm_field(const Node& node) {
    FieldRef where = node.where();
    where.scope = PolicyScope::virtual_machine;
    where.policy_offset = 0;
    return Node(node.yaml(), where);
}

constexpr std::string_view once_note =
    "vmi-launcher runs the VM once and exits when it stops; for restarts, restart the launcher from its "
    "supervisor (systemd Restart=, a Pod's restartPolicy)";

// What the launcher does with each run strategy: it starts the VM when asked
// to run it and never restarts it, which is KubeVirt's Once. The others warn
// where the VM's life differs, and WaitAsReceiver, which would start no VM,
// is refused.
void apply_run_strategy(const Node& node, const std::string& strategy, std::vector<Warning>& warnings) {
    if (strategy == "Once") return;
    if (strategy == "Always") {
        warnings.push_back({node.where().path, fmt::format("Always asks KubeVirt to restart the VM whenever it stops; {}",
                                                           once_note)});
    } else if (strategy == "RerunOnFailure") {
        warnings.push_back({node.where().path,
                            fmt::format("RerunOnFailure asks KubeVirt to restart the VM when it fails; {}", once_note)});
    } else if (strategy == "Manual") {
        warnings.push_back({node.where().path,
                            "Manual leaves starting to `virtctl start`; vmi-launcher starts the VM now, as that would, "
                            "and runs it once"});
    } else if (strategy == "Halted") {
        warnings.push_back({node.where().path,
                            "Halted asks for a stopped VM; vmi-launcher starts it because it was asked to (as "
                            "`virtctl start` would) and runs it once"});
    } else if (strategy == "WaitAsReceiver") {
        node.fail("WaitAsReceiver makes the VM wait for an incoming live migration, which vmi-launcher cannot "
                  "receive; use Once to start it");
    } else {
        node.fail(fmt::format("\"{:.64}\" is not a KubeVirt run strategy (Always, Halted, Manual, RerunOnFailure, Once "
                              "or WaitAsReceiver)",
                              strategy));
    }
}

void read_run_strategy(MapReader& s, std::vector<Warning>& warnings) {
    const auto strategy = s.take("runStrategy");
    const auto running = s.take("running");
    if (strategy && running) {
        running->fail("running and runStrategy are mutually exclusive (KubeVirt refuses both); keep runStrategy");
    }
    if (strategy) apply_run_strategy(*strategy, strategy->as_string(), warnings);
    if (running) {
        // KubeVirt reads running: true as Always and running: false as Halted.
        if (running->as_bool()) {
            warnings.push_back({running->where().path,
                                fmt::format("true asks KubeVirt to restart the VM whenever it stops; {}", once_note)});
        } else {
            warnings.push_back({running->where().path,
                                "false asks for a stopped VM; vmi-launcher starts it because it was asked to (as "
                                "`virtctl start` would) and runs it once"});
        }
    }
}

// Fields that ask for something the launcher cannot do; empty ones ask nothing.
void refuse_unsupported(MapReader& s) {
    for (auto key : {"dataVolumeTemplates", "instancetype", "preference"}) {
        const auto n = s.take(key);
        if (!n) continue;
        if (n->yaml().IsSequence() && n->yaml().size() == 0) continue;
        const auto policy = vm_policy_for(std::string(n->where().path));
        n->fail(refusal_message(n->where().path, policy->reason));
    }
}

// The template's metadata is the VMI's: its labels and annotations, and not
// the VirtualMachine's own, reach the VMI and its Pod.
void parse_template_metadata(const Node& node, Metadata& out, std::vector<Warning>& warnings) {
    MapReader m(node, warnings);
    out.labels.clear();
    out.annotations.clear();
    if (auto n = m.take("labels")) out.labels = n->as_string_map();
    if (auto n = m.take("annotations")) out.annotations = n->as_string_map();
    m.ignore("name", "ignored: the VMI takes the VirtualMachine's name");
    m.ignore("namespace", "ignored: the VMI takes the VirtualMachine's namespace");
    m.ignore("uid", "ignored: the VMI gets its own uid");
    m.finish();
}

// The VirtualMachine's own labels, annotations and uid describe the VM
// object; KubeVirt does not copy them to the VMI.
void drop_vm_metadata(Metadata& md, std::vector<Warning>& warnings) {
    const std::string_view why = "are the VirtualMachine's own; the VMI and its Pod get spec.template.metadata's; ignored";
    if (!md.labels.empty()) warnings.push_back({"metadata.labels", fmt::format("{}", why)});
    if (!md.annotations.empty()) warnings.push_back({"metadata.annotations", fmt::format("{}", why)});
    if (!md.uid.empty()) warnings.push_back({"metadata.uid", "is the VirtualMachine's; ignored"});
    md.labels.clear();
    md.annotations.clear();
    md.uid.clear();
}

}  // namespace

void parse_virtual_machine_spec(const Node& node, VmiSpec& out) {
    MapReader s(as_vm_field(node), out.warnings);
    read_run_strategy(s, out.warnings);
    refuse_unsupported(s);
    drop_vm_metadata(out.metadata, out.warnings);
    Node tmpl = s.require("template");
    MapReader t(as_vmi_root(tmpl), out.warnings);
    if (auto n = t.take("metadata")) parse_template_metadata(*n, out.metadata, out.warnings);
    parse_vmi_spec(t.require("spec"), out);
    t.finish();
    s.finish();
}

}  // namespace vmi::detail
