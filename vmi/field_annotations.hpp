// Annotations KubeVirt reads to change the VM (a hook sidecar that rewrites
// the domain, SMBIOS strings, Ignition data, PCI layout...). The launcher
// does not act on them, so each one given gets a warning naming it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vmi/errors.hpp"

namespace vmi {

struct KubevirtAnnotation {
    std::string_view key;  // a whole key, or a prefix ending in '/'
    std::string_view effect;
};

// The annotations the launcher warns about, for the README and the tests.
std::vector<KubevirtAnnotation> unacted_annotations();

// A warning at `annotations_path`.KEY for each annotation of the VMI that
// KubeVirt would act on and the launcher does not.
void warn_unacted_annotations(const std::map<std::string, std::string>& annotations,
                              const std::string& annotations_path, std::vector<Warning>& warnings);

}  // namespace vmi
