// The handling of every field of KubeVirt's API (see field_policy.hpp). One
// line per field: when the parser starts reading a field, its line becomes
// acted(...). tests/vmi/field_coverage_test.cpp checks that every field of
// kubevirt_fields.inc is decided here and that acted(...) matches what the
// parser reads.
#include "vmi/field_policy.hpp"

#include <array>

#include <fmt/format.h>

#include "vmi/yaml_input.hpp"

namespace vmi {
namespace {

constexpr std::string_view scheduling = "is for the Kubernetes scheduler; ignored when launching";
constexpr std::string_view tuning = "is a tuning hint this launcher does not apply; ignored";
constexpr std::string_view no_device = "the launcher cannot attach this device, and the VM would lack it";
constexpr std::string_view written = "is written by Kubernetes or KubeVirt, not read; ignored";
constexpr std::string_view local_images = "ignored: images are resolved locally";

constexpr FieldClass acted(std::string_view path) { return {PolicyScope::vmi, path, Handling::acted, ""}; }
constexpr FieldClass warn(std::string_view path, std::string_view why) {
    return {PolicyScope::vmi, path, Handling::warn, why};
}
constexpr FieldClass reject(std::string_view path, std::string_view why) {
    return {PolicyScope::vmi, path, Handling::reject, why};
}
constexpr FieldClass vm_acted(std::string_view path) {
    return {PolicyScope::virtual_machine, path, Handling::acted, ""};
}
constexpr FieldClass vm_warn(std::string_view path, std::string_view why) {
    return {PolicyScope::virtual_machine, path, Handling::warn, why};
}
constexpr FieldClass vm_reject(std::string_view path, std::string_view why) {
    return {PolicyScope::virtual_machine, path, Handling::reject, why};
}

// A plain array: deducing std::array of this many elements exceeds clang's
// template nesting limit (the fuzz build uses clang).
constexpr FieldClass table[] = {
    // The object itself.
    acted("apiVersion"),
    acted("kind"),
    acted("metadata"),
    acted("spec"),
    warn("status", "is written by KubeVirt, not read; ignored"),
    acted("metadata.name"),
    acted("metadata.namespace"),
    acted("metadata.uid"),
    acted("metadata.labels"),
    acted("metadata.annotations"),
    warn("metadata.creationTimestamp", written),
    warn("metadata.deletionTimestamp", written),
    warn("metadata.deletionGracePeriodSeconds", written),
    warn("metadata.generation", written),
    warn("metadata.resourceVersion", written),
    warn("metadata.selfLink", written),
    warn("metadata.managedFields", written),
    warn("metadata.clusterName", written),
    warn("metadata.initializers", written),
    warn("metadata.finalizers", "are for Kubernetes' garbage collector; ignored"),
    warn("metadata.ownerReferences", "are for Kubernetes' garbage collector; ignored"),
    warn("metadata.generateName", "ignored: give metadata.name"),

    // spec: scheduling and cluster-level fields.
    acted("spec.domain"),
    acted("spec.volumes"),
    acted("spec.networks"),
    acted("spec.terminationGracePeriodSeconds"),
    acted("spec.nodeSelector"),
    acted("spec.affinity"),
    acted("spec.affinity.nodeAffinity"),
    acted("spec.affinity.podAffinity"),
    acted("spec.affinity.podAntiAffinity"),
    acted("spec.tolerations"),
    acted("spec.topologySpreadConstraints"),
    acted("spec.schedulerName"),
    acted("spec.priorityClassName"),
    warn("spec.resourceClaims", "are for Kubernetes' dynamic resource allocation; ignored when launching"),
    warn("spec.serviceAccountName", "names the Pod's service account; ignored when launching"),
    warn("spec.evictionStrategy", "is for live migration; ignored"),
    warn("spec.startStrategy", "ignored: the VM starts at once"),
    warn("spec.livenessProbe", "probes are run by kubelet, not the launcher; ignored"),
    warn("spec.readinessProbe", "probes are run by kubelet, not the launcher; ignored"),
    acted("spec.hostname"),
    acted("spec.subdomain"),
    acted("spec.dnsPolicy"),
    acted("spec.dnsConfig"),
    warn("spec.architecture", "ignored: this launcher runs x86_64 guests"),
    reject("spec.accessCredentials",
           "it injects SSH keys or passwords from Kubernetes Secrets through the guest agent or a config drive; "
           "put the keys in cloudInitNoCloud user data instead"),
    reject("spec.utilityVolumes", "utility volumes are hot-plugged by KubeVirt for its own operations; remove them"),

    // spec.domain
    acted("spec.domain.cpu"),
    acted("spec.domain.memory"),
    acted("spec.domain.resources"),
    acted("spec.domain.firmware"),
    acted("spec.domain.machine"),
    acted("spec.domain.devices"),
    acted("spec.domain.clock"),
    acted("spec.domain.clock.timer"),
    acted("spec.domain.clock.timer.hpet"),
    acted("spec.domain.clock.timer.hpet.present"),
    acted("spec.domain.clock.timer.hpet.tickPolicy"),
    acted("spec.domain.clock.timer.hyperv"),
    acted("spec.domain.clock.timer.hyperv.present"),
    acted("spec.domain.clock.timer.kvm"),
    acted("spec.domain.clock.timer.kvm.present"),
    acted("spec.domain.clock.timer.pit"),
    acted("spec.domain.clock.timer.pit.present"),
    acted("spec.domain.clock.timer.pit.tickPolicy"),
    acted("spec.domain.clock.timer.rtc"),
    acted("spec.domain.clock.timer.rtc.present"),
    acted("spec.domain.clock.timer.rtc.tickPolicy"),
    acted("spec.domain.clock.timer.rtc.track"),
    acted("spec.domain.clock.timezone"),
    acted("spec.domain.clock.utc"),
    acted("spec.domain.clock.utc.offsetSeconds"),
    acted("spec.domain.features"),
    acted("spec.domain.features.acpi"),
    acted("spec.domain.features.acpi.enabled"),
    acted("spec.domain.features.apic"),
    acted("spec.domain.features.apic.enabled"),
    acted("spec.domain.features.apic.endOfInterrupt"),
    acted("spec.domain.features.hyperv"),
    acted("spec.domain.features.hyperv.evmcs"),
    acted("spec.domain.features.hyperv.evmcs.enabled"),
    acted("spec.domain.features.hyperv.frequencies"),
    acted("spec.domain.features.hyperv.frequencies.enabled"),
    acted("spec.domain.features.hyperv.ipi"),
    acted("spec.domain.features.hyperv.ipi.enabled"),
    acted("spec.domain.features.hyperv.reenlightenment"),
    acted("spec.domain.features.hyperv.reenlightenment.enabled"),
    acted("spec.domain.features.hyperv.relaxed"),
    acted("spec.domain.features.hyperv.relaxed.enabled"),
    acted("spec.domain.features.hyperv.reset"),
    acted("spec.domain.features.hyperv.reset.enabled"),
    acted("spec.domain.features.hyperv.runtime"),
    acted("spec.domain.features.hyperv.runtime.enabled"),
    acted("spec.domain.features.hyperv.spinlocks"),
    acted("spec.domain.features.hyperv.spinlocks.enabled"),
    acted("spec.domain.features.hyperv.spinlocks.spinlocks"),
    acted("spec.domain.features.hyperv.synic"),
    acted("spec.domain.features.hyperv.synic.enabled"),
    acted("spec.domain.features.hyperv.synictimer"),
    acted("spec.domain.features.hyperv.synictimer.direct"),
    acted("spec.domain.features.hyperv.synictimer.direct.enabled"),
    acted("spec.domain.features.hyperv.synictimer.enabled"),
    acted("spec.domain.features.hyperv.tlbflush"),
    acted("spec.domain.features.hyperv.tlbflush.direct"),
    acted("spec.domain.features.hyperv.tlbflush.direct.enabled"),
    acted("spec.domain.features.hyperv.tlbflush.enabled"),
    acted("spec.domain.features.hyperv.tlbflush.extended"),
    acted("spec.domain.features.hyperv.tlbflush.extended.enabled"),
    acted("spec.domain.features.hyperv.vapic"),
    acted("spec.domain.features.hyperv.vapic.enabled"),
    acted("spec.domain.features.hyperv.vendorid"),
    acted("spec.domain.features.hyperv.vendorid.enabled"),
    acted("spec.domain.features.hyperv.vendorid.vendorid"),
    acted("spec.domain.features.hyperv.vpindex"),
    acted("spec.domain.features.hyperv.vpindex.enabled"),
    acted("spec.domain.features.hypervPassthrough"),
    acted("spec.domain.features.hypervPassthrough.enabled"),
    acted("spec.domain.features.kvm"),
    acted("spec.domain.features.kvm.hidden"),
    acted("spec.domain.features.pvspinlock"),
    acted("spec.domain.features.pvspinlock.enabled"),
    acted("spec.domain.features.smm"),
    acted("spec.domain.features.smm.enabled"),
    warn("spec.domain.ioThreadsPolicy", tuning),
    warn("spec.domain.ioThreads", tuning),
    warn("spec.domain.chassis", "ignored: the SMBIOS chassis is QEMU's default"),
    warn("spec.domain.rebootPolicy", "ignored: a guest reboot restarts the guest in the same QEMU"),
    reject("spec.domain.launchSecurity",
           "confidential computing (SEV, SNP, TDX) needs host support the launcher does not set up; remove it"),
    acted("spec.domain.machine.type"),
    acted("spec.domain.cpu.sockets"),
    acted("spec.domain.cpu.cores"),
    acted("spec.domain.cpu.threads"),
    acted("spec.domain.cpu.model"),
    acted("spec.domain.cpu.dedicatedCpuPlacement"),
    acted("spec.domain.cpu.isolateEmulatorThread"),
    warn("spec.domain.cpu.maxSockets", "CPU hotplug is not supported; ignored"),
    reject("spec.domain.cpu.features", "the guest CPU would lack or have flags other than asked; remove the list "
                                       "or pick a cpu.model that has them"),
    reject("spec.domain.cpu.numa", "guest NUMA mapping needs pinned host memory the launcher does not set up"),
    reject("spec.domain.cpu.realtime", "realtime vCPUs need a tuned host the launcher does not set up"),
    acted("spec.domain.memory.guest"),
    acted("spec.domain.memory.hugepages"),
    acted("spec.domain.memory.hugepages.pageSize"),
    acted("spec.domain.memory.maxGuest"),
    reject("spec.domain.memory.reservedOverhead", "choose the overhead with --overhead-model instead"),
    acted("spec.domain.resources.requests"),
    acted("spec.domain.resources.limits"),
    acted("spec.domain.resources.overcommitGuestOverhead"),
    acted("spec.domain.firmware.uuid"),
    acted("spec.domain.firmware.serial"),
    acted("spec.domain.firmware.bootloader"),
    acted("spec.domain.firmware.bootloader.bios"),
    warn("spec.domain.firmware.bootloader.bios.useSerial", "ignored: SeaBIOS output is not redirected"),
    acted("spec.domain.firmware.bootloader.efi"),
    acted("spec.domain.firmware.bootloader.efi.secureBoot"),
    reject("spec.domain.firmware.bootloader.efi.persistent",
           "EFI variables are kept only while QEMU runs; remove it (the guest boots, but settings it stores in "
           "NVRAM are lost at exit)"),
    acted("spec.domain.firmware.kernelBoot"),
    acted("spec.domain.firmware.kernelBoot.kernelArgs"),
    acted("spec.domain.firmware.kernelBoot.container"),
    acted("spec.domain.firmware.kernelBoot.container.image"),
    acted("spec.domain.firmware.kernelBoot.container.kernelPath"),
    acted("spec.domain.firmware.kernelBoot.container.initrdPath"),
    warn("spec.domain.firmware.kernelBoot.container.imagePullPolicy", local_images),
    warn("spec.domain.firmware.kernelBoot.container.imagePullSecret", local_images),
    reject("spec.domain.firmware.acpi", "ACPI SLIC/MSDM tables come from Kubernetes Secrets the launcher cannot read"),

    // spec.domain.devices
    acted("spec.domain.devices.disks"),
    acted("spec.domain.devices.interfaces"),
    acted("spec.domain.devices.autoattachMemBalloon"),
    acted("spec.domain.devices.autoattachGraphicsDevice"),
    acted("spec.domain.devices.autoattachSerialConsole"),
    acted("spec.domain.devices.autoattachPodInterface"),
    acted("spec.domain.devices.rng"),
    warn("spec.domain.devices.inputs", "ignored: the VM has no display"),
    warn("spec.domain.devices.sound", "ignored: the VM has no display"),
    warn("spec.domain.devices.video", "ignored: the VM has no display"),
    warn("spec.domain.devices.blockMultiQueue", tuning),
    warn("spec.domain.devices.networkInterfaceMultiqueue", tuning),
    warn("spec.domain.devices.useVirtioTransitional", tuning),
    warn("spec.domain.devices.disableHotplug", "ignored: hotplug is not supported"),
    warn("spec.domain.devices.logSerialConsole", "ignored: the serial console is always logged"),
    warn("spec.domain.devices.autoattachVSOCK", "ignored: no vsock device is attached"),
    warn("spec.domain.devices.autoattachInputDevice", "ignored: the VM has no display"),
    warn("spec.domain.devices.panicDevices", "ignored: a guest panic ends the VM as without the device"),
    reject("spec.domain.devices.clientPassthrough", "USB redirection from a client needs virtctl and KubeVirt"),
    reject("spec.domain.devices.gpus", no_device),
    reject("spec.domain.devices.hostDevices", no_device),
    reject("spec.domain.devices.filesystems", "virtiofs shares need a virtiofsd the launcher does not run; "
                                              "use a disk volume instead"),
    acted("spec.domain.devices.watchdog"),
    reject("spec.domain.devices.watchdog.diag288", "diag288 is the s390x watchdog; on x86_64 use i6300esb"),
    acted("spec.domain.devices.watchdog.i6300esb"),
    acted("spec.domain.devices.watchdog.i6300esb.action"),
    acted("spec.domain.devices.watchdog.name"),
    reject("spec.domain.devices.tpm", "no TPM emulator (swtpm) is run, and the VM would lack its TPM"),
    reject("spec.domain.devices.downwardMetrics", "host metrics come from KubeVirt's virt-handler, which is absent"),
    // Disks.
    acted("spec.domain.devices.disks.name"),
    acted("spec.domain.devices.disks.volumeName"),
    acted("spec.domain.devices.disks.disk"),
    acted("spec.domain.devices.disks.disk.bus"),
    acted("spec.domain.devices.disks.disk.readonly"),
    warn("spec.domain.devices.disks.disk.pciAddress", "ignored: QEMU assigns PCI addresses"),
    acted("spec.domain.devices.disks.cdrom"),
    acted("spec.domain.devices.disks.cdrom.bus"),
    acted("spec.domain.devices.disks.cdrom.readonly"),
    warn("spec.domain.devices.disks.cdrom.tray", "ignored: the tray is closed"),
    acted("spec.domain.devices.disks.lun"),
    acted("spec.domain.devices.disks.lun.bus"),
    acted("spec.domain.devices.disks.lun.readonly"),
    warn("spec.domain.devices.disks.lun.reservation", "ignored: SCSI reservations are not supported"),
    reject("spec.domain.devices.disks.floppy",
           "floppy disks left KubeVirt in v0.51 and QEMU's q35 machine has no floppy controller; use disk or cdrom"),
    acted("spec.domain.devices.disks.bootOrder"),
    acted("spec.domain.devices.disks.serial"),
    acted("spec.domain.devices.disks.cache"),
    warn("spec.domain.devices.disks.dedicatedIOThread", tuning),
    warn("spec.domain.devices.disks.io", tuning),
    warn("spec.domain.devices.disks.tag", "ignored: device tags reach the guest through KubeVirt's metadata service"),
    warn("spec.domain.devices.disks.errorPolicy", tuning),
    warn("spec.domain.devices.disks.blockSize", tuning),
    warn("spec.domain.devices.disks.changedBlockTracking", "is for KubeVirt's backups; ignored"),
    acted("spec.domain.devices.disks.shareable"),
    // Interfaces.
    acted("spec.domain.devices.interfaces.name"),
    acted("spec.domain.devices.interfaces.masquerade"),
    acted("spec.domain.devices.interfaces.bridge"),
    acted("spec.domain.devices.interfaces.slirp"),
    acted("spec.domain.devices.interfaces.model"),
    acted("spec.domain.devices.interfaces.macAddress"),
    acted("spec.domain.devices.interfaces.ports"),
    acted("spec.domain.devices.interfaces.ports.name"),
    acted("spec.domain.devices.interfaces.ports.port"),
    acted("spec.domain.devices.interfaces.ports.protocol"),
    warn("spec.domain.devices.interfaces.portRanges", "ignored: user-mode networking forwards no ports"),
    warn("spec.domain.devices.interfaces.pciAddress", "ignored: QEMU assigns PCI addresses"),
    warn("spec.domain.devices.interfaces.acpiIndex", "ignored: the guest names its NIC by PCI slot"),
    warn("spec.domain.devices.interfaces.bootOrder", "network boot is not supported; ignored"),
    warn("spec.domain.devices.interfaces.dhcpOptions", "ignored"),
    warn("spec.domain.devices.interfaces.tag", "ignored: device tags reach the guest through KubeVirt's metadata "
                                               "service"),
    acted("spec.domain.devices.interfaces.state"),
    reject("spec.domain.devices.interfaces.sriov", "SR-IOV needs a host VF handed in by a device plugin; use "
                                                   "masquerade"),
    reject("spec.domain.devices.interfaces.macvtap", "macvtap needs a host interface handed in by a device plugin; "
                                                     "use masquerade or bridge"),
    reject("spec.domain.devices.interfaces.passt", "passt runs as a separate process the launcher does not start; "
                                                   "use masquerade"),
    reject("spec.domain.devices.interfaces.passtBinding", "passt runs as a separate process the launcher does not "
                                                          "start; use masquerade"),
    reject("spec.domain.devices.interfaces.binding", "network binding plugins are KubeVirt sidecars; use masquerade"),

    // spec.volumes
    acted("spec.volumes.name"),
    acted("spec.volumes.containerDisk"),
    acted("spec.volumes.containerDisk.image"),
    acted("spec.volumes.containerDisk.path"),
    warn("spec.volumes.containerDisk.imagePullPolicy", local_images),
    warn("spec.volumes.containerDisk.imagePullSecret", local_images),
    acted("spec.volumes.registryDisk"),
    acted("spec.volumes.registryDisk.image"),
    warn("spec.volumes.registryDisk.imagePullSecret", local_images),
    acted("spec.volumes.cloudInitNoCloud"),
    acted("spec.volumes.cloudInitNoCloud.userData"),
    acted("spec.volumes.cloudInitNoCloud.userDataBase64"),
    acted("spec.volumes.cloudInitNoCloud.networkData"),
    acted("spec.volumes.cloudInitNoCloud.networkDataBase64"),
    reject("spec.volumes.cloudInitNoCloud.secretRef", "the launcher reads no Kubernetes Secrets; inline userData"),
    reject("spec.volumes.cloudInitNoCloud.networkDataSecretRef",
           "the launcher reads no Kubernetes Secrets; inline networkData"),
    acted("spec.volumes.emptyDisk"),
    acted("spec.volumes.emptyDisk.capacity"),
    acted("spec.volumes.hostDisk"),
    acted("spec.volumes.hostDisk.path"),
    acted("spec.volumes.hostDisk.type"),
    acted("spec.volumes.hostDisk.capacity"),
    warn("spec.volumes.hostDisk.shared", "ignored: disks are never shared between launchers"),
    acted("spec.volumes.persistentVolumeClaim"),
    acted("spec.volumes.persistentVolumeClaim.claimName"),
    acted("spec.volumes.persistentVolumeClaim.readOnly"),
    warn("spec.volumes.persistentVolumeClaim.hotpluggable", "ignored: hotplug is not supported"),
    acted("spec.volumes.ephemeral"),
    acted("spec.volumes.ephemeral.persistentVolumeClaim"),
    acted("spec.volumes.ephemeral.persistentVolumeClaim.claimName"),
    acted("spec.volumes.ephemeral.persistentVolumeClaim.readOnly"),
    reject("spec.volumes.dataVolume", "a DataVolume needs CDI; use persistentVolumeClaim with --volume"),
    reject("spec.volumes.configMap", "the launcher reads no Kubernetes ConfigMaps; use cloudInitNoCloud or a disk"),
    reject("spec.volumes.secret", "the launcher reads no Kubernetes Secrets; use cloudInitNoCloud or a disk"),
    reject("spec.volumes.serviceAccount", "the launcher has no Kubernetes service account token to give"),
    reject("spec.volumes.downwardAPI", "the launcher has no Kubernetes downward API; use cloudInitNoCloud"),
    reject("spec.volumes.downwardMetrics", "host metrics come from KubeVirt's virt-handler, which is absent"),
    acted("spec.volumes.cloudInitConfigDrive"),
    acted("spec.volumes.cloudInitConfigDrive.networkData"),
    acted("spec.volumes.cloudInitConfigDrive.networkDataBase64"),
    reject("spec.volumes.cloudInitConfigDrive.networkDataSecretRef", "the launcher reads no Kubernetes Secrets; inline networkData"),
    reject("spec.volumes.cloudInitConfigDrive.secretRef", "the launcher reads no Kubernetes Secrets; inline userData"),
    acted("spec.volumes.cloudInitConfigDrive.userData"),
    acted("spec.volumes.cloudInitConfigDrive.userDataBase64"),
    reject("spec.volumes.sysprep", "sysprep answer files come from ConfigMaps or Secrets the launcher cannot read; "
                                   "put the file on a disk"),
    reject("spec.volumes.memoryDump", "memory dumps are written by virtctl through KubeVirt"),
    reject("spec.volumes.containerPath", "container paths are handed in by KubeVirt's virt-handler; use hostDisk"),

    // spec.networks
    acted("spec.networks.name"),
    acted("spec.networks.pod"),
    acted("spec.networks.multus"),
    acted("spec.networks.multus.networkName"),
    warn("spec.networks.multus.default", "ignored"),
    acted("spec.networks.pod.vmNetworkCIDR"),
    acted("spec.networks.pod.vmIPv6NetworkCIDR"),
    reject("spec.networks.genie",
           "CNI-Genie networks left KubeVirt in v0.29; use pod (or multus) instead"),
    reject("spec.networks.resourceClaim", "networks from resource claims need Kubernetes' dynamic resource "
                                          "allocation; use pod"),

    // A VirtualMachine's own spec (its template is a VMI: the entries above).
    vm_acted("spec.template"),
    vm_acted("spec.running"),
    vm_acted("spec.runStrategy"),
    vm_reject("spec.dataVolumeTemplates",
              "it has CDI import a disk into a new PersistentVolumeClaim, and the launcher has no CDI; import the "
              "disk yourself and give it as a persistentVolumeClaim volume (with --volume) or a containerDisk"),
    vm_reject("spec.instancetype",
              "the launcher needs the expanded VMI, with the instancetype's CPU and memory written into "
              "spec.template; get it with `virtctl expand --vm NAME` (or `virtctl expand --file FILE`)"),
    vm_reject("spec.preference",
              "the launcher needs the expanded VMI, with the preference's devices and features written into "
              "spec.template; get it with `virtctl expand --vm NAME` (or `virtctl expand --file FILE`)"),
    vm_reject("spec.flavor",
              "flavors (KubeVirt v0.48 to v0.55, now instancetypes) must be expanded into spec.template first"),
    vm_warn("spec.updateVolumesStrategy", "ignored: the launcher does not change volumes of a running VM"),
    vm_warn("spec.liveUpdateFeatures", "ignored: the launcher does not change a running VM"),
};

const FieldClass* find_entry(PolicyScope scope, std::string_view path) {
    for (const auto& e : table) {
        if (e.scope == scope && e.path == path) return &e;
    }
    return nullptr;
}

std::optional<FieldPolicy> as_policy(const FieldClass* e) {
    if (e == nullptr || e->handling == Handling::acted) return std::nullopt;
    return FieldPolicy{e->handling == Handling::reject ? Unacted::reject : Unacted::warn, e->reason};
}

}  // namespace

std::span<const FieldClass> field_classes() { return table; }

const FieldClass* classify(PolicyScope scope, std::string_view path) {
    if (const auto* own = find_entry(scope, path)) return own;
    for (auto dot = path.rfind('.'); dot != std::string_view::npos; dot = path.rfind('.', dot - 1)) {
        const auto* up = find_entry(scope, path.substr(0, dot));
        if (up != nullptr && up->handling != Handling::acted) return up;
        if (dot == 0) break;
    }
    return nullptr;
}

std::string refusal_message(std::string_view field, std::string_view reason) {
    return fmt::format("KubeVirt's {} is not supported by vmi-launcher: {}", field, reason);
}

std::optional<FieldPolicy> policy_for(std::string_view path) {
    return as_policy(classify(PolicyScope::vmi, path));
}

std::optional<FieldPolicy> vm_policy_for(std::string_view path) {
    return as_policy(classify(PolicyScope::virtual_machine, path));
}

}  // namespace vmi
