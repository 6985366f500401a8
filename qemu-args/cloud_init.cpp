#include "qemu-args/cloud_init.hpp"

#include <nlohmann/json.hpp>

namespace qemu_args {

std::map<std::string, std::string> cloud_init_files(const vmi::VmiSpec& spec,
                                                    const vmi::CloudInitNoCloudSource& source) {
    nlohmann::ordered_json meta;
    meta["instance-id"] = spec.metadata.name + "." + spec.metadata.namespace_name;
    meta["local-hostname"] = spec.metadata.name;
    std::map<std::string, std::string> files;
    files["meta-data"] = meta.dump() + "\n";
    files["user-data"] = source.user_data;
    if (!source.network_data.empty()) files["network-config"] = source.network_data;
    return files;
}

}  // namespace qemu_args
