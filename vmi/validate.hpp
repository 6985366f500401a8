// KubeVirt's defaults and admission rules, applied to a parsed VmiSpec.
#pragma once

#include <string_view>

#include "vmi/spec.hpp"

namespace vmi {

// A Kubernetes DNS-1123 label: 1-63 of [a-z0-9-], alphanumeric at both ends.
bool is_dns1123_label(std::string_view s);

// Fills KubeVirt's defaults (CPU topology from CPU resources, disk buses,
// grace period) and enforces its admission rules for names, memory and CPU,
// disks and volumes, interfaces and networks. Throws SpecError naming the field.
void default_and_validate(VmiSpec& spec);

// parse_vmi followed by default_and_validate.
VmiSpec load_vmi(std::string_view yaml_text);

}  // namespace vmi
