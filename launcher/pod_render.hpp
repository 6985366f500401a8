// The Kubernetes Pod (and the ConfigMap carrying the VMI) that runs the
// launcher for one VMI. Pure: a function of the spec, its memory plan, the
// VMI's text and the options, so every number in it is a unit test away
// from the plan it came from.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vmi/bytes.hpp"
#include "vmi/memory_plan.hpp"
#include "vmi/spec.hpp"

namespace launcher {

// Which cgroup mode the pod is made for: it decides the security context.
enum class PodCgroupMode {
    adopt,   // read-only /sys/fs/cgroup: the container's cgroup is the VM's; no privileges
    nested,  // a writable, delegated cgroup: the VM gets a child cgroup; privileged
};

// What limits.memory of the compute container holds.
enum class PodLimitRule {
    // As KubeVirt renders it: limits.memory + overhead when the VMI has a
    // limit, = the request with dedicated CPUs (pod_resources.hpp), else none.
    kubevirt,
    cgroup,    // always the plan's cgroup limit, so kubelet enforces what the launcher would on a host
    // A ballooned VM (issue 10082's Burstable pod): requests at the floor,
    // limits at the ceiling, each plus the overhead; the balloon gives
    // memory back between them. Without a balloon, as `cgroup`.
    ceiling,
};

struct PodOptions {
    std::string image = "vmi-launcher:latest";
    PodCgroupMode cgroup_mode = PodCgroupMode::adopt;
    PodLimitRule limit_rule = PodLimitRule::kubevirt;
    // The extended resource a device plugin hands /dev/kvm out as (with --accel kvm).
    std::string kvm_resource = "devices.kubevirt.io/kvm";
    // KubeVirt's cpuAllocationRatio: a vCPU without a CPU request asks for 1/ratio of a CPU.
    unsigned cpu_allocation_ratio = 10;
    // What one qcow2 overlay (over a containerDisk or an ephemeral claim) may
    // grow to in the state emptyDir: the guest's writes to that disk.
    vmi::Bytes overlay_size = vmi::gib(10);
    // What the files copied from one container image may take in the images
    // emptyDir (a containerDisk's disk, a kernelBoot kernel and initrd).
    vmi::Bytes image_size = vmi::gib(10);
    // Claims whose PersistentVolumeClaim has volumeMode: Block (a VMI does
    // not say; KubeVirt reads the claim): attached as volumeDevices.
    std::set<std::string> block_volumes;
    // Add the node selectors KubeVirt's node labeller makes true
    // (kubevirt.io/schedulable, kubevirt.io/cpumanager): only for clusters
    // running KubeVirt's virt-handler, whose nodes carry those labels.
    bool kubevirt_node_labels = false;
};

// The emptyDirs' sizeLimits. Kubelet evicts a pod whose emptyDir outgrows
// its limit, so each is what its files can reach, not a guess at usage.
namespace pod_sizes {
// The console log and its one rotated copy at the launcher's default
// --console-log-max (2 x 8 MiB), plus sockets, the cloud-init seed (its
// files come from a VMI of at most 4 MiB), UEFI variables and small files.
inline constexpr vmi::Bytes state_base = vmi::mib(32);
inline constexpr vmi::Bytes tmp = vmi::mib(64);
// The static busybox the init containers copy with (about 2 MB).
inline constexpr vmi::Bytes tools = vmi::mib(16);
}  // namespace pod_sizes

// Host directories a hostDisk may not lie in or below, in a rendered pod:
// the pod would mount them (or a file in them) read-write.
inline constexpr const char* protected_host_dirs[] = {
    "/bin",  "/boot", "/dev",          "/etc",  "/lib",  "/lib32",           "/lib64",
    "/libx32", "/proc", "/root",       "/run",  "/sbin", "/sys",             "/usr",
    "/var/lib/containerd", "/var/lib/containers", "/var/lib/docker", "/var/lib/kubelet", "/var/log",
    "/var/run",
};

// Throws vmi::SpecError naming the field when the hostDisk's file lies in
// or below one of protected_host_dirs, or, for DiskOrCreate (whose
// directory the pod mounts), when that directory is / or holds one of them.
void check_host_disk_path(const vmi::Volume& volume, const vmi::HostDiskSource& disk);

// Where things are inside the pod.
namespace pod_paths {
inline constexpr const char* vmi_dir = "/etc/vmi-launcher/vmi";
inline constexpr const char* vmi_key = "vmi.yaml";
inline constexpr const char* images_dir = "/var/run/vmi-launcher/images";
inline constexpr const char* volumes_dir = "/var/run/vmi-launcher/volumes";
inline constexpr const char* state_root = "/var/run/vmi-launcher/state";
inline constexpr const char* tools_dir = "/var/run/vmi-launcher/tools";
inline constexpr const char* tmp_dir = "/tmp";
inline constexpr const char* termination_log = "/dev/termination-log";
// Static busybox in the launcher image: the copy tool for container disks,
// whose images usually hold no programs at all.
inline constexpr const char* busybox = "/bin/busybox";
}  // namespace pod_paths

// The pod's grace period: the VMI's own plus this, so the launcher can
// press the power button, wait the VMI's grace period, stop QEMU and clean up.
inline constexpr std::int64_t pod_grace_margin_seconds = 15;

struct PodManifests {
    nlohmann::ordered_json config_map;
    nlohmann::ordered_json pod;
};

// Throws std::runtime_error when the VMI cannot go into a pod (a ConfigMap
// holds at most 1 MiB).
PodManifests render_pod(const vmi::VmiSpec& spec, const vmi::MemoryPlan& plan, std::string_view vmi_text,
                        const PodOptions& options);

// A byte count as a Kubernetes quantity: "10Gi" when a whole number of
// Ki/Mi/Gi/Ti, else plain bytes ("26380075008").
std::string memory_quantity(vmi::Bytes bytes);

// Millicores as a Kubernetes quantity: "2" for whole CPUs, else "250m".
std::string cpu_quantity(std::int64_t millis);

// Copies the VMI's scheduling and DNS fields into a Pod's spec as KubeVirt
// does (pod_scheduling.cpp), with the hostname KubeVirt gives the Pod.
void add_scheduling(nlohmann::ordered_json& pod_spec, const vmi::VmiSpec& spec, const PodOptions& options);

// A manifest as block YAML (multi-line strings as literal blocks).
std::string manifest_to_yaml(const nlohmann::ordered_json& object);

// Names of the objects for a VMI.
std::string pod_name(const vmi::VmiSpec& spec);
std::string config_map_name(const vmi::VmiSpec& spec);

}  // namespace launcher
