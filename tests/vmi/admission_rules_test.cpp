// KubeVirt's VMI create admitter (pkg/virt-api/webhooks/validating-webhook/
// admitters/vmi-create-admitter.go on main, with the disk rules of
// pkg/storage/admitters/disks.go and the network validator it calls), rule
// by rule: each rule the launcher applies has a bad input here that the
// launcher refuses with a message naming the field. The rules it does not
// apply are listed below with why (README: "KubeVirt's admission rules").
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "error_of.hpp"

using test_files::error_of;

namespace {

// A valid VMI; each rule replaces one line of it.
const std::string good = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: vm1
spec:
  domain:
    cpu:
      cores: 2
    memory:
      guest: 256Mi
    resources:
      requests:
        memory: 256Mi
    firmware:
      uuid: 5d307ca9-b3ef-428c-8861-06e72d69f223
    machine:
      type: q35
    devices:
      disks:
      - name: root
        disk:
          bus: virtio
      interfaces:
      - name: default
        masquerade: {}
  networks:
  - name: default
    pod: {}
  volumes:
  - name: root
    containerDisk:
      image: quay.io/containerdisks/fedora:latest
)";

std::string with(const std::string& from, const std::string& to) {
    const auto at = good.find(from);
    REQUIRE(at != std::string::npos);
    return good.substr(0, at) + to + good.substr(at + from.size());
}

struct Rule {
    std::string kubevirt;  // the function in KubeVirt that checks it
    std::string bad;       // a VMI breaking it
    std::string field;     // what the launcher's message must name
};

}  // namespace

TEST_CASE("the base VMI of the admission rules is valid") { CHECK(error_of(good).empty()); }

TEST_CASE("KubeVirt's create admission rules the launcher applies refuse a bad input naming the field") {
    const std::vector<Rule> rules = {
        {"ValidateVirtualMachineInstanceMandatoryFields (domain)",
         with("  domain:\n    cpu:\n      cores: 2\n", "  domainn:\n    cpu:\n      cores: 2\n"), "spec.domain"},
        {"ValidateVirtualMachineInstanceMandatoryFields (memory)",
         with("    memory:\n      guest: 256Mi\n    resources:\n      requests:\n        memory: 256Mi\n", ""),
         "no memory requested"},
        {"ValidateVirtualMachineInstanceMetadata (name)", with("  name: vm1", "  name: Bad_Name"), "metadata.name"},
        {"validateMemoryRequestsNegativeOrNull", with("        memory: 256Mi", "        memory: -1Gi"),
         "spec.domain.resources.requests.memory"},
        {"validateMemoryRequestsNegativeOrNull (at least 1M)", with("        memory: 256Mi", "        memory: 512Ki"),
         "spec.domain.resources.requests.memory"},
        {"validateMemoryLimitsNegativeOrNull",
         with("        memory: 256Mi\n", "        memory: 256Mi\n      limits:\n        memory: -1Gi\n"),
         "spec.domain.resources.limits.memory"},
        {"validateMemoryRequestsAndLimits (request above limit)",
         with("        memory: 256Mi\n", "        memory: 256Mi\n      limits:\n        memory: 128Mi\n"),
         "spec.domain.resources.limits.memory"},
        {"validateHugepagesMemoryRequests (page size)",
         with("      guest: 256Mi\n", "      guest: 256Mi\n      hugepages:\n        pageSize: 4Mi\n"),
         "spec.domain.memory.hugepages.pageSize"},
        {"validateHugepagesMemoryRequests (multiple of the page size)",
         with("      guest: 256Mi\n", "      guest: 255Mi\n      hugepages:\n        pageSize: 2Mi\n"),
         "spec.domain.memory.guest"},
        {"validateGuestMemoryLimit",
         with("      guest: 256Mi\n    resources:\n      requests:\n", "      guest: 4Gi\n    resources:\n      limits:\n"),
         "spec.domain.memory.guest"},
        {"validateEmulatedMachine", with("      type: q35", "      type: virt"), "spec.domain.machine.type"},
        {"validateCPURequestNotNegative", with("        memory: 256Mi\n", "        memory: 256Mi\n        cpu: \"-1\"\n"),
         "spec.domain.resources.requests.cpu"},
        {"validateCPULimitNotNegative",
         with("        memory: 256Mi\n", "        memory: 256Mi\n      limits:\n        cpu: \"-1\"\n"),
         "spec.domain.resources.limits.cpu"},
        {"validateCpuRequestDoesNotExceedLimit",
         with("        memory: 256Mi\n", "        memory: 256Mi\n        cpu: \"4\"\n      limits:\n        cpu: \"2\"\n"),
         "spec.domain.resources.limits.cpu"},
        {"validateCpuPinning: validateRequestEqualsLimitOnDedicatedCPUPlacement",
         with("      cores: 2\n    memory:\n      guest: 256Mi\n    resources:\n      requests:\n        memory: 256Mi\n",
              "      cores: 2\n      dedicatedCpuPlacement: true\n    memory:\n      guest: 256Mi\n    resources:\n"
              "      requests:\n        memory: 256Mi\n        cpu: \"2\"\n      limits:\n        memory: 256Mi\n"
              "        cpu: \"3\"\n"),
         "spec.domain.resources.requests.cpu"},
        {"validateFirmware (uuid)", with("      uuid: 5d307ca9-b3ef-428c-8861-06e72d69f223", "      uuid: not-a-uuid"),
         "spec.domain.firmware.uuid"},
        {"validateBootloader (one of bios and efi)",
         with("    firmware:\n", "    firmware:\n      bootloader:\n        bios: {}\n        efi: {}\n"),
         "spec.domain.firmware.bootloader.efi"},
        {"validateKernelBoot (kernelPath or initrdPath)",
         with("    firmware:\n", "    firmware:\n      kernelBoot:\n        container:\n          image: k\n"),
         "spec.domain.firmware.kernelBoot.container"},
        {"ValidateDisks: validateDiskNameAsContainerName",
         with("      - name: root\n        disk:", "      - name: root_disk\n        disk:"),
         "spec.domain.devices.disks[0].name"},
        {"ValidateDisks: validateDiskName (unique)",
         with("      - name: root\n        disk:\n          bus: virtio\n",
              "      - name: root\n        disk:\n          bus: virtio\n      - name: root\n        cdrom: {}\n"),
         "spec.domain.devices.disks"},
        {"ValidateDisks: validateDeviceTarget (one target)",
         with("        disk:\n          bus: virtio\n", "        disk:\n          bus: virtio\n        cdrom: {}\n"),
         "spec.domain.devices.disks[0].cdrom"},
        {"ValidateDisks: validateBootOrderValue", with("        disk:\n", "        bootOrder: 0\n        disk:\n"),
         "spec.domain.devices.disks[0].bootOrder"},
        {"ValidateDisks: validateBusSupport (unknown bus)", with("          bus: virtio", "          bus: ide"),
         "spec.domain.devices.disks[0].disk.bus"},
        {"ValidateDisks: validateCacheMode", with("        disk:\n", "        cache: sometimes\n        disk:\n"),
         "spec.domain.devices.disks[0].cache"},
        {"validateVolumes (unique names)",
         with("  volumes:\n", "  volumes:\n  - name: root\n    emptyDisk:\n      capacity: 1Gi\n"), "spec.volumes"},
        {"validateVolumes (one source)",
         with("    containerDisk:\n", "    emptyDisk:\n      capacity: 1Gi\n    containerDisk:\n"),
         "spec.volumes[0].emptyDisk: a volume has exactly one source"},
        {"validateVolumes (names are DNS-1123 labels)",
         with("  - name: root\n    containerDisk:", "  - name: vmi-shared_disk\n    containerDisk:"),
         "spec.volumes[0].name"},
        {"validateVolumes (hostDisk path)",
         with("    containerDisk:\n      image: quay.io/containerdisks/fedora:latest\n",
              "    hostDisk:\n      path: disk.img\n      type: Disk\n"),
         "spec.volumes[0].hostDisk"},
        {"validateVolumes (hostDisk DiskOrCreate needs capacity)",
         with("    containerDisk:\n      image: quay.io/containerdisks/fedora:latest\n",
              "    hostDisk:\n      path: /var/disk.img\n      type: DiskOrCreate\n"),
         "spec.volumes[0].hostDisk"},
        {"validateVolumes (hostDisk type)",
         with("    containerDisk:\n      image: quay.io/containerdisks/fedora:latest\n",
              "    hostDisk:\n      path: /var/disk.img\n      type: File\n"),
         "spec.volumes[0].hostDisk.type"},
        {"ValidateContainerDisks (image)", with("      image: quay.io/containerdisks/fedora:latest", "      image: \"\""),
         "spec.volumes[0].containerDisk"},
        {"validateVirtualMachineInstanceSpecVolumeDisks (disk without volume)",
         with("      - name: root\n        disk:", "      - name: data\n        disk:"),
         "spec.domain.devices.disks[0]"},
        {"network validator: interface without network",
         with("  - name: default\n    pod: {}\n", "  - name: other\n    pod: {}\n"),
         "spec.domain.devices.interfaces[0]"},
        {"network validator: masquerade only on the pod network",
         with("    pod: {}\n", "    multus:\n      networkName: n\n"), "spec.domain.devices.interfaces[0]"},
        {"network validator: MAC address",
         with("        masquerade: {}\n", "        masquerade: {}\n        macAddress: nope\n"),
         "spec.domain.devices.interfaces[0]"},
        {"network validator: interface model",
         with("        masquerade: {}\n", "        masquerade: {}\n        model: rtl9999\n"),
         "spec.domain.devices.interfaces[0]"},
        {"network validator: one source per network",
         with("    pod: {}\n", "    pod: {}\n    multus:\n      networkName: n\n"), "spec.networks[0].multus"},
        {"validateCPUFeaturePolicies, validateNUMA, validateRealtime (fields refused whole)",
         with("      cores: 2\n", "      cores: 2\n      features:\n      - name: pcid\n        policy: bogus\n"),
         "spec.domain.cpu.features"},
        {"validateAccessCredentials (field refused whole)",
         with("  volumes:\n", "  accessCredentials:\n  - sshPublicKey: {}\n  volumes:\n"), "spec.accessCredentials"},
        {"validateLaunchSecurity (field refused whole)",
         with("    devices:\n", "    launchSecurity:\n      sev: {}\n    devices:\n"), "spec.domain.launchSecurity"},
        {"validateFilesystemsWithVirtIOFSEnabled (field refused whole)",
         with("      disks:\n", "      filesystems:\n      - name: fs\n        virtiofs: {}\n      disks:\n"),
         "spec.domain.devices.filesystems"},
        {"validateHostDevicesWithPassthroughEnabled, validateMDEVRamFB (fields refused whole)",
         with("      disks:\n", "      gpus:\n      - name: g\n        deviceName: nvidia.com/X\n      disks:\n"),
         "spec.domain.devices.gpus"},
        {"validateDownwardMetrics (field refused whole)",
         with("      disks:\n", "      downwardMetrics: {}\n      disks:\n"), "spec.domain.devices.downwardMetrics"},
        {"validateReservedOverheadMemlock (field refused whole)",
         with("      guest: 256Mi\n", "      guest: 256Mi\n      reservedOverhead:\n        memLock: Required\n"),
         "spec.domain.memory.reservedOverhead"},
        {"validateHostNameNotConformingToDNSLabelRules",
         with("  volumes:\n", "  hostname: Not_A_Label\n  volumes:\n"), "spec.hostname"},
        {"validateCPUIsolatorThread",
         with("      cores: 2\n", "      cores: 2\n      isolateEmulatorThread: true\n"),
         "spec.domain.cpu.isolateEmulatorThread"},
        {"ValidateUtilityVolumesNotPresentOnCreation",
         with("  volumes:\n", "  utilityVolumes:\n  - name: u\n    claimName: c\n  volumes:\n"), "spec.utilityVolumes"},
    };
    for (const auto& rule : rules) {
        INFO(rule.kubevirt << "\n" << rule.bad);
        const std::string message = error_of(rule.bad);
        CHECK_THAT(message, Catch::Contains(rule.field));
    }
}

// Rules of the same admitter the launcher does not apply, each with why and,
// where one exists, an input KubeVirt refuses and the launcher accepts (so
// that this list cannot go stale: a rule applied later fails here and moves up).
TEST_CASE("KubeVirt's create admission rules the launcher does not apply are accepted, for the reason given") {
    struct Unapplied {
        std::string kubevirt;
        std::string why;
        std::string input;  // refused by KubeVirt, accepted (with warnings) by the launcher
    };
    const std::vector<Unapplied> rules = {
        {"ValidateDisks: validateBusSupport (cdrom on virtio)",
         "KubeVirt's 2018 examples use it; attached as a read-only virtio disk, with a warning",
         with("        disk:\n          bus: virtio\n", "        cdrom:\n          bus: virtio\n")},
        {"validateVirtualMachineInstanceSpecVolumeDisks (volume without disk)",
         "KubeVirt's mutating webhook first gives such a volume a disk (SetDefaultVolumeDisk); so does the launcher, "
         "or it warns",
         with("  volumes:\n", "  volumes:\n  - name: extra\n    emptyDisk:\n      capacity: 1Gi\n")},
        {"validateProbe, probes without a pod network", "probes are run by kubelet; the launcher warns and ignores them",
         with("  volumes:\n", "  readinessProbe: {}\n  volumes:\n")},
        {"validateStartStrategy", "the launcher starts the VM at once; startStrategy is warned about",
         with("  volumes:\n", "  startStrategy: Bogus\n  volumes:\n")},
        {"validateIOThreadsPolicy", "a tuning hint the launcher does not apply (warned)",
         with("    devices:\n", "    ioThreadsPolicy: bogus\n    devices:\n")},
        {"validateInputDevices, validateSoundDevices, validateVideoConfig",
         "the VM has no display; these devices are warned about and ignored",
         with("      disks:\n", "      inputs:\n      - {name: i, type: keyboard, bus: ps2}\n      disks:\n")},
        {"ValidateDisks: validateIOMode, validateErrorPolicy, validateBlockSize, validatePciAddress",
         "io, errorPolicy, blockSize and pciAddress are tuning the launcher ignores (warned)",
         with("        disk:\n", "        io: sometimes\n        disk:\n")},
    };
    for (const auto& rule : rules) {
        INFO(rule.kubevirt << ": " << rule.why << "\n" << rule.input);
        CHECK(error_of(rule.input).empty());
    }
}
