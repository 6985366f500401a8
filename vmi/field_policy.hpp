// What the launcher does with each field of KubeVirt's API (kubevirt_api.hpp):
// acts on it (the parser reads it), warns (ignoring it leaves the VM as
// asked), or refuses it ("KubeVirt's FIELD is not supported by vmi-launcher:
// why / what to use instead"). A field under a warned or refused one shares
// its parent's handling: the parser never reads that far.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vmi/errors.hpp"

namespace vmi {

enum class Handling : unsigned char { acted, warn, reject };

struct FieldClass {
    PolicyScope scope;
    std::string_view path;  // list indices removed
    Handling handling;
    std::string_view reason;  // empty for acted fields
};

// Every entry, in table order (the README's table is generated from it).
std::span<const FieldClass> field_classes();

// The entry that decides `path`: its own, or that of the nearest warned or
// refused ancestor. nullopt when there is none (a field the table misses,
// or no KubeVirt field at all).
const FieldClass* classify(PolicyScope scope, std::string_view path);

// "KubeVirt's FIELD is not supported by vmi-launcher: REASON".
std::string refusal_message(std::string_view field, std::string_view reason);

}  // namespace vmi
