// What the launcher says about a key of the input that no parser read: the
// field policy's warning or refusal for a KubeVirt field, a resource name's
// rule under resources.requests/limits, or "unknown field" with the KubeVirt
// field it most likely means.
#pragma once

#include <string>
#include <string_view>

#include "vmi/errors.hpp"

namespace vmi {

struct UntakenVerdict {
    bool refuse;          // an error rather than a warning
    std::string message;  // without the field path (the caller adds it)
    bool operator==(const UntakenVerdict&) const = default;
};

// `parent` is the generic path of the mapping holding `key` (list indices
// removed, "" at the top of the VMI). `shown_prefix` is what locates that VMI
// in the user's document ("spec.template." in a VirtualMachine), so that a
// message names the field as the user wrote it.
UntakenVerdict judge_untaken(PolicyScope scope, std::string_view parent, std::string_view key,
                             std::string_view shown_prefix = {});

}  // namespace vmi
