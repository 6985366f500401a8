// pod and capacity: the commands for Kubernetes. Each registers its own
// options on the CLI app and returns an exit status like the others.
#pragma once

#include <string>
#include <vector>

#include "launcher/commands.hpp"

namespace CLI {
class App;
}

namespace launcher {

struct PodCommandArgs {
    PlanArgs plan;  // accel defaults to kvm here: the pod runs on a node, not on this machine
    std::string image = "vmi-launcher:latest";
    std::string output = "yaml";
    bool with_config_map = false;
    std::string cgroup_mode = "adopt";
    std::string memory_limit = "kubevirt";
    std::string kvm_resource = "devices.kubevirt.io/kvm";
    unsigned cpu_allocation_ratio = 10;
    std::string overlay_size = "10Gi";  // the state emptyDir's allowance per qcow2 overlay
    std::string image_size = "10Gi";    // the images emptyDir's allowance per copied image
    std::vector<std::string> volume_modes;  // NAME=block|filesystem: the claim's volumeMode
    bool kubevirt_node_labels = false;
};

struct CapacityCommandArgs {
    std::vector<std::string> files;
    std::string node_memory;
    std::string reserved = "0";
    std::string system = "0";
    std::string accel = "kvm";
    unsigned memory_overcommit = 100;
    std::string overhead_model = "kubevirt";  // the KubeVirt formula shown beside the launcher's
    std::string overhead_ratio = "1.0";
    std::string output = "table";
};

CLI::App* add_pod_command(CLI::App& app, PodCommandArgs& args);
CLI::App* add_capacity_command(CLI::App& app, CapacityCommandArgs& args);

int cmd_pod(const PodCommandArgs& args);
int cmd_capacity(const CapacityCommandArgs& args);

}  // namespace launcher
