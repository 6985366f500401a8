// KubeVirt's API as data: every field path of a VirtualMachineInstance and of
// a VirtualMachine's own spec, in every release since v0.6 and on main,
// generated from KubeVirt's Go types by scripts/kubevirt-fields.py into
// kubevirt_fields.inc. It tells a field KubeVirt has (or had) from a typo.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vmi/errors.hpp"

namespace vmi {

struct ApiField {
    enum class Kind : unsigned char {
        object,  // has fields of its own
        list,    // a list of objects (or of values)
        map,     // free keys: labels, resource names
        value,   // a scalar, or an object of another API group taken whole
    };
    PolicyScope scope;
    std::string_view path;   // list indices removed: spec.domain.devices.disks.name
    Kind kind;
    std::string_view first;  // the first release that had it, "v0.6.1"
    std::string_view last;   // the last one, or "main" when current KubeVirt has it

    bool current() const { return last == "main"; }
};

// Every field, sorted by scope then path.
std::span<const ApiField> kubevirt_api_fields();

// The field at `path` (indices removed), or nullptr when no KubeVirt release had it.
const ApiField* find_api_field(PolicyScope scope, std::string_view path);

// For a key no release has at `parent`: the sibling it most likely means
// (same letters in another case, or a small edit), or nullopt.
std::optional<std::string> suggest_api_field(PolicyScope scope, std::string_view parent, std::string_view key);

// The candidate `key` most likely means: equal but for case, or within a
// small edit distance (letters compared without case); nullopt if none is close.
std::optional<std::string> closest_name(std::string_view key, std::span<const std::string_view> candidates);

}  // namespace vmi
