// What a user is told about fields the launcher does not act on: KubeVirt's
// fields by name with the reason, names of no KubeVirt release as unknown
// with the field they most likely mean, and resource names by Kubernetes' rules.
#include <catch2/catch.hpp>

#include "error_of.hpp"
#include "vmi/field_verdict.hpp"
#include "vmi/validate.hpp"

using namespace vmi;
using test_files::error_of;

namespace {

const std::string head = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\n";
const std::string domain = "spec:\n  domain:\n    memory:\n      guest: 256Mi\n";

bool has_warning(const VmiSpec& s, const std::string& path, const std::string& part) {
    for (const auto& w : s.warnings) {
        if (w.path == path && w.message.find(part) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("a near miss of a KubeVirt field is unknown, with the field it likely means") {
    CHECK(judge_untaken(PolicyScope::vmi, "spec.volumes.persistentVolumeClaim", "claimname") ==
          UntakenVerdict{true, "unknown field (in no KubeVirt release); did you mean \"claimName\"?"});
    CHECK(judge_untaken(PolicyScope::vmi, "spec.domain", "memroy").message ==
          "unknown field (in no KubeVirt release); did you mean \"memory\"?");
    CHECK(judge_untaken(PolicyScope::vmi, "spec.domain.devices", "Disks").message ==
          "unknown field (in no KubeVirt release); did you mean \"disks\"?");
    // Nothing close: no guess.
    CHECK(judge_untaken(PolicyScope::vmi, "spec.domain.devices", "flux-capacitor").message ==
          "unknown field (in no KubeVirt release)");
    // Outside spec an unknown field is a warning.
    CHECK(judge_untaken(PolicyScope::vmi, "metadata", "lables") ==
          UntakenVerdict{false, "unknown field (in no KubeVirt release), ignored; did you mean \"labels\"?"});
    // Siblings are looked up in the VirtualMachine's own spec there.
    CHECK(judge_untaken(PolicyScope::virtual_machine, "spec", "runstrategy").message ==
          "unknown field (in no KubeVirt release); did you mean \"runStrategy\"?");

    const std::string vmi = head + domain +
                            "    devices:\n      disks:\n      - name: d\n  volumes:\n  - name: d\n"
                            "    persistentVolumeClaim:\n      claimname: c\n";
    // The typo is reported where it is, even though it leaves a required field out.
    CHECK_THAT(error_of(vmi), Catch::StartsWith("spec.volumes[0].persistentVolumeClaim.claimname: ") &&
                                  Catch::Contains("did you mean \"claimName\"?"));
}

TEST_CASE("real KubeVirt fields the launcher does not act on are named as KubeVirt's, never unknown") {
    for (const auto& [parent, key] : std::vector<std::pair<std::string, std::string>>{
             {"spec.domain.devices", "tpm"},
             {"spec.domain.devices", "filesystems"},
             {"spec.domain.devices", "hostDevices"},
             {"spec.domain.devices.interfaces", "sriov"},
             {"spec.volumes", "dataVolume"},
             {"spec.domain.devices.interfaces", "binding"},
             {"spec.domain.devices.interfaces", "passtBinding"},
             {"spec.domain", "launchSecurity"},
             {"spec.domain.firmware.bootloader.efi", "persistent"},
             {"spec.networks", "genie"},
             {"spec.domain.devices.disks", "floppy"},
             {"spec", "utilityVolumes"},
         }) {
        INFO(parent << "." << key);
        const auto v = judge_untaken(PolicyScope::vmi, parent, key);
        CHECK(v.refuse);
        CHECK_THAT(v.message, Catch::StartsWith("KubeVirt's " + parent + "." + key + " is not supported by "
                                                "vmi-launcher: "));
    }
    for (const auto& [parent, key] : std::vector<std::pair<std::string, std::string>>{
             {"spec.domain.devices", "video"},
             {"spec.domain.devices", "panicDevices"},
             {"spec", "serviceAccountName"},
             {"spec", "resourceClaims"},
             {"metadata", "clusterName"},
             {"spec.domain.devices.disks", "changedBlockTracking"},
         }) {
        INFO(parent << "." << key);
        const auto v = judge_untaken(PolicyScope::vmi, parent, key);
        CHECK_FALSE(v.refuse);
        CHECK(v.message.find("unknown") == std::string::npos);
    }
    CHECK(judge_untaken(PolicyScope::virtual_machine, "spec", "flavor").refuse);
    CHECK_FALSE(judge_untaken(PolicyScope::virtual_machine, "spec", "liveUpdateFeatures").refuse);
}

TEST_CASE("a genie network (KubeVirt v0.9 to v0.28) is refused as such, not as a network without a source") {
    const std::string vmi = "apiVersion: kubevirt.io/v1alpha3\nkind: VirtualMachineInstance\nmetadata:\n  name: t\n" +
                            domain + "  networks:\n  - name: default\n    genie:\n      networkName: flannel\n";
    CHECK_THAT(error_of(vmi), Catch::StartsWith("spec.networks[0].genie: ") &&
                                  Catch::Contains("KubeVirt's spec.networks.genie is not supported by vmi-launcher: "
                                                  "CNI-Genie networks left KubeVirt in v0.29"));
    // A network with no source at all is still told what it needs.
    CHECK_THAT(error_of(head + domain + "  networks:\n  - name: default\n"),
               Catch::Contains("a network needs pod or multus"));
}

TEST_CASE("a floppy disk (KubeVirt before v0.51) is refused with the reason and what to use") {
    const std::string vmi = head + domain + "    devices:\n      disks:\n      - name: f\n        floppy: {}\n";
    CHECK_THAT(error_of(vmi), Catch::StartsWith("spec.domain.devices.disks[0].floppy: ") &&
                                  Catch::Contains("KubeVirt's spec.domain.devices.disks.floppy is not supported by "
                                                  "vmi-launcher: floppy disks left KubeVirt in v0.51") &&
                                  Catch::Contains("use disk or cdrom"));
}

TEST_CASE("resource names follow Kubernetes: extended resources warn, misspelt standard ones are refused") {
    const std::string res = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\n"
                            "spec:\n  domain:\n    resources:\n      requests:\n        memory: 256Mi\n";
    const VmiSpec s = load_vmi(res + "        intel.com/sriov: \"1\"\n        hugepages-2Mi: 256Mi\n");
    CHECK(has_warning(s, "spec.domain.resources.requests.intel.com/sriov", "is an extended resource"));
    CHECK(has_warning(s, "spec.domain.resources.requests.hugepages-2Mi", "spec.domain.memory.hugepages"));
    CHECK_THAT(error_of(res + "        Memory: 1Gi\n"),
               Catch::StartsWith("spec.domain.resources.requests.Memory") &&
                   Catch::Contains("is not a Kubernetes resource name") &&
                   Catch::Contains("did you mean \"memory\"?"));
    CHECK_THAT(error_of(res + "        gpu: \"1\"\n"), Catch::Contains("is not a Kubernetes resource name"));
    // limits are a resource list too.
    const VmiSpec l = load_vmi(res + "      limits:\n        memory: 256Mi\n        nvidia.com/gpu: \"1\"\n");
    CHECK(has_warning(l, "spec.domain.resources.limits.nvidia.com/gpu", "is an extended resource"));
}

TEST_CASE("a VirtualMachine's template gets the VMI's verdicts at the template's path") {
    const std::string vm = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: vm\nspec:\n"
                           "  template:\n    spec:\n      domain:\n        memory:\n          guest: 128Mi\n"
                           "        devices:\n          video: {type: vga}\n";
    CHECK(has_warning(load_vmi(vm), "spec.template.spec.domain.devices.video", "no display"));
    CHECK_THAT(error_of(vm + "          tpmm: {}\n"),
               Catch::StartsWith("spec.template.spec.domain.devices.tpmm") &&
                   Catch::Contains("unknown field (in no KubeVirt release); did you mean \"tpm\"?"));
}

TEST_CASE("annotations KubeVirt reads to change the VM get a warning naming them") {
    const std::string vmi = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\n"
                            "  annotations:\n"
                            "    hooks.kubevirt.io/hookSidecars: '[{\"image\": \"smbios:v1\"}]'\n"
                            "    smbios.vm.kubevirt.io/baseBoardManufacturer: Acme\n"
                            "    kubevirt.io/ignitiondata: '{}'\n"
                            "    note: harmless\n" +
                            domain;
    const VmiSpec s = load_vmi(vmi);
    CHECK(has_warning(s, "metadata.annotations.hooks.kubevirt.io/hookSidecars",
                      "KubeVirt's annotation hooks.kubevirt.io/hookSidecars runs hook sidecars"));
    CHECK(has_warning(s, "metadata.annotations.smbios.vm.kubevirt.io/baseBoardManufacturer", "SMBIOS"));
    CHECK(has_warning(s, "metadata.annotations.kubevirt.io/ignitiondata", "Ignition"));
    CHECK_FALSE(has_warning(s, "metadata.annotations.note", ""));
    // In a VirtualMachine the VMI's annotations are the template's.
    const std::string vm = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: vm\nspec:\n"
                           "  template:\n    metadata:\n      annotations:\n"
                           "        hooks.kubevirt.io/hookSidecars: '[]'\n"
                           "    spec:\n      domain:\n        memory:\n          guest: 128Mi\n";
    CHECK(has_warning(load_vmi(vm), "spec.template.metadata.annotations.hooks.kubevirt.io/hookSidecars",
                      "does not act on it"));
}
