// Finding each volume's file on this machine, the same way in a pod and on
// a host: explicit NAME=PATH and REF=DIR mappings first, then a volumes
// directory (PVCs, host disks) and an images directory (container images).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// Pure: two different references among `references` that image_dir_name
// maps to the same directory ("a/b:c" and "a_b:c"), if any: they would
// read each other's files, so both are refused.
std::optional<std::pair<std::string, std::string>> image_dir_clash(const std::vector<std::string>& references);

// Pure: DIR/NAME when NAME is one plain path component (not empty, "." or
// "..", no '/' or NUL), else nullopt: a name can only ever name an entry
// of its directory, whatever validation let through.
std::optional<std::string> entry_path(std::string_view dir, std::string_view name);

// Pure: whether `path` is `root` or lies below it; both absolute and
// lexically normal ("/a/bc" is not below "/a/b").
bool is_within(std::string_view root, std::string_view path);

// Pure: "NAME=VALUE" split at the first '=' (values may hold more). Throws
// std::invalid_argument when there is no '=' or either side is empty.
std::pair<std::string, std::string> split_mapping(std::string_view text);

}  // namespace qemu_args
