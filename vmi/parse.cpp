#include "vmi/parse.hpp"

#include <array>

#include <fmt/format.h>

#include "vmi/field_annotations.hpp"
#include "vmi/limits.hpp"
#include "vmi/parse_parts.hpp"
#include "vmi/yaml_input.hpp"

namespace vmi {
namespace {

constexpr std::array supported_api_versions{"kubevirt.io/v1", "kubevirt.io/v1alpha3", "kubevirt.io/v1alpha2"};

}  // namespace

namespace detail {

void parse_metadata(const Node& node, Metadata& out, std::vector<Warning>& warnings) {
    MapReader m(node, warnings);
    if (auto n = m.take("name")) {
        out.name = n->as_string();
        out.name_ref = n->where();
    } else {
        out.name_ref = m.where().child("name");
    }
    if (auto n = m.take("namespace")) {
        out.namespace_name = n->as_string();
        out.namespace_ref = n->where();
    } else {
        out.namespace_ref = m.where().child("namespace");
    }
    if (auto n = m.take("uid")) out.uid = n->as_string();
    if (auto n = m.take("labels")) out.labels = n->as_string_map();
    if (auto n = m.take("annotations")) out.annotations = n->as_string_map();
    m.finish();
}

}  // namespace detail

namespace {

// Labels are copied onto the Pod and kept for the VM's life: Kubernetes'
// sizes, and a count.
void check_metadata_sizes(const Metadata& md, const std::string& metadata_path) {
    const FieldRef labels{metadata_path + ".labels", std::nullopt};
    if (md.labels.size() > limits::labels) {
        throw SpecError(labels, fmt::format("{} labels; the limit is {}", md.labels.size(), limits::labels));
    }
    for (const auto& [key, value] : md.labels) {
        if (key.empty() || key.size() > limits::label_key_bytes) {
            throw SpecError(labels, fmt::format("label key \"{:.40}\" is {} bytes; a key has 1 to {}", key, key.size(),
                                                limits::label_key_bytes));
        }
        if (value.size() > limits::label_value_bytes) {
            throw SpecError(labels.child(key), fmt::format("the value is {} bytes; a label value has at most {}",
                                                           value.size(), limits::label_value_bytes));
        }
    }
    const FieldRef annotations{metadata_path + ".annotations", std::nullopt};
    if (md.annotations.size() > limits::annotations) {
        throw SpecError(annotations, fmt::format("{} annotations; the limit is {}", md.annotations.size(),
                                                 limits::annotations));
    }
    std::size_t total = 0;
    for (const auto& [key, value] : md.annotations) total += key.size() + value.size();
    if (total > limits::annotation_bytes) {
        throw SpecError(annotations, fmt::format("keys and values total {} bytes; the limit is {} (Kubernetes' own)",
                                                 total, limits::annotation_bytes));
    }
}

// Keeps the first warnings and says how many more there were: a file of
// unknown fields cannot grow what the launcher holds for the VM's life.
void cap_warnings(std::vector<Warning>& warnings) {
    if (warnings.size() <= limits::warnings) return;
    const std::size_t more = warnings.size() - limits::warnings;
    warnings.resize(limits::warnings);
    warnings.push_back({"", fmt::format("{} more warnings not shown", more)});
    warnings.shrink_to_fit();
}

}  // namespace

namespace {

// A probe run by `exec` in the guest: KubeVirt's overhead counts its
// virt-probe process. The probe itself is left to the field policy.
bool has_exec_probe(const Node& spec, const char* key) {
    const YAML::Node& y = spec.yaml();
    if (!y.IsMap()) return false;
    // A missing key gives a node that is not defined (and throws on IsMap).
    const YAML::Node probe = y[key];
    if (!probe.IsDefined() || !probe.IsMap()) return false;
    const YAML::Node exec = probe["exec"];
    return exec.IsDefined() && !exec.IsNull();
}

}  // namespace

void detail::parse_vmi_spec(const Node& node, VmiSpec& out) {
    out.overhead_inputs.liveness_probe_exec = has_exec_probe(node, "livenessProbe");
    out.overhead_inputs.readiness_probe_exec = has_exec_probe(node, "readinessProbe");
    MapReader s(node, out.warnings);
    out.domain = detail::parse_domain(s.require("domain"), out.warnings);
    detail::parse_scheduling(s, out.domain, out.scheduling, out.warnings);
    if (auto n = s.take("volumes")) out.volumes = detail::parse_volumes(*n, out.warnings);
    if (auto n = s.take("networks")) out.networks = detail::parse_networks(*n, out.warnings);
    if (auto n = s.take("terminationGracePeriodSeconds")) {
        out.termination_grace_period_seconds = n->as_int(0, 365LL * 24 * 3600);
    }
    s.finish();
}

VmiSpec parse_vmi(std::string_view yaml_text) {
    YAML::Node root = load_yaml(yaml_text);
    VmiSpec out;
    MapReader top(Node(root, FieldRef{}), out.warnings);

    Node api = top.require("apiVersion");
    out.api_version = api.as_string();
    if (std::find(supported_api_versions.begin(), supported_api_versions.end(), out.api_version) ==
        supported_api_versions.end()) {
        api.fail(fmt::format("\"{}\" is not supported (use kubevirt.io/v1, kubevirt.io/v1alpha3 or kubevirt.io/v1alpha2)",
                             out.api_version));
    }
    Node kind = top.require("kind");
    const std::string kind_text = kind.as_string();
    if (kind_text != "VirtualMachineInstance" && kind_text != "VirtualMachine") {
        kind.fail(fmt::format("\"{}\" is not supported (use VirtualMachineInstance or VirtualMachine)", kind_text));
    }
    out.from_virtual_machine = kind_text == "VirtualMachine";
    out.metadata.namespace_name = "default";
    detail::parse_metadata(top.require("metadata"), out.metadata, out.warnings);

    if (out.from_virtual_machine) {
        detail::parse_virtual_machine_spec(top.require("spec"), out);
    } else {
        detail::parse_vmi_spec(top.require("spec"), out);
    }
    top.finish();
    // A VirtualMachine's VMI takes its labels and annotations from the template.
    const std::string metadata_path = out.from_virtual_machine ? "spec.template.metadata" : "metadata";
    check_metadata_sizes(out.metadata, metadata_path);
    warn_unacted_annotations(out.metadata.annotations, metadata_path + ".annotations", out.warnings);
    cap_warnings(out.warnings);
    return out;
}

const Volume* VmiSpec::find_volume(const std::string& name) const {
    for (const auto& v : volumes) {
        if (v.name == name) return &v;
    }
    return nullptr;
}

std::uint32_t VmiSpec::vcpus() const {
    const auto& c = domain.cpu;
    return std::max(c.sockets, 1u) * std::max(c.cores, 1u) * std::max(c.threads, 1u);
}

}  // namespace vmi
