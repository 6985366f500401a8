// The VMI's scheduling and DNS fields in the Pod, as KubeVirt's
// TemplateService renders them (pkg/virt-controller/services/template.go
// and nodeselectorrenderer.go): copied as given, with the Pod's hostname
// from the VMI and, on request, the node selectors KubeVirt adds.
#include <nlohmann/json.hpp>

#include "launcher/pod_render.hpp"

namespace launcher {
namespace {

using json = nlohmann::ordered_json;

// KubeVirt's node labeller sets these on nodes where virt-handler runs
// (api/core/v1 types.go NodeSchedulable and CPUManager). A cluster without
// KubeVirt has no node carrying them, so they are added only when asked.
constexpr const char* schedulable_label = "kubevirt.io/schedulable";
constexpr const char* cpu_manager_label = "kubevirt.io/cpumanager";

// KubeVirt's dns.SanitizeHostname: the VMI's hostname, else its name up to
// the first dot, at most 63 characters.
std::string pod_hostname(const vmi::VmiSpec& spec) {
    if (!spec.scheduling.hostname.empty()) return spec.scheduling.hostname;
    std::string name = spec.metadata.name.substr(0, spec.metadata.name.find('.'));
    if (name.size() > 63) name.resize(63);
    return name;
}

void put_object(json& pod_spec, const char* key, const std::string& text) {
    if (!text.empty()) pod_spec[key] = json::parse(text);
}

void put_string(json& pod_spec, const char* key, const std::string& text) {
    if (!text.empty()) pod_spec[key] = text;
}

}  // namespace

void add_scheduling(json& pod_spec, const vmi::VmiSpec& spec, const PodOptions& options) {
    const vmi::Scheduling& s = spec.scheduling;
    pod_spec["hostname"] = pod_hostname(spec);
    put_string(pod_spec, "subdomain", s.subdomain);

    // NewNodeSelectorRenderer: KubeVirt's own selector first, the VMI's
    // over it; Render() then sets the CPU manager label for dedicated CPUs.
    std::map<std::string, std::string> selector;
    if (options.kubevirt_node_labels) selector[schedulable_label] = "true";
    for (const auto& [key, value] : s.node_selector) selector[key] = value;
    if (options.kubevirt_node_labels && spec.domain.cpu.dedicated_cpu_placement) selector[cpu_manager_label] = "true";
    if (!selector.empty()) {
        json node_selector = json::object();
        for (const auto& [key, value] : selector) node_selector[key] = value;
        pod_spec["nodeSelector"] = node_selector;
    }

    put_object(pod_spec, "affinity", s.affinity);
    put_object(pod_spec, "tolerations", s.tolerations);
    put_object(pod_spec, "topologySpreadConstraints", s.topology_spread_constraints);
    put_string(pod_spec, "schedulerName", s.scheduler_name);
    put_string(pod_spec, "priorityClassName", s.priority_class_name);
    put_string(pod_spec, "dnsPolicy", s.dns_policy);
    put_object(pod_spec, "dnsConfig", s.dns_config);
}

}  // namespace launcher
