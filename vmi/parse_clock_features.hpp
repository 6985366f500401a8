// spec.domain.clock and spec.domain.features (parse_clock_features.cpp).
#pragma once

#include <vector>

#include "vmi/spec.hpp"
#include "vmi/yaml_input.hpp"

namespace vmi::detail {

Clock parse_clock(const Node& node, std::vector<Warning>& warnings);
Features parse_features(const Node& node, std::vector<Warning>& warnings);

}  // namespace vmi::detail
