// The Kubernetes Pod (and the ConfigMap carrying the VMI) that runs the
// launcher for one VMI. Pure: a function of the spec, its memory plan, the
// VMI's text and the options, so every number in it is a unit test away
// from the plan it came from.
#pragma once

#include <cstdint>
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
    kubevirt,  // as KubeVirt renders it: limits.memory + overhead when the VMI has a limit, else none
    cgroup,    // always the plan's cgroup limit, so kubelet enforces what the launcher would on a host
};

struct PodOptions {
    std::string image = "vmi-launcher:latest";
    PodCgroupMode cgroup_mode = PodCgroupMode::adopt;
    PodLimitRule limit_rule = PodLimitRule::kubevirt;
    // The extended resource a device plugin hands /dev/kvm out as (with --accel kvm).
    std::string kvm_resource = "devices.kubevirt.io/kvm";
    // KubeVirt's cpuAllocationRatio: a vCPU without a CPU request asks for 1/ratio of a CPU.
    unsigned cpu_allocation_ratio = 10;
};

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

// The CPU request of the compute container in millicores: the VMI's
// requests.cpu, else its limits.cpu, else whole vCPUs with dedicated CPUs,
// else vCPUs x 1000 / ratio (KubeVirt's cpuAllocationRatio).
std::int64_t cpu_request_millis(const vmi::VmiSpec& spec, unsigned cpu_allocation_ratio);

// The compute container's memory limit under `rule` (nullopt: none).
std::optional<vmi::Bytes> pod_memory_limit(const vmi::MemoryPlan& plan, PodLimitRule rule);

// A manifest as block YAML (multi-line strings as literal blocks).
std::string manifest_to_yaml(const nlohmann::ordered_json& object);

// Names of the objects for a VMI.
std::string pod_name(const vmi::VmiSpec& spec);
std::string config_map_name(const vmi::VmiSpec& spec);

}  // namespace launcher
