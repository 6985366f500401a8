// The pieces of parse_vmi, one per part of the spec.
#pragma once

#include <vector>

#include "vmi/spec.hpp"
#include "vmi/yaml_input.hpp"

namespace vmi::detail {

Domain parse_domain(const Node& node, std::vector<Warning>& warnings);
std::vector<Volume> parse_volumes(const Node& node, std::vector<Warning>& warnings);
std::vector<Network> parse_networks(const Node& node, std::vector<Warning>& warnings);

}  // namespace vmi::detail
