// Defaults and rules for the devices, clock and features (validate_devices.cpp).
#pragma once

#include <vector>

#include "vmi/spec.hpp"

namespace vmi::detail {

// KubeVirt's defaults (Hyper-V dependencies, spinlock retries) applied to
// `d`, its rules checked; notes for the user go to `warnings`.
void default_and_validate_devices(Domain& d, std::vector<Warning>& warnings);

}  // namespace vmi::detail
