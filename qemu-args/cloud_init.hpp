// The files of a cloud-init NoCloud seed (the ISO labelled cidata).
#pragma once

#include <map>
#include <string>

#include "vmi/spec.hpp"

namespace qemu_args {

// Pure: user-data (decoded when given as userDataBase64), meta-data
// (instance-id <name>.<namespace> and local-hostname <name>, as KubeVirt
// writes them, in JSON, which is YAML) and network-config when given.
std::map<std::string, std::string> cloud_init_files(const vmi::VmiSpec& spec,
                                                     const vmi::CloudInitNoCloudSource& source);

}  // namespace qemu_args
