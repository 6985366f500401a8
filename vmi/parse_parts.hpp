// The pieces of parse_vmi, one per part of the spec.
#pragma once

#include <vector>

#include "vmi/spec.hpp"
#include "vmi/yaml_input.hpp"

namespace vmi::detail {

Domain parse_domain(const Node& node, std::vector<Warning>& warnings);
std::vector<Volume> parse_volumes(const Node& node, std::vector<Warning>& warnings);
std::vector<Network> parse_networks(const Node& node, std::vector<Warning>& warnings);
// Takes the Pod scheduling and DNS fields from the spec (parse_scheduling.cpp).
void parse_scheduling(MapReader& spec, const Domain& domain, Scheduling& out, std::vector<Warning>& warnings);

// A VMI's metadata and spec (parse.cpp).
void parse_metadata(const Node& node, Metadata& out, std::vector<Warning>& warnings);
void parse_vmi_spec(const Node& node, VmiSpec& out);

// A VirtualMachine's spec: its own fields, then its template read as the
// same VMI would be (parse_vm.cpp). `out.metadata` holds the VM's metadata on
// entry and the VMI's (the VM's name and namespace, the template's labels and
// annotations) on return.
void parse_virtual_machine_spec(const Node& node, VmiSpec& out);

}  // namespace vmi::detail
