// Finding each volume's file on this machine, the same way in a pod and on
// a host: explicit NAME=PATH and REF=DIR mappings first, then a volumes
// directory (PVCs, host disks) and an images directory (container images).
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "qemu-args/launch_plan.hpp"

namespace qemu_args {

// Effectful: stats the files and reads their first bytes. Every disk's
// volume (cloud-init aside) and the kernelBoot files must exist, except
// those the launcher creates (emptyDisk, hostDisk DiskOrCreate). Throws
// vmi::SpecError naming the volume (or field) and the path.
ResolvedSources resolve_sources(const vmi::VmiSpec& spec, const SourceOptions& options);

// Pure: qcow2 when the header starts with its magic "QFI\xfb", else raw.
DiskFormat detect_format(std::string_view header);

std::string to_string(DiskFormat format);  // "raw" or "qcow2": QEMU's driver names

// Pure: the directory name an image reference has under the images
// directory: every character other than [A-Za-z0-9._-] becomes '_'
// ("quay.io/kubevirt/cirros:latest" -> "quay.io_kubevirt_cirros_latest").
std::string image_dir_name(std::string_view reference);

// Pure: "NAME=VALUE" split at the first '=' (values may hold more). Throws
// std::invalid_argument when there is no '=' or either side is empty.
std::pair<std::string, std::string> split_mapping(std::string_view text);

}  // namespace qemu_args
