#include "qemu-args/cloud_init.hpp"

#include <nlohmann/json.hpp>

namespace qemu_args {

std::map<std::string, std::string> cloud_init_files(const vmi::VmiSpec& spec,
                                                    const vmi::CloudInitNoCloudSource& source) {
    if (source.config_drive) return config_drive_files(spec, source);
    nlohmann::ordered_json meta;
    meta["instance-id"] = spec.metadata.name + "." + spec.metadata.namespace_name;
    meta["local-hostname"] = spec.metadata.name;
    std::map<std::string, std::string> files;
    files["meta-data"] = meta.dump() + "\n";
    files["user-data"] = source.user_data;
    if (!source.network_data.empty()) files["network-config"] = source.network_data;
    return files;
}

std::map<std::string, std::string> config_drive_files(const vmi::VmiSpec& spec,
                                                      const vmi::CloudInitNoCloudSource& source) {
    // KubeVirt's ConfigDriveMetadata (pkg/cloud-init): OpenStack's
    // underscore spelling, the uuid only when the VMI gives one.
    nlohmann::ordered_json meta;
    meta["instance_id"] = spec.metadata.name + "." + spec.metadata.namespace_name;
    meta["local_hostname"] = spec.metadata.name;
    meta["hostname"] = spec.metadata.name;
    if (!spec.domain.firmware.uuid.empty()) meta["uuid"] = spec.domain.firmware.uuid;
    const std::string dir = "openstack/latest/";
    std::map<std::string, std::string> files;
    files[dir + "meta_data.json"] = meta.dump() + "\n";
    files[dir + "user_data"] = source.user_data;
    if (!source.network_data.empty()) files[dir + "network_data.json"] = source.network_data;
    return files;
}

}  // namespace qemu_args
