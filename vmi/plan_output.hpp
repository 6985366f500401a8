// The memory plan as JSON, YAML or a table for people.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "vmi/memory_plan.hpp"

namespace vmi {

// One object: guest_bytes, request_bytes, limit_bytes (null when none),
// overhead_bytes, overhead_terms (name -> bytes), pod_request_bytes,
// pod_limit_bytes, cgroup_limit_bytes, warnings, and the rest of the plan.
nlohmann::ordered_json plan_to_json(const VmiSpec& spec, const MemoryPlan& plan);

// The same object as YAML.
std::string plan_to_yaml(const VmiSpec& spec, const MemoryPlan& plan);

// Aligned lines for a terminal.
std::string plan_to_table(const VmiSpec& spec, const MemoryPlan& plan);

// Any JSON value as block YAML.
std::string json_to_yaml(const nlohmann::ordered_json& value);

}  // namespace vmi
