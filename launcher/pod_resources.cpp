#include "launcher/pod_resources.hpp"

#include <algorithm>
#include <stdexcept>

namespace launcher {

PodMemory pod_memory(const vmi::VmiSpec& spec, const vmi::MemoryPlan& plan, PodLimitRule rule) {
    const bool dedicated = spec.domain.cpu.dedicated_cpu_placement;
    switch (rule) {
        case PodLimitRule::cgroup:
            return {plan.pod_request, plan.cgroup_limit};
        case PodLimitRule::ceiling:
            if (dedicated) {
                throw std::runtime_error(
                    "--memory-limit ceiling: dedicatedCpuPlacement needs a Guaranteed pod (memory limit = request), "
                    "and a limit at the ceiling above a request at the floor would make it Burstable; use "
                    "--memory-limit kubevirt");
            }
            // Without a balloon the VM cannot give memory back between floor
            // and ceiling: the pod gets the limit the launcher enforces.
            if (!plan.balloon.enabled) return {plan.pod_request, plan.cgroup_limit};
            return {plan.overcommit_guest_overhead ? plan.balloon.floor : plan.balloon.floor + plan.overhead,
                    plan.balloon.ceiling + plan.overhead};
        case PodLimitRule::kubevirt:
            break;
    }
    if (!dedicated) return {plan.pod_request, plan.pod_limit};
    // WithCPUPinning sets limits.memory to requests.memory; WithHugePages or
    // WithMemoryOverhead then add the overhead (and, with huge pages, only
    // what the request has beyond the guest) to both.
    if (plan.hugepages) {
        const vmi::Bytes beyond_guest = plan.request > plan.guest ? plan.request - plan.guest : vmi::Bytes{};
        return {plan.pod_request, plan.overhead + beyond_guest};
    }
    return {plan.pod_request, plan.request + plan.overhead};
}

PodCpu pod_cpu(const vmi::VmiSpec& spec, unsigned cpu_allocation_ratio) {
    const auto& r = spec.domain.resources;
    const auto& cpu = spec.domain.cpu;
    PodCpu out;
    if (cpu.dedicated_cpu_placement) {
        std::int64_t cpus = spec.vcpus();
        if (cpu.isolate_emulator_thread) {
            const bool even_parity = spec.metadata.annotations.contains(emulator_thread_even_parity_annotation);
            cpus += even_parity && cpus % 2 == 0 ? 2 : 1;
        }
        out.request_millis = cpus * 1000;
        out.limit_millis = out.request_millis;
        return out;
    }
    if (r.requests.cpu) {
        out.request_millis = r.requests.cpu->value.millis().value_or(0);
    } else if (r.limits.cpu) {
        out.request_millis = r.limits.cpu->value.millis().value_or(0);
    } else {
        const std::int64_t ratio = std::max(cpu_allocation_ratio, 1u);
        out.request_millis = (std::int64_t{spec.vcpus()} * 1000 + ratio - 1) / ratio;
    }
    if (r.limits.cpu) out.limit_millis = r.limits.cpu->value.millis().value_or(0);
    return out;
}

nlohmann::ordered_json compute_resources(const vmi::VmiSpec& spec, const vmi::MemoryPlan& plan,
                                         const PodOptions& options, vmi::Bytes ephemeral_storage) {
    nlohmann::ordered_json requests = nlohmann::ordered_json::object();
    nlohmann::ordered_json limits = nlohmann::ordered_json::object();
    const PodCpu cpu = pod_cpu(spec, options.cpu_allocation_ratio);
    requests["cpu"] = cpu_quantity(cpu.request_millis);
    if (cpu.limit_millis) limits["cpu"] = cpu_quantity(*cpu.limit_millis);
    const PodMemory memory = pod_memory(spec, plan, options.limit_rule);
    requests["memory"] = memory_quantity(memory.request);
    if (memory.limit) limits["memory"] = memory_quantity(*memory.limit);
    // Every pod writes some files of its own: KubeVirt's overhead plus what
    // the emptyDirs may hold, so the scheduler places the pod where the
    // container disks it copies fit (kubelet evicts past a sizeLimit anyway).
    requests["ephemeral-storage"] = memory_quantity(ephemeral_storage + ephemeral_storage_overhead);
    if (plan.hugepages && plan.hugepage_size) {
        // Huge pages are not overcommitted: request = limit (WithHugePages).
        const std::string name = "hugepages-" + memory_quantity(*plan.hugepage_size);
        requests[name] = memory_quantity(*plan.hugepages);
        limits[name] = memory_quantity(*plan.hugepages);
    }
    if (plan.options.accel == vmi::Accel::kvm && !options.kvm_resource.empty()) limits[options.kvm_resource] = "1";
    nlohmann::ordered_json resources = {{"requests", requests}};
    if (!limits.empty()) resources["limits"] = limits;
    return resources;
}

}  // namespace launcher
