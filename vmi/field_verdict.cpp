#include "vmi/field_verdict.hpp"

#include <array>

#include <fmt/format.h>

#include "vmi/field_policy.hpp"
#include "vmi/kubevirt_api.hpp"

namespace vmi {
namespace {

constexpr std::array<std::string_view, 3> standard_resources{"cpu", "memory", "ephemeral-storage"};

// A key of resources.requests or resources.limits (a Kubernetes ResourceList)
// that the parser did not read: cpu and memory are read there.
UntakenVerdict judge_resource(std::string_view name) {
    if (name.starts_with("hugepages-")) {
        return {false, "ignored: the guest's huge pages are given by spec.domain.memory.hugepages"};
    }
    if (name.find('/') != std::string_view::npos) {
        // intel.com/sriov, nvidia.com/gpu: a device plugin's resource. KubeVirt
        // only asks the Pod for it; a device reaches the VM through
        // hostDevices, gpus or an sriov interface, each refused by name.
        return {false, "is an extended resource: KubeVirt only asks the Pod for it and nothing in the VM uses it; "
                       "ignored by the launcher"};
    }
    std::string message = "is not a Kubernetes resource name (cpu, memory, ephemeral-storage, hugepages-<size>, or "
                          "an extended resource such as intel.com/sriov)";
    if (auto near = closest_name(name, standard_resources)) message += fmt::format("; did you mean \"{}\"?", *near);
    return {true, message};
}

bool is_resource_list(std::string_view parent) {
    return parent == "spec.domain.resources.requests" || parent == "spec.domain.resources.limits";
}

}  // namespace

UntakenVerdict judge_untaken(PolicyScope scope, std::string_view parent, std::string_view key,
                             std::string_view shown_prefix) {
    const std::string path = parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
    const bool under_spec = path.starts_with("spec.") || path == "spec";
    if (scope == PolicyScope::vmi && is_resource_list(parent)) return judge_resource(key);
    if (const auto* holder = find_api_field(scope, parent); holder && holder->kind == ApiField::Kind::map) {
        return {false, "ignored"};
    }
    if (const auto* entry = classify(scope, path)) {
        switch (entry->handling) {
            case Handling::reject: return {true, refusal_message(fmt::format("{}{}", shown_prefix, path), entry->reason)};
            case Handling::warn: return {false, std::string(entry->reason)};
            case Handling::acted: return {false, "is read elsewhere but not in this place; ignored"};
        }
    }
    if (find_api_field(scope, path) != nullptr) {
        return {under_spec, refusal_message(fmt::format("{}{}", shown_prefix, path),
                                            "the launcher has no rule for this field")};
    }
    std::string message = under_spec ? "unknown field (in no KubeVirt release)"
                                     : "unknown field (in no KubeVirt release), ignored";
    if (auto near = suggest_api_field(scope, parent, key)) message += fmt::format("; did you mean \"{}\"?", *near);
    return {under_spec, message};
}

}  // namespace vmi
