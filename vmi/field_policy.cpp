// Fields of the KubeVirt API that the launcher reads but does not act on.
// A warning where ignoring them leaves the VM as asked (scheduling, probes,
// tuning); an error where the VM would differ from what the user asked.
#include <array>
#include <span>

#include "vmi/yaml_input.hpp"

namespace vmi {
namespace {

constexpr std::string_view scheduling = "is for the Kubernetes scheduler; ignored when launching";
constexpr std::string_view tuning = "is a tuning hint this launcher does not apply; ignored";
constexpr std::string_view no_device = "asks for a device this launcher cannot attach (the VM would lack it)";

struct Entry {
    std::string_view path;
    FieldPolicy policy;
};

constexpr std::array table{
    // Objects KubeVirt writes, never reads.
    Entry{"status", {Unacted::warn, "is written by KubeVirt, not read; ignored"}},
    Entry{"metadata.creationTimestamp", {Unacted::warn, "ignored"}},
    Entry{"metadata.generation", {Unacted::warn, "ignored"}},
    Entry{"metadata.resourceVersion", {Unacted::warn, "ignored"}},
    Entry{"metadata.selfLink", {Unacted::warn, "ignored"}},
    Entry{"metadata.managedFields", {Unacted::warn, "ignored"}},
    Entry{"metadata.finalizers", {Unacted::warn, "ignored"}},
    Entry{"metadata.ownerReferences", {Unacted::warn, "ignored"}},
    Entry{"metadata.generateName", {Unacted::warn, "ignored: give metadata.name"}},
    // Scheduling and cluster-level fields.
    Entry{"spec.evictionStrategy", {Unacted::warn, "is for live migration; ignored"}},
    Entry{"spec.startStrategy", {Unacted::warn, "ignored: the VM starts at once"}},
    Entry{"spec.livenessProbe", {Unacted::warn, "probes are run by kubelet, not the launcher; ignored"}},
    Entry{"spec.readinessProbe", {Unacted::warn, "probes are run by kubelet, not the launcher; ignored"}},
    Entry{"spec.accessCredentials", {Unacted::reject, "accessCredentials need the guest agent; not supported"}},
    Entry{"spec.architecture", {Unacted::warn, "ignored: this launcher runs x86_64 guests"}},
    // Domain fields whose absence changes nothing the guest can rely on.
    Entry{"spec.domain.clock", {Unacted::warn, "ignored: the guest clock is QEMU's default (UTC)"}},
    Entry{"spec.domain.features", {Unacted::warn, "ignored: QEMU's machine defaults apply (ACPI on)"}},
    Entry{"spec.domain.ioThreadsPolicy", {Unacted::warn, tuning}},
    Entry{"spec.domain.chassis", {Unacted::warn, "ignored"}},
    Entry{"spec.domain.cpu.maxSockets", {Unacted::warn, "CPU hotplug is not supported; ignored"}},
    Entry{"spec.domain.devices.rng", {Unacted::warn, "ignored: no virtio-rng device is attached"}},
    Entry{"spec.domain.devices.inputs", {Unacted::warn, "ignored: the VM has no display"}},
    Entry{"spec.domain.devices.sound", {Unacted::warn, "ignored: the VM has no display"}},
    Entry{"spec.domain.devices.blockMultiQueue", {Unacted::warn, tuning}},
    Entry{"spec.domain.devices.networkInterfaceMultiqueue", {Unacted::warn, tuning}},
    Entry{"spec.domain.devices.useVirtioTransitional", {Unacted::warn, tuning}},
    Entry{"spec.domain.devices.disableHotplug", {Unacted::warn, "ignored: hotplug is not supported"}},
    Entry{"spec.domain.devices.logSerialConsole", {Unacted::warn, "ignored: the serial console is always logged"}},
    Entry{"spec.domain.devices.autoattachVSOCK", {Unacted::warn, "ignored: no vsock device is attached"}},
    Entry{"spec.domain.devices.autoattachInputDevice", {Unacted::warn, "ignored: the VM has no display"}},
    Entry{"spec.domain.devices.clientPassthrough", {Unacted::reject, "USB client passthrough is not supported"}},
    Entry{"spec.domain.devices.disks.dedicatedIOThread", {Unacted::warn, tuning}},
    Entry{"spec.domain.devices.disks.io", {Unacted::warn, tuning}},
    Entry{"spec.domain.devices.disks.tag", {Unacted::warn, "ignored"}},
    Entry{"spec.domain.devices.disks.errorPolicy", {Unacted::warn, tuning}},
    Entry{"spec.domain.devices.disks.blockSize", {Unacted::warn, tuning}},
    Entry{"spec.domain.devices.disks.shareable", {Unacted::reject, "shareable disks are not supported"}},
    Entry{"spec.domain.devices.disks.disk.pciAddress", {Unacted::warn, "ignored: QEMU assigns PCI addresses"}},
    Entry{"spec.domain.devices.interfaces.ports", {Unacted::warn, "ignored: user-mode networking forwards no ports"}},
    Entry{"spec.domain.devices.interfaces.pciAddress", {Unacted::warn, "ignored: QEMU assigns PCI addresses"}},
    Entry{"spec.domain.devices.interfaces.bootOrder", {Unacted::warn, "network boot is not supported; ignored"}},
    Entry{"spec.domain.devices.interfaces.dhcpOptions", {Unacted::warn, "ignored"}},
    Entry{"spec.domain.devices.interfaces.tag", {Unacted::warn, "ignored"}},
    // Devices and features the VM would silently lack.
    Entry{"spec.domain.devices.gpus", {Unacted::reject, no_device}},
    Entry{"spec.domain.devices.hostDevices", {Unacted::reject, no_device}},
    Entry{"spec.domain.devices.filesystems", {Unacted::reject, no_device}},
    Entry{"spec.domain.devices.watchdog", {Unacted::reject, no_device}},
    Entry{"spec.domain.devices.tpm", {Unacted::reject, no_device}},
    Entry{"spec.domain.devices.downwardMetrics", {Unacted::reject, no_device}},
    Entry{"spec.domain.devices.interfaces.sriov", {Unacted::reject, "SR-IOV interfaces are not supported"}},
    Entry{"spec.domain.devices.interfaces.macvtap", {Unacted::reject, "macvtap interfaces are not supported"}},
    Entry{"spec.domain.devices.interfaces.passt", {Unacted::reject, "passt interfaces are not supported"}},
    Entry{"spec.domain.devices.interfaces.binding", {Unacted::reject, "network binding plugins are not supported"}},
    Entry{"spec.domain.launchSecurity", {Unacted::reject, "confidential computing (SEV) is not supported"}},
    Entry{"spec.domain.cpu.features", {Unacted::reject, "CPU feature lists are not supported (the guest CPU would differ)"}},
    Entry{"spec.domain.cpu.numa", {Unacted::reject, "guest NUMA mapping is not supported"}},
    Entry{"spec.domain.cpu.realtime", {Unacted::reject, "realtime vCPUs are not supported"}},
    Entry{"spec.domain.memory.reservedOverhead", {Unacted::reject, "reservedOverhead is not supported; choose an overhead model"}},
    Entry{"spec.domain.firmware.bootloader.efi.persistent", {Unacted::reject, "persistent EFI variables are not supported"}},
    Entry{"spec.volumes.dataVolume", {Unacted::reject, "dataVolume volumes need CDI; use persistentVolumeClaim with --volume"}},
    Entry{"spec.volumes.configMap", {Unacted::reject, "configMap volumes are not supported"}},
    Entry{"spec.volumes.secret", {Unacted::reject, "secret volumes are not supported"}},
    Entry{"spec.volumes.serviceAccount", {Unacted::reject, "serviceAccount volumes are not supported"}},
    Entry{"spec.volumes.downwardAPI", {Unacted::reject, "downwardAPI volumes are not supported"}},
    Entry{"spec.volumes.downwardMetrics", {Unacted::reject, "downwardMetrics volumes are not supported"}},
    Entry{"spec.volumes.cloudInitConfigDrive", {Unacted::reject, "cloudInitConfigDrive is not supported; use cloudInitNoCloud"}},
    Entry{"spec.volumes.sysprep", {Unacted::reject, "sysprep volumes are not supported"}},
    Entry{"spec.volumes.memoryDump", {Unacted::reject, "memoryDump volumes are not supported"}},
    Entry{"spec.volumes.cloudInitNoCloud.secretRef", {Unacted::reject, "user data from a Secret is not supported; inline it"}},
    Entry{"spec.volumes.cloudInitNoCloud.networkDataSecretRef", {Unacted::reject, "network data from a Secret is not supported; inline it"}},
    Entry{"spec.volumes.containerDisk.imagePullPolicy", {Unacted::warn, "ignored: images are resolved locally"}},
    Entry{"spec.volumes.containerDisk.imagePullSecret", {Unacted::warn, "ignored: images are resolved locally"}},
    Entry{"spec.domain.firmware.kernelBoot.container.imagePullPolicy", {Unacted::warn, "ignored: images are resolved locally"}},
    Entry{"spec.domain.firmware.kernelBoot.container.imagePullSecret", {Unacted::warn, "ignored: images are resolved locally"}},
    Entry{"spec.networks.pod.vmNetworkCIDR", {Unacted::warn, "ignored: user-mode networking uses its own range"}},
    Entry{"spec.networks.pod.vmIPv6NetworkCIDR", {Unacted::warn, "ignored"}},
};

// A VirtualMachine's own spec (KubeVirt's VirtualMachineSpec, api/core/v1/types.go).
// Its template is a VMI and is looked up in `table`; runStrategy and running
// are read in parse.cpp (run_strategy.cpp says what each value gets).
constexpr std::array vm_table{
    Entry{"spec.dataVolumeTemplates",
          {Unacted::reject,
           "KubeVirt's spec.dataVolumeTemplates is not supported by vmi-launcher: it has CDI import a disk into a "
           "new PersistentVolumeClaim, and the launcher has no CDI; import the disk yourself and give it as a "
           "persistentVolumeClaim volume (with --volume) or a containerDisk"}},
    Entry{"spec.instancetype",
          {Unacted::reject,
           "KubeVirt's spec.instancetype is not supported by vmi-launcher: the launcher needs the expanded VMI, "
           "with the instancetype's CPU and memory written into spec.template; get it with "
           "`virtctl expand --vm NAME` (or `virtctl expand --file FILE`)"}},
    Entry{"spec.preference",
          {Unacted::reject,
           "KubeVirt's spec.preference is not supported by vmi-launcher: the launcher needs the expanded VMI, "
           "with the preference's devices and features written into spec.template; get it with "
           "`virtctl expand --vm NAME` (or `virtctl expand --file FILE`)"}},
    Entry{"spec.updateVolumesStrategy", {Unacted::warn, "ignored: the launcher does not change volumes of a running VM"}},
};

std::optional<FieldPolicy> find(std::span<const Entry> entries, std::string_view path) {
    for (const auto& e : entries) {
        if (e.path == path) return e.policy;
    }
    return std::nullopt;
}

}  // namespace

std::optional<FieldPolicy> policy_for(std::string_view path) { return find(table, path); }

std::optional<FieldPolicy> vm_policy_for(std::string_view path) { return find(vm_table, path); }

}  // namespace vmi
