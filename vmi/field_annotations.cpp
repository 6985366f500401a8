#include "vmi/field_annotations.hpp"

#include <array>

#include <fmt/format.h>

namespace vmi {
namespace {

// From KubeVirt's source: api/core/v1/types.go, pkg/hooks and cmd/sidecars
// name these keys; virt-launcher (or a sidecar it runs) changes the domain.
constexpr std::array table{
    KubevirtAnnotation{"hooks.kubevirt.io/hookSidecars",
                       "runs hook sidecars that rewrite the VM's domain before it starts"},
    KubevirtAnnotation{"smbios.vm.kubevirt.io/", "sets SMBIOS strings through KubeVirt's smbios hook sidecar"},
    KubevirtAnnotation{"diskimage.vm.kubevirt.io/", "changes the boot disk through KubeVirt's disk-mutation hook "
                                                    "sidecar"},
    KubevirtAnnotation{"kubevirt.io/ignitiondata", "passes Ignition data to the guest through QEMU's fw_cfg"},
    KubevirtAnnotation{"kubevirt.io/free-page-reporting-disabled",
                       "turns off free page reporting on the memory balloon"},
    KubevirtAnnotation{"kubevirt.io/pci-topology-version", "selects KubeVirt's PCI slot layout"},
    KubevirtAnnotation{"kubevirt.io/pci-interface-slot-count", "reserves PCI slots for hot-plugged interfaces"},
};

bool matches(std::string_view key, const KubevirtAnnotation& a) {
    return a.key.ends_with('/') ? key.starts_with(a.key) : key == a.key;
}

}  // namespace

std::vector<KubevirtAnnotation> unacted_annotations() { return {table.begin(), table.end()}; }

void warn_unacted_annotations(const std::map<std::string, std::string>& annotations,
                              const std::string& annotations_path, std::vector<Warning>& warnings) {
    for (const auto& [key, value] : annotations) {
        for (const auto& a : table) {
            if (!matches(key, a)) continue;
            warnings.push_back({fmt::format("{}.{}", annotations_path, key),
                                fmt::format("KubeVirt's annotation {} {}; vmi-launcher does not act on it, and the "
                                            "VM runs without that change",
                                            key, a.effect)});
            break;
        }
    }
}

}  // namespace vmi
