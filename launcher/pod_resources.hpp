// The compute container's resources: KubeVirt's rules for CPU, memory,
// huge pages and ephemeral storage (pkg/virt-controller/services/
// renderresources.go and template.go), applied to the memory plan. Pure.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "launcher/pod_render.hpp"
#include "vmi/bytes.hpp"
#include "vmi/memory_plan.hpp"
#include "vmi/spec.hpp"

namespace launcher {

// KubeVirt's annotation that rounds the isolated emulator thread's CPUs up
// so the container's CPU count is even (renderresources.go WithCPUPinning).
inline constexpr const char* emulator_thread_even_parity_annotation =
    "alpha.kubevirt.io/EmulatorThreadCompleteToEvenParity";

// KubeVirt adds this to every compute container's ephemeral-storage request
// (template.go ephemeralStorageOverheadSize, 50M), here rounded up to whole
// MiB so the request stays a Mi quantity: logs and the container's own files.
inline constexpr vmi::Bytes ephemeral_storage_overhead = vmi::mib(48);

struct PodMemory {
    vmi::Bytes request;
    std::optional<vmi::Bytes> limit;
    bool operator==(const PodMemory&) const = default;
};

// requests.memory and limits.memory of the compute container under `rule`.
// Dedicated CPUs make KubeVirt set the memory limit to the request before
// adding the overhead, so the Pod is Guaranteed (WithCPUPinning). Throws
// std::runtime_error for --memory-limit ceiling with dedicated CPUs, which
// need a Guaranteed Pod.
PodMemory pod_memory(const vmi::VmiSpec& spec, const vmi::MemoryPlan& plan, PodLimitRule rule);

struct PodCpu {
    std::int64_t request_millis = 0;
    std::optional<std::int64_t> limit_millis;
    bool operator==(const PodCpu&) const = default;
};

// Dedicated CPUs: requests = limits = the vCPUs, plus one for an isolated
// emulator thread (two when the even-parity annotation asks for it and the
// vCPUs are even). Otherwise the VMI's requests.cpu, else its limits.cpu,
// else vCPUs / cpuAllocationRatio; limits.cpu only when the VMI has one.
PodCpu pod_cpu(const vmi::VmiSpec& spec, unsigned cpu_allocation_ratio);

// The compute container's `resources`; `ephemeral_storage` is what its
// disk-backed emptyDirs may hold (their sizeLimits together).
nlohmann::ordered_json compute_resources(const vmi::VmiSpec& spec, const vmi::MemoryPlan& plan,
                                         const PodOptions& options, vmi::Bytes ephemeral_storage);

}  // namespace launcher
