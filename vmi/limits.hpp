// Every bound the launcher puts on a VMI's text and values, in one place so
// the README can list them and a test can check each message. A VMI is
// untrusted input: nothing in it may make the launcher allocate without
// bound, overflow an integer, or name a path outside its directory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmi::limits {

// --- The text, checked before yaml-cpp builds a tree ---
inline constexpr std::size_t input_bytes = 4 << 20;  // the whole file
inline constexpr int nesting = 64;                   // levels of mappings and lists
// YAML nodes (scalars, mappings, lists, aliases) in the document. A VMI
// with every field the launcher reads, a few dozen disks and a kubectl
// export's managedFields stays well below this.
inline constexpr std::size_t yaml_nodes = 20000;
// Entries in any one list, and keys in any one mapping.
inline constexpr std::size_t list_items = 1000;
inline constexpr std::size_t map_keys = 1000;
// Nodes visited once aliases are followed: each alias is the whole
// subtree it points at again ("billion laughs").
inline constexpr std::size_t expanded_nodes = 100000;

// --- metadata ---
// Kubernetes: a label key is an optional DNS-1123 subdomain prefix (253)
// and '/' and a name of 63; a value at most 63. The labels are copied onto
// the rendered Pod.
inline constexpr std::size_t labels = 256;
inline constexpr std::size_t label_key_bytes = 253 + 1 + 63;
inline constexpr std::size_t label_value_bytes = 63;
// Kubernetes' TotalAnnotationSizeLimitB: keys and values together.
inline constexpr std::size_t annotation_bytes = 256 << 10;
inline constexpr std::size_t annotations = 1000;

// Warnings kept about fields read but not acted on; past this one line
// says how many more there were.
inline constexpr std::size_t warnings = 100;

// --- numbers ---
// CPU requests and limits: 4096 CPUs (4096000 millicores).
inline constexpr std::int64_t cpu_millis = 4096 * 1000;
// Memory quantities (guest, maxGuest, requests and limits): 16 TiB.
inline constexpr std::uint64_t memory_bytes = std::uint64_t{1} << 44;
// Disk capacities (emptyDisk, hostDisk DiskOrCreate): 1 PiB.
inline constexpr std::uint64_t disk_bytes = std::uint64_t{1} << 50;

}  // namespace vmi::limits
