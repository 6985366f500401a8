// The files of a cloud-init seed: NoCloud (the ISO labelled cidata) or
// an OpenStack config drive (the ISO labelled config-2).
#pragma once

#include <map>
#include <string>

#include "vmi/spec.hpp"

namespace qemu_args {

// Pure: user-data (decoded when given as userDataBase64), meta-data
// (instance-id <name>.<namespace> and local-hostname <name>, as KubeVirt
// writes them, in JSON, which is YAML) and network-config when given.
// A config drive source gets config_drive_files instead.
std::map<std::string, std::string> cloud_init_files(const vmi::VmiSpec& spec,
                                                     const vmi::CloudInitNoCloudSource& source);

// Pure: openstack/latest/meta_data.json (instance_id, local_hostname,
// hostname, and uuid when firmware.uuid is set), openstack/latest/user_data
// and, when given, openstack/latest/network_data.json.
std::map<std::string, std::string> config_drive_files(const vmi::VmiSpec& spec,
                                                       const vmi::CloudInitNoCloudSource& source);

}  // namespace qemu_args
