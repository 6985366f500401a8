// YAML text -> VmiSpec. Structure and types only; defaults and admission
// rules are in validate.hpp.
#pragma once

#include <string_view>

#include "vmi/spec.hpp"

namespace vmi {

// Parses a VirtualMachineInstance (kubevirt.io/v1, v1alpha3, v1alpha2) or a
// VirtualMachine (its spec.template). Throws SpecError naming the field.
VmiSpec parse_vmi(std::string_view yaml_text);

}  // namespace vmi
